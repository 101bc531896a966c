"""Sandbox-only endpoints (mounted only when the server runs in sandbox mode; 404 in live): test tokens, and
the tenant's test clock (live tenants run on real time). The clock's routes are here, above both the clock and
funding packages, because moving the clock also expires the cash-ins whose deadline it passed."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from eth_utils import is_address, to_checksum_address
from fastapi import APIRouter, Depends
from pydantic import BaseModel, StrictStr
from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.dependencies import Auth, Idempotent, needs
from oms.auth.scopes import Scope
from oms.chain import assets
from oms.chain.registry import Chains
from oms.clock.schemas import ClockAdvance, SandboxClock
from oms.clock.service import TenantClock
from oms.customer.schemas import Strict
from oms.errors import InvalidRequest, Unprocessable
from oms.funding.cash_in.service import CashInService
from oms.kit.money import ASSETS, AmountError, parse_amount
from oms.kit.time import isoformat
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Sandbox"])
# Its own router, included where the clock's was: the OpenAPI document (and the client made from it) keeps its order.
clock_router = APIRouter(route_class=OMSRoute, tags=["Sandbox"])
Networks = Annotated[Chains, Depends(provided(Chains))]
TenantClocks = Annotated[TenantClock, Depends(provided(TenantClock))]
CashIns = Annotated[CashInService, Depends(provided(CashInService))]


class FundRequest(Strict):
    address: StrictStr
    amount: StrictStr
    asset: StrictStr = "usdc"
    network: StrictStr = "polygon"


class Funding(BaseModel):
    object: Literal["sandboxFunding"] = "sandboxFunding"
    address: str
    amount: str
    asset: str
    network: str
    txHash: str
    status: Literal["submitted"] = "submitted"


@router.post(
    "/sandbox/fund",
    response_model=Funding,
    dependencies=[needs(Scope.MONEY_WRITE), Idempotent],
    summary="Sandbox: send test tokens to any address on the sandbox chain",
)
async def fund(body: FundRequest, auth: Auth, chains: Networks) -> JSONResponse:
    if assets.lookup(body.asset, body.network) is None or not chains.serves(body.network):
        raise InvalidRequest("unsupported_asset", f"{body.asset} on {body.network} is not available.", param="asset")
    if not is_address(body.address):
        raise InvalidRequest("invalid_address", "Not a valid EVM address.", param="address")
    try:
        amount = parse_amount(body.amount, ASSETS[body.asset].decimals)
    except AmountError as exc:
        raise InvalidRequest(exc.code, f"amount {exc}.", param="amount") from exc
    chain: Any = chains.get(body.network)
    if getattr(chain, "mint", None) is None:  # a real network's node: nobody can mint there
        raise Unprocessable(
            "simulation_unavailable", f"The {body.network} node is not a development chain: send real tokens."
        )
    tx_hash = await chain.mint(body.asset, to_checksum_address(body.address), amount)
    return JSONResponse(
        {
            "object": "sandboxFunding",
            "address": to_checksum_address(body.address),
            "amount": body.amount,
            "asset": body.asset,
            "network": body.network,
            "txHash": tx_hash,
            "status": "submitted",
        }
    )


@clock_router.get(
    "/sandbox/clock",
    dependencies=[needs(Scope.READ)],
    response_model=SandboxClock,
    summary="Sandbox: the tenant's clock",
)
async def get_clock(auth: Auth, session: Session, clock: TenantClocks) -> JSONResponse:
    return JSONResponse(await _render(clock, session, auth.tenant_id))


@clock_router.post(
    "/sandbox/clock/advance",
    response_model=SandboxClock,
    responses=errors(404),
    dependencies=[needs(Scope.MONEY_WRITE), Idempotent],
    summary="Sandbox: move the tenant's clock forward (quote locks, cash-in codes and limit windows follow it)",
)
async def advance_clock(
    body: ClockAdvance, auth: Auth, session: Session, cash_ins: CashIns, clock: TenantClocks
) -> JSONResponse:
    await clock.advance(session, auth.tenant_id, timedelta(seconds=body.seconds))
    # Deadlines the jump passed take effect now, with their events, as if the time had really gone by.
    await cash_ins.expire_due(session, tenant_id=auth.tenant_id, limit=10_000)
    return JSONResponse(await _render(clock, session, auth.tenant_id))


async def _render(clock: TenantClock, session: AsyncSession, tenant_id: str) -> SandboxClock:
    offset = await clock.offset(session, tenant_id)
    return {
        "object": "sandboxClock",
        "now": isoformat(await clock.now(session, tenant_id)),
        "offsetSeconds": offset.total_seconds(),
        "systemNow": isoformat(clock.system.now()),
    }
