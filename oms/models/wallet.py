from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base

WalletStatus = Literal["active", "suspended", "closed"]


class Wallet(Base):
    __tablename__ = "wallets"
    __table_args__ = (
        UniqueConstraint("customer_id", "asset", "chain"),
        Index("ix_wallets_customer_created", "customer_id", "created_at", "id"),
        Index("ix_wallets_chain_address", "chain", "address"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    asset: Mapped[str] = mapped_column(String(16))
    chain: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(42))
    key_index: Mapped[int] = mapped_column(BigInteger, ForeignKey("custody_keys.index"))
    status: Mapped[WalletStatus] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
