"""All SQL for tenants and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, ColumnExpressionArgument, Select, and_, bindparam, not_, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.models import ApiKey, Tenant


async def get_tenant_by_name(session: AsyncSession, name: str) -> Tenant | None:
    return (await session.execute(select(Tenant).where(Tenant.name == name))).scalar_one_or_none()


async def get_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


def live_key(
    key_id: ColumnExpressionArgument[str],
    tenant_id: ColumnExpressionArgument[str],
    mode: ColumnExpressionArgument[str],
    now: ColumnExpressionArgument[datetime],
) -> ColumnElement[bool]:
    """The one rule of a usable key: this tenant's, for this server's mode, not revoked, not expired at ``now``
    (the server's clock). Every request's check (``scopes_of_live_key``), the token exchange (``live_key_by_id``)
    and the fast lane's statements (oms/fastlane/repository.py) are built on it."""
    return and_(
        ApiKey.id == key_id,
        ApiKey.tenant_id == tenant_id,
        ApiKey.mode == mode,
        ApiKey.revoked_at.is_(None),
        or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
    )


# Built once: this runs on every authenticated request, so it skips per-call statement construction.
_LIVE_KEY = select(ApiKey.scopes).where(
    live_key(bindparam("key_id"), bindparam("tenant_id"), bindparam("mode"), bindparam("now"))
)


async def scopes_of_live_key(
    session: AsyncSession, *, key_id: str, tenant_id: str, mode: str, now: datetime
) -> str | None:
    """The stored scopes of the key if it may act for the tenant (``live_key``), else None: the one query every
    authenticated request makes, so a key's scopes, revocation and expiry count from the next request on."""
    # Core on the session's connection: a plain column read needs none of the ORM's execution path.
    parameters = {"key_id": key_id, "tenant_id": tenant_id, "mode": mode, "now": now}
    return (await (await session.connection()).execute(_LIVE_KEY, parameters)).scalar()


_LIVE_KEY_BY_ID = select(ApiKey).where(
    live_key(bindparam("key_id"), ApiKey.tenant_id, bindparam("mode"), bindparam("now"))
)


async def live_key_by_id(session: AsyncSession, *, key_id: str, mode: str, now: datetime) -> ApiKey | None:
    """The key, if usable at all (``live_key`` for its own tenant): what the token exchange checks."""
    parameters = {"key_id": key_id, "mode": mode, "now": now}
    return (await session.execute(_LIVE_KEY_BY_ID, parameters)).scalar_one_or_none()


async def list_keys(session: AsyncSession, tenant_name: str | None) -> list[tuple[ApiKey, Tenant]]:
    statement = select(ApiKey, Tenant).join(Tenant, Tenant.id == ApiKey.tenant_id).order_by(ApiKey.created_at)
    if tenant_name:
        statement = statement.where(Tenant.name == tenant_name)
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def revoke_key(session: AsyncSession, key_id: str, at: datetime) -> bool:
    result = await session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML's Result is a CursorResult, typed as Result


async def set_scopes(session: AsyncSession, key_id: str, scopes: str) -> bool:
    """Replace a key's stored scopes (revoked keys too: revocation already stops them); whether it exists."""
    result = await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(scopes=scopes))
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML's Result is a CursorResult, typed as Result


# --- the admin API's lists (oms/admin/keys.py) ----------------------------------------------------------


def tenants_statement() -> Select[Any]:
    return select(Tenant)


def every_row() -> ColumnElement[bool]:
    """The cursor's scope for an operator's list: every tenant's rows."""
    return true()


def keys_statement(*, tenant_id: str | None, mode: str | None, status: str | None, now: datetime) -> Select[Any]:
    """API keys, filtered: by tenant, mode and state (``active``: not revoked and not expired at ``now``)."""
    statement = select(ApiKey)
    if tenant_id is not None:
        statement = statement.where(ApiKey.tenant_id == tenant_id)
    if mode is not None:
        statement = statement.where(ApiKey.mode == mode)
    unexpired = or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now)
    if status == "active":
        statement = statement.where(ApiKey.revoked_at.is_(None), unexpired)
    elif status == "revoked":
        statement = statement.where(ApiKey.revoked_at.is_not(None))
    elif status == "expired":
        statement = statement.where(ApiKey.revoked_at.is_(None), not_(unexpired))
    return statement


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant | None:
    return await session.get(Tenant, tenant_id)
