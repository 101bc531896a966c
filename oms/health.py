"""Probes for load balancers and orchestrators, outside the versioned API and without authentication.

``GET /healthz``: the process is alive and serving (no dependency is asked, so a database outage does not get a
healthy process restarted). ``GET /readyz``: this process can serve requests now: the database answers, its
schema is at the migrations' head, and every chain adapter answers. 503 (with ``Retry-After``) while any is not.
Each check is bounded by the connect timeout, so a probe answers within it even when a system is frozen.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from sqlalchemy import text

from oms.chain.registry import Chains
from oms.config import Settings
from oms.db import Database, abandon
from oms.errors import ServiceUnavailable
from oms.migrations.runner import alembic_config
from oms.outage import unavailable
from oms.responses import JSONResponse
from oms.routing import provided_by

router = APIRouter(include_in_schema=False)
log = logging.getLogger("oms.health")


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    provided = provided_by(request)
    heads: frozenset[str] = request.app.state.migration_heads
    timeout = provided.get(Settings).db_connect_timeout_seconds
    database = await _check(_database(provided.get(Database)), timeout)
    checks = {
        "database": database,
        "migrations": _migrations(database, heads),
        "chain": await _check(_chains(provided.get(Chains)), timeout),
    }
    ready = all(check["ok"] for check in checks.values())
    headers = {} if ready else dict(ServiceUnavailable().headers)
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


def migration_heads(database_url: str) -> frozenset[str]:
    """The revisions a current schema is at (read once, from the installed migrations)."""
    return frozenset(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


async def _check(probe: Any, within: float) -> dict[str, Any]:
    try:
        async with asyncio.timeout(within):
            return {"ok": True, **await probe}
    except Exception as exc:  # asyncio.timeout's TimeoutError included
        if unavailable(exc) is None:
            log.exception("readiness check failed")
            return {"ok": False, "reason": "the check failed unexpectedly (logged)"}
        return {"ok": False, "reason": "unreachable or timed out"}


async def _database(db: Database) -> dict[str, Any]:
    session = db.session(write=False)
    try:
        current = (await session.scalars(text("SELECT version_num FROM alembic_version"))).all()
    except BaseException:
        await abandon(session)  # a connection that failed mid-check is not handed out again
        raise
    await session.close()
    return {"revisions": sorted(current)}


def _migrations(database: dict[str, Any], heads: frozenset[str]) -> dict[str, Any]:
    if not database["ok"]:
        return {"ok": False, "reason": "the database is not reachable"}
    if frozenset(database["revisions"]) != heads:
        return {
            "ok": False,
            "reason": "the schema is not at the migrations' head: run `oms migrate`",
            "head": sorted(heads),
        }
    return {"ok": True, "head": sorted(heads)}


async def _chains(chains: Chains) -> dict[str, Any]:
    return {"heads": {adapter.chain: await adapter.head() for adapter in chains.all()}}
