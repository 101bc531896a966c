"""Transfers into deposit addresses frozen by a screening hit (their sender on the sanctions list): listed and read
by any operator, released (forwarded as any transfer is) or rejected (blocked: never forwarded) by an approver.
Each decision is audited with the operator as actor; the reason is kept with the transfer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from oms.admin.dependencies import Approver, Viewer
from oms.admin.schemas import Decision
from oms.funding.deposit_address.schemas import ScreenedDepositAddressTransfer, ScreenedDepositAddressTransferList
from oms.funding.deposit_address.service import DepositAddressService
from oms.kit.pagination import PageQuery
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Screened deposit-address transfers"])
DepositAddresses = Annotated[DepositAddressService, Depends(provided(DepositAddressService))]
PATH = "/deposit-address-transfers"


@router.get(
    PATH,
    response_model=ScreenedDepositAddressTransferList,
    summary="List transfers into deposit addresses frozen by a screening hit",
)
async def list_screened_transfers(
    caller: Viewer,
    db: Session,
    service: DepositAddresses,
    page: PageQuery,
    status: Literal["frozen", "routed", "held", "blocked"] | None = None,
    tenant_id: Annotated[str | None, Query(alias="tenantId", max_length=64)] = None,
) -> JSONResponse:
    return JSONResponse(await service.screened_page(db, page, status=status, tenant_id=tenant_id))


@router.get(
    PATH + "/{transfer_id}",
    response_model=ScreenedDepositAddressTransfer,
    responses=errors(404),
    summary="Retrieve a transfer into a deposit address frozen by a screening hit",
)
async def get_screened_transfer(
    transfer_id: str, caller: Viewer, db: Session, service: DepositAddresses
) -> JSONResponse:
    return JSONResponse(await service.screened(db, transfer_id))


@router.post(
    PATH + "/{transfer_id}/release",
    response_model=ScreenedDepositAddressTransfer,
    responses=errors(404, 409),
    summary="Release a frozen transfer: forwarded to its wallet as any transfer is",
)
async def release_transfer(
    transfer_id: str, body: Decision, request: Request, caller: Approver, db: Session, service: DepositAddresses
) -> JSONResponse:
    decided = await service.decide(db, transfer_id, release=True, operator_id=caller.operator_id, reason=body.reason)
    request.state.tenant_id = decided["tenantId"]
    return JSONResponse(decided)


@router.post(
    PATH + "/{transfer_id}/reject",
    response_model=ScreenedDepositAddressTransfer,
    responses=errors(404, 409),
    summary="Reject a frozen transfer: blocked, it is never forwarded",
)
async def reject_transfer(
    transfer_id: str, body: Decision, request: Request, caller: Approver, db: Session, service: DepositAddresses
) -> JSONResponse:
    decided = await service.decide(db, transfer_id, release=False, operator_id=caller.operator_id, reason=body.reason)
    request.state.tenant_id = decided["tenantId"]
    return JSONResponse(decided)
