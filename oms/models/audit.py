from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base

# The hash the first record carries as its predecessor's.
GENESIS = "0" * 64


class AuditRecord(Base):
    """One state-changing action: who, on which tenant and object, when, and with what outcome. Ids only: never
    a request body, a secret or a customer's personal data. Append-only (the database refuses UPDATE, DELETE and
    TRUNCATE); each record carries the hash of the one before it (``oms.audit.service``)."""

    __tablename__ = "audit_records"

    # Assigned by the appender from the chain head (1, 2, 3, ...), never by the database: a gap is a deletion.
    sequence: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                          autoincrement=False)  # fmt: skip
    created_at: Mapped[datetime] = mapped_column(index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(255))
    tenant_id: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(255))
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # succeeded | failed
    status: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(64))
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The last record of the chain, in one row: appenders lock it (``FOR UPDATE``) so that the chain stays
    linear across processes, and a record deleted at the end is seen against it."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # always 1
    sequence: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
