"""Custody: the only code that ever sees the master seed or a private key."""
