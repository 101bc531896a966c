"""All SQL of the controls' reviews."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from oms.kit.ids import is_valid_id
from oms.models import Policy, ReviewVote, Transaction, TransactionReview


def checks_apply(tenant_id: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """Whether any control applies to the tenant's movements (an active policy): the fast lane passes such a
    request on to the endpoint, which asks ``Controls.decide``."""
    return exists().where(Policy.tenant_id == tenant_id, Policy.status == "active")


async def get(session: AsyncSession, review_id: str) -> TransactionReview | None:
    if not is_valid_id(review_id, "rev"):
        return None
    return await session.get(TransactionReview, review_id)


async def lock_transaction(session: AsyncSession, transaction_id: str) -> Transaction | None:
    """The transaction's row, locked (first: the lock order is the transaction, then its reviews, then the
    ledger's accounts, as the settlement's)."""
    statement = select(Transaction).where(Transaction.id == transaction_id).with_for_update(key_share=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def reviews_of(
    session: AsyncSession, transaction_id: str, *, for_update: bool = False
) -> list[TransactionReview]:
    """A transaction's reviews, oldest first; ``for_update``: locked (re-read: the session may hold older copies),
    after the transaction's row (the lock order)."""
    statement = (
        select(TransactionReview)
        .where(TransactionReview.transaction_id == transaction_id)
        .order_by(TransactionReview.id)
    )
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return list((await session.execute(statement)).scalars())


async def votes_of(session: AsyncSession, review_ids: Sequence[str]) -> dict[str, list[ReviewVote]]:
    found: dict[str, list[ReviewVote]] = {review_id: [] for review_id in review_ids}
    if not review_ids:
        return found
    statement = (
        select(ReviewVote).where(ReviewVote.review_id.in_(list(review_ids))).order_by(ReviewVote.at, ReviewVote.id)
    )
    for vote in (await session.execute(statement)).scalars():
        found[vote.review_id].append(vote)
    return found


def list_statement(*, status: str | None, kind: str | None, tenant_id: str | None) -> Select[Any]:
    statement = select(TransactionReview)
    if status is not None:
        statement = statement.where(TransactionReview.status == status)
    if kind is not None:
        statement = statement.where(TransactionReview.kind == kind)
    if tenant_id is not None:
        statement = statement.where(TransactionReview.tenant_id == tenant_id)
    return statement


async def pending_due(session: AsyncSession, latest: datetime, limit: int) -> list[TransactionReview]:
    """Pending reviews whose deadline is at or before ``latest`` (the furthest any tenant's clock runs ahead:
    the caller judges each on its tenant's clock), oldest deadline first."""
    statement = (
        select(TransactionReview)
        .where(TransactionReview.status == "pending", TransactionReview.expires_at <= latest)
        .order_by(TransactionReview.expires_at)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def count_pending(session: AsyncSession, transaction_id: str) -> int:
    statement = select(func.count()).where(
        TransactionReview.transaction_id == transaction_id, TransactionReview.status == "pending"
    )
    return int(await session.scalar(statement) or 0)
