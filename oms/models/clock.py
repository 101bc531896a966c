from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base


class TenantClock(Base):
    """Sandbox test clock: how far ahead of the server's clock one tenant's time runs (never backwards)."""

    __tablename__ = "tenant_clocks"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    offset_ms: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]
