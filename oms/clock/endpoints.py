"""The sandbox test clock (sandbox only: 404 in live mode, where every tenant runs on real time)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from oms.clock.schemas import ClockAdvance, SandboxClock
from oms.clock.service import TenantClock
from oms.kit.time import isoformat
from oms.openapi import errors
from oms.responses import JSONResponse
from oms.routing import Auth, Context, Idempotent, OMSRoute, Session

router = APIRouter(route_class=OMSRoute, tags=["Sandbox"])


@router.get("/sandbox/clock", response_model=SandboxClock, summary="Sandbox: the tenant's clock")
async def get_clock(auth: Auth, session: Session, ctx: Context) -> JSONResponse:
    return JSONResponse(await _render(ctx.tenant_clock, session, auth.tenant_id))


@router.post(
    "/sandbox/clock/advance",
    response_model=SandboxClock,
    responses=errors(404),
    dependencies=[Idempotent],
    summary="Sandbox: move the tenant's clock forward (quote locks, cash-in codes and limit windows follow it)",
)
async def advance_clock(body: ClockAdvance, auth: Auth, session: Session, ctx: Context) -> JSONResponse:
    await ctx.tenant_clock.advance(session, auth.tenant_id, timedelta(seconds=body.seconds))
    # Deadlines the jump passed take effect now, with their events, as if the time had really gone by.
    await ctx.funding.cash_ins.expire_due(session, tenant_id=auth.tenant_id, limit=10_000)
    return JSONResponse(await _render(ctx.tenant_clock, session, auth.tenant_id))


async def _render(clock: TenantClock, session: AsyncSession, tenant_id: str) -> SandboxClock:
    offset = await clock.offset(session, tenant_id)
    return {
        "object": "sandboxClock",
        "now": isoformat(await clock.now(session, tenant_id)),
        "offsetSeconds": offset.total_seconds(),
        "systemNow": isoformat(clock.system.now()),
    }
