"""Deposits frozen by a screening hit (their sender on the sanctions list): listed and read by any operator,
released (credited to the wallet's available balance) or rejected (blocked: they stay frozen) by an approver.
Each decision is audited with the operator as actor; the reason is kept with the deposit."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from oms.admin.dependencies import Approver, Viewer
from oms.admin.schemas import Decision
from oms.deposit.schemas import ScreenedDeposit, ScreenedDepositList
from oms.deposit.service import FrozenDeposits, render_screened
from oms.kit.pagination import PageQuery
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Screened deposits"])
Deposits = Annotated[FrozenDeposits, Depends(provided(FrozenDeposits))]


@router.get("/deposits", response_model=ScreenedDepositList, summary="List deposits frozen by a screening hit")
async def list_screened_deposits(
    caller: Viewer,
    db: Session,
    deposits: Deposits,
    page: PageQuery,
    status: Literal["frozen", "credited", "blocked"] | None = None,
    tenant_id: Annotated[str | None, Query(alias="tenantId", max_length=64)] = None,
) -> JSONResponse:
    return JSONResponse(await deposits.page(db, page, status=status, tenant_id=tenant_id))


@router.get(
    "/deposits/{deposit_id}",
    response_model=ScreenedDeposit,
    responses=errors(404),
    summary="Retrieve a deposit frozen by a screening hit",
)
async def get_screened_deposit(deposit_id: str, caller: Viewer, db: Session, deposits: Deposits) -> JSONResponse:
    return JSONResponse(render_screened(await deposits.get(db, deposit_id)))


@router.post(
    "/deposits/{deposit_id}/release",
    response_model=ScreenedDeposit,
    responses=errors(404, 409),
    summary="Release a frozen deposit: credited to the wallet's available balance",
)
async def release_deposit(
    deposit_id: str, body: Decision, request: Request, caller: Approver, db: Session, deposits: Deposits
) -> JSONResponse:
    deposit = await deposits.decide(db, deposit_id, release=True, operator_id=caller.operator_id, reason=body.reason)
    request.state.tenant_id = deposit.tenant_id
    return JSONResponse(render_screened(deposit))


@router.post(
    "/deposits/{deposit_id}/reject",
    response_model=ScreenedDeposit,
    responses=errors(404, 409),
    summary="Reject a frozen deposit: blocked, it stays frozen and is never credited",
)
async def reject_deposit(
    deposit_id: str, body: Decision, request: Request, caller: Approver, db: Session, deposits: Deposits
) -> JSONResponse:
    deposit = await deposits.decide(db, deposit_id, release=False, operator_id=caller.operator_id, reason=body.reason)
    request.state.tenant_id = deposit.tenant_id
    return JSONResponse(render_screened(deposit))
