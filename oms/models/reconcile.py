"""The last reconciliation of each scope, kept so that every process (the console beside the worker that ran it)
sees it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base


class ReconcileRecord(Base):
    """The last run of the ledger against the chain for a scope (every tenant, ``*``, or one tenant's id): who ran
    it (the worker's job, ``oms reconcile``, the console) and what it found; each run replaces the one before.
    Amounts in the report are decimal text of the smallest unit (a chain holds any uint256)."""

    __tablename__ = "reconcile_runs"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(16))  # worker | cli | console
    at: Mapped[datetime]
    checked: Mapped[int] = mapped_column(Integer)
    difference_count: Mapped[int] = mapped_column(Integer)
    flagged_count: Mapped[int] = mapped_column(Integer)
    # {"differences": [{chain, asset, address, owner, ledger, onChain}], "flagged": [{id, walletId, …}]}
    report: Mapped[dict[str, Any]] = mapped_column()
