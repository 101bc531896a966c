"""Helpers of the controls' tests: operators deciding through the admin API, and what a held transfer left in the
database (its send, its ledger entries)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.context import AppContext
from oms.controls.decision import Hold, Movement, Outcome
from oms.models import ChainSend, LedgerEntry
from oms.models.operator import OperatorRole
from tests.admin.support import bearer, make_operator, with_token


async def operator(ctx: AppContext, role: OperatorRole = "approver") -> dict[str, str]:
    """An operator's bearer headers."""
    return bearer(await with_token(ctx, await make_operator(ctx, role)))


async def reviews_of(admin_http: httpx.AsyncClient, viewer: dict[str, str], tenant_id: str) -> list[dict[str, Any]]:
    listed = await admin_http.get("/reviews", params={"tenantId": tenant_id}, headers=viewer)
    assert listed.status_code == 200, listed.text
    return list(listed.json()["data"])


async def decide(
    admin_http: httpx.AsyncClient, who: dict[str, str], review_id: str, decision: str, reason: str = "checked"
) -> httpx.Response:
    return await admin_http.post(f"/reviews/{review_id}/{decision}", json={"reason": reason}, headers=who)


async def send_status(ctx: AppContext, transaction_id: str) -> str:
    async with ctx.db.session_scope(write=False) as session:
        statement = select(ChainSend.status).where(
            ChainSend.reference == transaction_id, ChainSend.purpose == "transfer"
        )
        return str((await session.execute(statement)).scalar_one())


async def entries(ctx: AppContext, transaction_id: str, kind: str) -> int:
    async with ctx.db.session_scope(write=False) as session:
        statement = select(func.count()).where(LedgerEntry.reference == transaction_id, LedgerEntry.kind == kind)
        return int(await session.scalar(statement) or 0)


@dataclass
class HoldEverything:
    """A control (the port the policy engine and screening implement) that holds every transfer of one tenant:
    the core's tests drive the reviews with it, whatever rule would have held the transfer."""

    tenant_id: str
    kind: str = "approval"
    required: int = 1
    expires_in: timedelta | None = None

    async def check(self, session: AsyncSession, movement: Movement) -> Sequence[Outcome]:
        if movement.tenant_id != self.tenant_id:
            return ()
        expires = movement.at + self.expires_in if self.expires_in else None
        return [Hold(self.kind, "held by the test", self.required, expires)]  # type: ignore[arg-type]
