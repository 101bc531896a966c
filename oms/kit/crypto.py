"""Secrets: generation, HMAC hashing with a server pepper, key derivation, authenticated encryption."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """Ciphertext, nonce, associated data or key do not match."""


def generate_secret(prefix: str, nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def derive_key(root: bytes, purpose: str, length: int = 32) -> bytes:
    """A purpose-bound subkey of the root secret (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=f"oms:{purpose}".encode()).derive(root)


def hmac_sha256(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> tuple[bytes, bytes]:
    """AES-256-GCM: returns (nonce, ciphertext-with-tag)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(key).encrypt(nonce, plaintext, associated_data)


def open_sealed(key: bytes, nonce: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, associated_data)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionFailed("authenticated decryption failed") from exc


def fingerprint(key: bytes) -> str:
    """A short public identifier of a key, to tell which key sealed a value without revealing it."""
    return hashlib.sha256(b"oms:key-fingerprint:" + key).hexdigest()[:16]
