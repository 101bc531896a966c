from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base, BigIntKey, JSONDocument

DisabledReason = Literal["endpoint_gone"]
DeliveryStatus = Literal["pending", "delivered", "failed"]
AttemptOutcome = Literal["in_flight", "succeeded", "failed", "abandoned"]


class Webhook(Base):
    """A subscription: where to send which events. The signing secret is sealed (AES-GCM) at rest."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_tenant_created", "tenant_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    url: Mapped[str] = mapped_column(String(2048))
    # Exact names and trailing ``.*`` families; empty means every event.
    events: Mapped[list[Any]] = mapped_column(JSONDocument)
    enabled: Mapped[bool]
    compliance_only: Mapped[bool]
    # Why delivery stopped on its own (``endpoint_gone`` after a 410); cleared when re-enabled.
    disabled_reason: Mapped[DisabledReason | None] = mapped_column(String(32))
    secret_nonce: Mapped[bytes] = mapped_column(LargeBinary)
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # The secret replaced by the last rotation, still used to sign until ``previous_secret_expires_at``.
    previous_secret_nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event owed to one subscription. ``next_attempt_at`` is both the retry schedule and the lease
    of the worker that claimed it: a worker that dies mid-attempt leaves the row due again later."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at", "id"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"))
    event_type: Mapped[str] = mapped_column(String(80))
    # pending | delivered | failed
    status: Mapped[DeliveryStatus] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None]
    # Retries stop after this moment (24 h after the delivery was created or manually retried).
    retry_until: Mapped[datetime]
    # Set at each claim; only the holder of the current lease may record the outcome.
    lease_token: Mapped[str | None] = mapped_column(String(32))
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookAttempt(Base):
    """Every HTTP attempt of a delivery, written when it is claimed and completed when it ends."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"))
    number: Mapped[int] = mapped_column(Integer)
    # in_flight | succeeded | failed | abandoned (the worker stopped before it finished)
    outcome: Mapped[AttemptOutcome] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
