from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base, BigIntKey


class CustodySeed(Base):
    """The server's one BIP-39 master seed, wrapped (AES-256-GCM) by a key-encryption key: the configured one, or
    one inside a PKCS#11 token (oms/custody/wrapping.py)."""

    __tablename__ = "custody_seeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # Which key wraps it: the backend ("configured", "pkcs11"), the key's public identity (a fingerprint of a
    # configured key; a digest of a token key's id and label) and, for a token's key, its labels.
    wrapping_backend: Mapped[str] = mapped_column(String(16), server_default="configured")
    kek_fingerprint: Mapped[str] = mapped_column(String(32))
    wrapping_key_label: Mapped[str | None] = mapped_column(String(300))
    # The public account-level key (m/44'/60'/0'/0): addresses are derived from it without any secret.
    account_xpub: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # When the current wrapping was written (the first start, a rotation, a recovery).
    wrapped_at: Mapped[datetime]


class CustodyRetiredKey(Base):
    """A key-encryption key that no longer wraps the seed: replaced by a rotation, or lost and replaced by a
    recovery from the backup shares. Kept as a record: which key, from when, replaced by which, and why."""

    __tablename__ = "custody_retired_keys"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    seed_id: Mapped[int] = mapped_column(Integer)
    backend: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(32))
    key_label: Mapped[str | None] = mapped_column(String(300))
    # "rotated" (rotate-kek) or "recovered" (the seed rebuilt from its shares, under a new key)
    reason: Mapped[str] = mapped_column(String(16))
    wrapped_since: Mapped[datetime]
    retired_at: Mapped[datetime]
    replaced_by_backend: Mapped[str] = mapped_column(String(16))
    replaced_by_key_id: Mapped[str] = mapped_column(String(32))


class CustodyKey(Base):
    """A derived key, by index under m/44'/60'/0'/0; the index is what signing needs."""

    __tablename__ = "custody_keys"

    index: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(42), unique=True)
    created_at: Mapped[datetime]
