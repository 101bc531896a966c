"""All SQL for operators, their sessions and tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.models import Operator, OperatorSession, OperatorToken

Held = TypeVar("Held", OperatorSession, OperatorToken)


async def get(session: AsyncSession, operator_id: str, *, for_update: bool = False) -> Operator | None:
    return await session.get(Operator, operator_id, with_for_update=for_update or None)


async def by_email(session: AsyncSession, email: str, *, for_update: bool = False) -> Operator | None:
    statement = select(Operator).where(Operator.email == email)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def by_setup_token(session: AsyncSession, token_hash: str) -> Operator | None:
    statement = select(Operator).where(Operator.setup_token_hash == token_hash).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_all(session: AsyncSession) -> Sequence[Operator]:
    return (await session.execute(select(Operator).order_by(Operator.created_at, Operator.id))).scalars().all()


async def active_admins(session: AsyncSession) -> int:
    """How many active admins there are, their rows locked (PostgreSQL): two admins demoting each other at once
    cannot both see the other still there. SQLite's write transactions are serial already."""
    ids = select(Operator.id).where(Operator.role == "admin", Operator.status == "active").with_for_update()
    return len((await session.execute(ids)).all())


async def session_with_operator(session: AsyncSession, session_id: str) -> tuple[OperatorSession, Operator] | None:
    return await _with_operator(session, OperatorSession, OperatorSession.id == session_id)


async def touch_session(session: AsyncSession, session_id: str, now: datetime) -> None:
    await session.execute(update(OperatorSession).where(OperatorSession.id == session_id).values(last_seen_at=now))


async def end_session(session: AsyncSession, session_id: str, now: datetime) -> None:
    await session.execute(
        update(OperatorSession)
        .where(OperatorSession.id == session_id, OperatorSession.ended_at.is_(None))
        .values(ended_at=now)
    )


async def end_sessions_of(session: AsyncSession, operator_id: str, now: datetime) -> None:
    await session.execute(
        update(OperatorSession)
        .where(OperatorSession.operator_id == operator_id, OperatorSession.ended_at.is_(None))
        .values(ended_at=now)
    )


async def token_with_operator(session: AsyncSession, token_hash: str) -> tuple[OperatorToken, Operator] | None:
    return await _with_operator(session, OperatorToken, OperatorToken.token_hash == token_hash)


async def _with_operator(
    session: AsyncSession, held: type[Held], found_by: ColumnElement[bool]
) -> tuple[Held, Operator] | None:
    """A session's or token's row and its operator's, in one query (the admin API's authentication, per request)."""
    statement = select(held, Operator).join(Operator, Operator.id == held.operator_id).where(found_by)
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


async def get_token(session: AsyncSession, token_id: str) -> OperatorToken | None:
    return await session.get(OperatorToken, token_id)


async def tokens_of(session: AsyncSession, operator_id: str) -> Sequence[OperatorToken]:
    statement = (
        select(OperatorToken)
        .where(OperatorToken.operator_id == operator_id)
        .order_by(OperatorToken.created_at, OperatorToken.id)
    )
    return (await session.execute(statement)).scalars().all()


async def revoke_tokens_of(session: AsyncSession, operator_id: str, now: datetime) -> None:
    await session.execute(
        update(OperatorToken)
        .where(OperatorToken.operator_id == operator_id, OperatorToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Operator))).scalar_one())
