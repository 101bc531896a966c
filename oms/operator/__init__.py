"""Operators of the server: accounts with roles, passwords (argon2), TOTP, browser sessions and tokens."""
