from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from typing_extensions import TypedDict

from oms.models.base import Base, JSONDocument
from oms.models.quote import FixedSide, MovementType

TransactionStatus = Literal["processing", "completed", "failed", "cashPickupReady"]


class Failure(TypedDict):
    """Why a transaction failed (its answer's ``error``)."""

    code: str
    message: str


class Transaction(Base):
    """One movement of money: processing → completed | failed."""

    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_transactions_sender", "sender_customer_id", "created_at"),
        Index("ix_transactions_recipient", "recipient_customer_id", "created_at"),
        Index("ix_transactions_source_wallet", "source_wallet_id"),
        Index("ix_transactions_destination_wallet", "destination_wallet_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    type: Mapped[MovementType] = mapped_column(String(16))
    status: Mapped[TransactionStatus] = mapped_column(String(24))
    sub_status: Mapped[str | None] = mapped_column(String(48))
    quote_id: Mapped[str | None] = mapped_column(ForeignKey("quotes.id"), unique=True)
    sender_customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    recipient_customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    source_wallet_id: Mapped[str | None] = mapped_column(ForeignKey("wallets.id"))
    destination_wallet_id: Mapped[str | None] = mapped_column(ForeignKey("wallets.id"))
    destination_address: Mapped[str | None] = mapped_column(String(42))
    asset: Mapped[str] = mapped_column(String(16))
    chain: Mapped[str] = mapped_column(String(32))
    fixed_side: Mapped[FixedSide] = mapped_column(String(16))
    source_gross: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    destination_net: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    error: Mapped[Failure | None] = mapped_column(JSONDocument)
    # Fields the client sent with the execution request, echoed back.
    request: Mapped[dict[str, Any]] = mapped_column()
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
