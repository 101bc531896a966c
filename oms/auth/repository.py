"""All SQL for tenants and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.models import ApiKey, Tenant


async def get_tenant_by_name(session: AsyncSession, name: str) -> Tenant | None:
    return (await session.execute(select(Tenant).where(Tenant.name == name))).scalar_one_or_none()


async def get_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


# The hot paths' check of the caller's key, joined into their single statement (oms/hotpath.py,
# oms/hotwrites.py): the same rule as AuthService.authenticate. The key is aliased ``k``; $1 is its id, $2 the
# token's tenant, $3 the server's mode. No row then means "let the endpoint answer".
HOT_LIVE_KEY = "k.id = $1 AND k.tenant_id = $2 AND k.mode = $3 AND k.revoked_at IS NULL"

# Built once: this runs on every authenticated request, so it skips per-call statement construction.
_KEY_STATUS = select(ApiKey.tenant_id, ApiKey.mode, ApiKey.revoked_at).where(ApiKey.id == bindparam("key_id"))


async def key_status(session: AsyncSession, key_id: str) -> tuple[str, str, datetime | None] | None:
    """(tenant id, mode, revoked at) of a key: the one query every authenticated request makes."""
    # Core on the session's connection: a plain column read needs none of the ORM's execution path.
    row = (await (await session.connection()).execute(_KEY_STATUS, {"key_id": key_id})).first()
    return None if row is None else (row[0], row[1], row[2])


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
