from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base

MovementType = Literal["cryptoToCrypto", "fiatToCrypto", "cryptoToFiat"]
QuoteStatus = Literal["open", "accepted"]  # stored; "expired" is derived from expires_at
FixedSide = Literal["source", "destination"]


class Quote(Base):
    """Locked terms of a movement of money; ``open`` until executed (``accepted``) or its lock lapses."""

    __tablename__ = "quotes"
    __table_args__ = (Index("ix_quotes_tenant_created", "tenant_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    type: Mapped[MovementType] = mapped_column(String(16))
    status: Mapped[QuoteStatus] = mapped_column(String(16))
    asset: Mapped[str] = mapped_column(String(16))
    chain: Mapped[str] = mapped_column(String(32))
    source_wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    destination_wallet_id: Mapped[str | None] = mapped_column(ForeignKey("wallets.id"))
    destination_address: Mapped[str] = mapped_column(String(42))
    fixed_side: Mapped[FixedSide] = mapped_column(String(16))
    source_gross: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    destination_net: Mapped[int] = mapped_column(BigInteger)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
