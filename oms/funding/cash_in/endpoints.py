from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from oms.auth.dependencies import Auth, Idempotent, needs
from oms.auth.scopes import Scope
from oms.funding.cash_in.schemas import CashIn, CashInCreate, CashInList
from oms.funding.cash_in.service import CashInService
from oms.kit.pagination import PageQuery
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["CashIns"])
CashIns = Annotated[CashInService, Depends(provided(CashInService))]
Status = Literal["pending", "processing", "completed", "failed", "expired"]


@router.post(
    "/cash-ins",
    status_code=201,
    response_model=CashIn,
    responses=errors(403, 404),
    dependencies=[needs(Scope.MONEY_WRITE), Idempotent],
    summary="Create a cash-in deposit code (valid one hour)",
)
async def create_cash_in(body: CashInCreate, auth: Auth, session: Session, cash_ins: CashIns) -> JSONResponse:
    return JSONResponse(await cash_ins.create(session, auth, body), status_code=201)


@router.get(
    "/cash-ins", dependencies=[needs(Scope.READ)], response_model=CashInList, summary="List cash-ins, newest first"
)
async def list_cash_ins(
    auth: Auth,
    session: Session,
    cash_ins: CashIns,
    page: PageQuery,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
    status: Status | None = None,
) -> JSONResponse:
    return JSONResponse(await cash_ins.list(session, auth, page, customer_id=customer_id, status=status))


@router.get(
    "/cash-ins/{cash_in_id}", dependencies=[needs(Scope.READ)], response_model=CashIn, summary="Retrieve a cash-in"
)
async def get_cash_in(cash_in_id: str, auth: Auth, session: Session, cash_ins: CashIns) -> JSONResponse:
    return JSONResponse(await cash_ins.get(session, auth, cash_in_id))


@router.post(
    "/cash-ins/{cash_in_id}/refresh",
    response_model=CashIn,
    dependencies=[needs(Scope.MONEY_WRITE), Idempotent],
    summary="Issue a new deposit code for a pending or expired cash-in",
)
async def refresh_cash_in(cash_in_id: str, auth: Auth, session: Session, cash_ins: CashIns) -> JSONResponse:
    return JSONResponse(await cash_ins.refresh(session, auth, cash_in_id))
