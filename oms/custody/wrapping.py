"""The key-wrapping port: what seals the master seed at rest, and the configured-key adapter.

A ``SeedWrapper`` wraps the seed's bytes under a key-encryption key (KEK) it holds or reaches, and names that key
(its ``backend`` and ``key_id``, recorded on the seed row) without revealing it. Two adapters: ``ConfiguredKek``
(AES-256-GCM in this process, the KEK from ``OMS_CUSTODY_KEK``: the format every data directory has had since
the first start) and ``oms.custody.pkcs11.Pkcs11Wrapper`` (AES-256-GCM inside a PKCS#11 token, the KEK generated
there and never leaving it). Library exceptions become ``WrappingError`` here, with a message that names what
failed and never a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from oms.kit.crypto import DecryptionFailed, fingerprint, open_sealed, seal

CONFIGURED = "configured"
PKCS11 = "pkcs11"
BACKENDS = (CONFIGURED, PKCS11)


class WrappingError(RuntimeError):
    """The wrapping key cannot be reached or used (a wrong PIN, a missing token), or a wrapped value failed
    authentication (tampered, or another key's). The message is safe to print: no key, PIN or plaintext."""


@dataclass(frozen=True, slots=True)
class Wrapped:
    """A wrapped value as stored: the AES-GCM nonce and the ciphertext with its tag."""

    nonce: bytes
    ciphertext: bytes


class SeedWrapper(Protocol):
    """Wraps and unwraps the seed under one key-encryption key."""

    @property
    def backend(self) -> str:
        """``configured`` or ``pkcs11``: recorded on the seed row."""
        ...

    @property
    def key_id(self) -> str:
        """The wrapping key's public identity (at most 32 characters): a fingerprint, or the token's key id."""
        ...

    @property
    def key_label(self) -> str | None:
        """A name an operator recognises (the token and key labels), or None."""
        ...

    def ensure_key(self) -> None:
        """Make the key ready for a seed's first wrapping (a token generates it if it has none)."""
        ...

    def wrap(self, plaintext: bytes, associated_data: bytes) -> Wrapped: ...

    def unwrap(self, wrapped: Wrapped, associated_data: bytes) -> bytes:
        """The plaintext, or ``WrappingError`` when the key cannot be used or ``wrapped`` fails authentication."""
        ...

    def describe(self) -> str:
        """One line for an operator: the backend and the key, never the key itself."""
        ...


class ConfiguredKek:
    """The key-encryption key from configuration (or the sandbox's development key file): AES-256-GCM here."""

    backend = CONFIGURED
    key_label = None

    def __init__(self, kek: bytes) -> None:
        if len(kek) != 32:
            raise ValueError("a key-encryption key is 32 bytes")
        self._kek = kek
        self.key_id = fingerprint(kek)

    def ensure_key(self) -> None:
        pass  # configured: nothing to make

    def wrap(self, plaintext: bytes, associated_data: bytes) -> Wrapped:
        nonce, ciphertext = seal(self._kek, plaintext, associated_data)
        return Wrapped(nonce, ciphertext)

    def unwrap(self, wrapped: Wrapped, associated_data: bytes) -> bytes:
        try:
            return open_sealed(self._kek, wrapped.nonce, wrapped.ciphertext, associated_data)
        except DecryptionFailed as exc:
            raise WrappingError("the wrapped seed failed authentication (tampered, or sealed by another key)") from exc

    def describe(self) -> str:
        return f"configured key-encryption key {self.key_id}"
