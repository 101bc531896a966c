"""Rate limits' shared counters (PostgreSQL without Redis) and the lockouts of failed sign-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base


class RateLimitCounter(Base):
    """One fixed window of one limit (``limits``' key: the limit, the family, the key or the address).

    UNLOGGED on PostgreSQL (migration 0015): a counter is worth nothing after a crash, so it skips the WAL.
    Its clock is the database's (epoch seconds), the same for every API process. Unused on SQLite, where one
    process counts in memory."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[float] = mapped_column(Float)


class LockoutRecord(Base):
    """Failed sign-ins of one subject (an API key id, a client address, an operator email), kept as a keyed
    digest so the table holds no address or email; ``level`` counts its lockouts, each twice the one before."""

    __tablename__ = "auth_lockouts"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    failures: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None]
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
