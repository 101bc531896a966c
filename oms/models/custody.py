from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base, BigIntKey


class CustodySeed(Base):
    """The server's one BIP-39 master seed, sealed with AES-256-GCM under the key-encryption key."""

    __tablename__ = "custody_seeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    kek_fingerprint: Mapped[str] = mapped_column(String(32))
    # The public account-level key (m/44'/60'/0'/0): addresses are derived from it without any secret.
    account_xpub: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class CustodyKey(Base):
    """A derived key, by index under m/44'/60'/0'/0; the index is what signing needs."""

    __tablename__ = "custody_keys"

    index: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(42), unique=True)
    created_at: Mapped[datetime]
