from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from oms.funding.virtual_account.schemas import (
    VirtualAccount,
    VirtualAccountCreate,
    VirtualAccountList,
    VirtualAccountUpdate,
)
from oms.kit.pagination import PageQuery
from oms.openapi import errors
from oms.responses import JSONResponse
from oms.routing import Auth, Context, Idempotent, OMSRoute, Session

router = APIRouter(route_class=OMSRoute, tags=["VirtualAccounts"])


@router.post(
    "/customers/{customer_id}/virtual-accounts",
    status_code=201,
    response_model=VirtualAccount,
    responses=errors(403),
    dependencies=[Idempotent],
    summary="Create a virtual account (US bank details) for a customer",
)
async def create_virtual_account(
    customer_id: str, body: VirtualAccountCreate, auth: Auth, session: Session, ctx: Context
) -> JSONResponse:
    resource = await ctx.funding.virtual_accounts.create(session, auth, customer_id, body)
    return JSONResponse(resource, status_code=201)


@router.get(
    "/customers/{customer_id}/virtual-accounts",
    response_model=VirtualAccountList,
    summary="List a customer's virtual accounts (deleted ones only when asked for by status)",
)
async def list_virtual_accounts(
    customer_id: str,
    auth: Auth,
    session: Session,
    ctx: Context,
    page: PageQuery,
    status: Literal["active", "paused", "deleted"] | None = None,
) -> JSONResponse:
    return JSONResponse(await ctx.funding.virtual_accounts.list(session, auth, customer_id, page, status=status))


@router.get(
    "/virtual-accounts/{virtual_account_id}", response_model=VirtualAccount, summary="Retrieve a virtual account"
)
async def get_virtual_account(virtual_account_id: str, auth: Auth, session: Session, ctx: Context) -> JSONResponse:
    return JSONResponse(await ctx.funding.virtual_accounts.get(session, auth, virtual_account_id))


@router.patch(
    "/virtual-accounts/{virtual_account_id}",
    response_model=VirtualAccount,
    responses=errors(403, 409),
    summary="Update a virtual account: pause or reactivate it, change its label, memo or metadata",
)
async def update_virtual_account(
    virtual_account_id: str, body: VirtualAccountUpdate, auth: Auth, session: Session, ctx: Context
) -> JSONResponse:
    return JSONResponse(await ctx.funding.virtual_accounts.update(session, auth, virtual_account_id, body))


@router.delete(
    "/virtual-accounts/{virtual_account_id}",
    response_model=VirtualAccount,
    summary="Delete a virtual account (permanent; it stays readable with status deleted)",
)
async def delete_virtual_account(virtual_account_id: str, auth: Auth, session: Session, ctx: Context) -> JSONResponse:
    return JSONResponse(await ctx.funding.virtual_accounts.delete(session, auth, virtual_account_id))
