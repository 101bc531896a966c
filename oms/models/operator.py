"""Operators: the people of the organisation running the server (not tenants), their sessions and tokens.

No secret is stored in a form that could be used: the password is an argon2 hash, the TOTP secret is sealed
(AES-GCM), and every bearer value (setup link token, session cookie, CSRF token, operator token) is kept only
as an HMAC under a server pepper.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base

OperatorRole = Literal["viewer", "approver", "admin"]
OperatorStatus = Literal["active", "disabled"]
ROLES: tuple[OperatorRole, ...] = ("viewer", "approver", "admin")  # ascending: each may do what the ones before may


class Operator(Base):
    __tablename__ = "operators"
    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'approver', 'admin')", name="role"),
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Lower-cased on the way in, so one person is one operator whatever the capitals.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # None until the operator sets one through the setup link (or the CLI's prompt).
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # The TOTP secret, sealed; it counts only once confirmed with a valid code (totp_confirmed_at).
    totp_nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_confirmed_at: Mapped[datetime | None]
    # The last time step whose code was accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None]
    # The one outstanding setup link (HMAC of its token), single-use, until it expires.
    setup_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    setup_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OperatorSession(Base):
    """A browser session: the cookie's HMAC is the key; idle and absolute expiry on the app's clock."""

    __tablename__ = "operator_sessions"
    __table_args__ = (Index("ix_operator_sessions_operator", "operator_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # HMAC of the cookie value
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"))
    csrf_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute limit, however active the session is
    ended_at: Mapped[datetime | None]


class OperatorToken(Base):
    """A token for automation, acting with its operator's (current) role; only its HMAC is kept."""

    __tablename__ = "operator_tokens"
    __table_args__ = (Index("ix_operator_tokens_operator", "operator_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
