from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.models.base import Base, JSONDocument

CustomerType = Literal["individual"]
CustomerStatus = Literal["active", "inactive"]
EndorsementName = Literal["basic", "cryptoCustody", "usd"]
EndorsementStatus = Literal["pending", "active", "rejected"]


# An endorsement's KYC requirements (field names) and its rejection, as stored and as answered.
class Requirements(TypedDict):
    complete: list[str]
    pending: list[str]
    missing: list[str]
    issues: list[str]


class RejectionReason(TypedDict):
    reason: str
    developerReason: str


class RejectionReasons(TypedDict):
    items: list[RejectionReason]


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_customers_tenant_email", "tenant_id", "email"),
        Index("ix_customers_tenant_external_id", "tenant_id", "external_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    type: Mapped[CustomerType] = mapped_column(String(16))
    status: Mapped[CustomerStatus] = mapped_column(String(16))
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
    name: Mapped[EndorsementName] = mapped_column(String(32), primary_key=True)
    status: Mapped[EndorsementStatus] = mapped_column(String(16))
    requirements: Mapped[Requirements] = mapped_column(JSONDocument)
    rejection_reasons: Mapped[RejectionReasons] = mapped_column(JSONDocument)
    # When the sandbox reviewer may decide (requirements became complete + review delay).
    review_after: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
