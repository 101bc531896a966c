from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base


class Event(Base):
    """The outbox: one row per state change, written in the same transaction as the change."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("object_id", "sequence"),
        Index("ix_events_tenant_created", "tenant_id", "created_at", "id"),
        # Events not yet fanned out to webhook deliveries (see oms/webhook/dispatch.py).
        Index(
            "ix_events_undispatched",
            "created_at",
            sqlite_where=text("dispatched_at IS NULL"),
            postgresql_where=text("dispatched_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    type: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime]
    # When the webhook fan-out turned this event into deliveries; NULL while it still has to.
    dispatched_at: Mapped[datetime | None]
