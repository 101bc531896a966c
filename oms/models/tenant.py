from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base


class Tenant(Base):
    """The developer's organisation: it owns keys, customers, wallets and everything under them."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]


class ApiKey(Base):
    """An API key; only the HMAC of its secret is kept. ``scopes``: what it may do, stored expanded and
    space-separated (oms/auth/scopes.py); ``expires_at``: when it stops working, if ever."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    mode: Mapped[str] = mapped_column(String(8))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    scopes: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime | None]
