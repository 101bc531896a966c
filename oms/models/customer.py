from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_customers_tenant_email", "tenant_id", "email"),
        Index("ix_customers_tenant_external_id", "tenant_id", "external_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    first_name: Mapped[str | None] = mapped_column(String(200))
    middle_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    nationality: Mapped[str | None] = mapped_column(String(2))
    external_id: Mapped[str | None] = mapped_column(String(200))
    signed_agreement: Mapped[bool]
    signed_agreement_at: Mapped[datetime | None]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    # Write-only personal data (birth date, address, IP, identity documents), sealed with AES-GCM.
    pii_nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    pii_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Names of the fields provided so far: KYC requirements read this, never the (sealed) values.
    provided_fields: Mapped[dict[str, Any]] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Endorsement(Base):
    """One requested capability of a customer (basic, cryptoCustody, usd) and its KYC state."""

    __tablename__ = "endorsements"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    requirements: Mapped[dict[str, Any]] = mapped_column()
    rejection_reasons: Mapped[dict[str, Any]] = mapped_column()
    # When the sandbox reviewer may decide (requirements became complete + review delay).
    review_after: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
