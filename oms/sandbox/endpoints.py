"""Sandbox-only endpoints (mounted only when the server runs in sandbox mode; 404 in live)."""

from __future__ import annotations

from typing import Any, Literal

from eth_utils import is_address, to_checksum_address
from fastapi import APIRouter
from pydantic import BaseModel, StrictStr

from oms.chain import assets
from oms.customer.schemas import Strict
from oms.errors import InvalidRequest, Unprocessable
from oms.kit.money import ASSETS, AmountError, parse_amount
from oms.responses import JSONResponse
from oms.routing import Auth, Context, Idempotent, OMSRoute

router = APIRouter(route_class=OMSRoute, tags=["Sandbox"])


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
    dependencies=[Idempotent],
    summary="Sandbox: send test tokens to any address on the sandbox chain",
)
async def fund(body: FundRequest, auth: Auth, ctx: Context) -> JSONResponse:
    if assets.lookup(body.asset, body.network) is None or not ctx.chains.serves(body.network):
        raise InvalidRequest("unsupported_asset", f"{body.asset} on {body.network} is not available.", param="asset")
    if not is_address(body.address):
        raise InvalidRequest("invalid_address", "Not a valid EVM address.", param="address")
    try:
        amount = parse_amount(body.amount, ASSETS[body.asset].decimals)
    except AmountError as exc:
        raise InvalidRequest(exc.code, f"amount {exc}.", param="amount") from exc
    chain: Any = ctx.chains.get(body.network)
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
