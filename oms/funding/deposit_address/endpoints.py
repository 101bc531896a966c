from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from oms.funding.deposit_address.schemas import (
    DepositAddress,
    DepositAddressCreate,
    DepositAddressList,
    DepositAddressUpdate,
)
from oms.kit.pagination import PageQuery
from oms.openapi import errors
from oms.responses import JSONResponse
from oms.routing import Auth, Context, Idempotent, OMSRoute, Session

router = APIRouter(route_class=OMSRoute, tags=["DepositAddresses"])


@router.post(
    "/customers/{customer_id}/deposit-addresses",
    status_code=201,
    response_model=DepositAddress,
    responses=errors(403),
    dependencies=[Idempotent],
    summary="Create a deposit address that forwards incoming tokens to a wallet",
)
async def create_deposit_address(
    customer_id: str, body: DepositAddressCreate, auth: Auth, session: Session, ctx: Context
) -> JSONResponse:
    resource = await ctx.funding.deposit_addresses.create(session, auth, customer_id, body)
    return JSONResponse(resource, status_code=201)


@router.get(
    "/customers/{customer_id}/deposit-addresses",
    response_model=DepositAddressList,
    summary="List a customer's deposit addresses (deleted ones only when asked for by status)",
)
async def list_deposit_addresses(
    customer_id: str,
    auth: Auth,
    session: Session,
    ctx: Context,
    page: PageQuery,
    status: Literal["active", "paused", "deleted"] | None = None,
) -> JSONResponse:
    return JSONResponse(await ctx.funding.deposit_addresses.list(session, auth, customer_id, page, status=status))


@router.get(
    "/deposit-addresses/{deposit_address_id}", response_model=DepositAddress, summary="Retrieve a deposit address"
)
async def get_deposit_address(deposit_address_id: str, auth: Auth, session: Session, ctx: Context) -> JSONResponse:
    return JSONResponse(await ctx.funding.deposit_addresses.get(session, auth, deposit_address_id))


@router.patch(
    "/deposit-addresses/{deposit_address_id}",
    response_model=DepositAddress,
    responses=errors(403, 409),
    summary="Update a deposit address: pause it (deposits are held) or reactivate it (held deposits go out)",
)
async def update_deposit_address(
    deposit_address_id: str, body: DepositAddressUpdate, auth: Auth, session: Session, ctx: Context
) -> JSONResponse:
    return JSONResponse(await ctx.funding.deposit_addresses.update(session, auth, deposit_address_id, body))


@router.delete(
    "/deposit-addresses/{deposit_address_id}",
    response_model=DepositAddress,
    summary="Delete a deposit address (permanent; later deposits are held)",
)
async def delete_deposit_address(deposit_address_id: str, auth: Auth, session: Session, ctx: Context) -> JSONResponse:
    return JSONResponse(await ctx.funding.deposit_addresses.delete(session, auth, deposit_address_id))
