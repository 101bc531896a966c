"""Operators, administered: list, create (answering the one-time setup link), change role or status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from oms.admin.dependencies import Admin, Viewer
from oms.kit.time import isoformat
from oms.operator.schemas import (
    CreatedOperator,
    Operator,
    OperatorCreate,
    OperatorList,
    OperatorUpdate,
    SetupLink,
    TotpReset,
)
from oms.operator.service import OperatorService
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Operators"])
Operators = Annotated[OperatorService, Depends(provided(OperatorService))]


@router.get("/operators", response_model=OperatorList, summary="List operators")
async def list_operators(caller: Viewer, db: Session, operators: Operators) -> JSONResponse:
    return JSONResponse({"object": "list", "data": [operators.render(o) for o in await operators.list(db)]})


@router.post(
    "/operators",
    status_code=201,
    response_model=CreatedOperator,
    responses=errors(409),
    summary="Create an operator: answers the one-time link with which the operator sets a password",
)
async def create_operator(body: OperatorCreate, caller: Admin, db: Session, operators: Operators) -> JSONResponse:
    operator, link = await operators.create(db, body.email, body.role)
    answer: CreatedOperator = {
        "operator": operators.render(operator),
        "setupUrl": link.url,
        "setupExpiresAt": isoformat(link.expires_at),
    }
    return JSONResponse(answer, status_code=201)


@router.get("/operators/{operator_id}", response_model=Operator, summary="Retrieve an operator")
async def get_operator(operator_id: str, caller: Viewer, db: Session, operators: Operators) -> JSONResponse:
    return JSONResponse(operators.render(await operators.get(db, operator_id)))


@router.patch(
    "/operators/{operator_id}",
    response_model=Operator,
    responses=errors(409),
    summary="Change an operator's role or status (disabled: refused at once; never the last active admin)",
)
async def update_operator(
    operator_id: str, body: OperatorUpdate, caller: Admin, db: Session, operators: Operators
) -> JSONResponse:
    operator = await operators.change(db, operator_id, role=body.role, status=body.status)
    return JSONResponse(operators.render(operator))


@router.post(
    "/operators/{operator_id}/setup-link",
    response_model=SetupLink,
    summary="Issue a new one-time setup link (a forgotten password); the previous link stops working",
)
async def new_setup_link(operator_id: str, caller: Admin, db: Session, operators: Operators) -> JSONResponse:
    link = await operators.issue_setup_link(db, operator_id)
    answer: SetupLink = {
        "operatorId": link.operator_id,
        "setupUrl": link.url,
        "setupExpiresAt": isoformat(link.expires_at),
    }
    return JSONResponse(answer)


@router.post(
    "/operators/{operator_id}/reset-totp",
    response_model=TotpReset,
    summary="Forget an operator's second factor (a lost device) and end its sessions; in live mode answers a "
    "setup link to enrol again",
)
async def reset_totp(operator_id: str, caller: Admin, db: Session, operators: Operators) -> JSONResponse:
    link = await operators.reset_totp(db, operator_id)
    answer: TotpReset = {
        "operator": operators.render(await operators.get(db, operator_id)),
        "setupUrl": link.url if link else None,
        "setupExpiresAt": isoformat(link.expires_at) if link else None,
    }
    return JSONResponse(answer)
