"""What the audit log's tests share: reading records, a chain of its own in a fresh database, the CLI."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from oms.audit import service as audit
from oms.audit.repository import Filters
from oms.config import Settings
from oms.context import AppContext
from oms.kit.pagination import PageParams
from tests.support import process_env


async def records(ctx: AppContext, **filters: Any) -> list[dict[str, Any]]:
    """Every record matching ``filters`` (``oms.audit.repository.Filters``' fields), oldest first."""
    found: list[dict[str, Any]] = []
    cursor = None
    async with ctx.db.session_scope(write=False) as session:
        while True:
            page = await audit.query(session, Filters(**filters), PageParams(100, cursor, None, None, None))
            found += page["data"]
            if not page["hasMore"]:
                return list(reversed(found))
            cursor = page["nextCursor"]


async def of_request(ctx: AppContext, request_id: str) -> list[dict[str, Any]]:
    return await records(ctx, request_id=request_id)


def oms(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oms", *args], env=process_env(settings), capture_output=True, text=True, timeout=120
    )
