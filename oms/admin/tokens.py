"""Operator tokens for automation: created (shown once), listed, revoked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from oms.admin.dependencies import Viewer
from oms.operator.schemas import CreatedToken, OperatorToken, TokenCreate, TokenList
from oms.operator.service import OperatorService
from oms.responses import JSONResponse
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Operator tokens"])
Operators = Annotated[OperatorService, Depends(provided(OperatorService))]


@router.post(
    "/tokens",
    status_code=201,
    response_model=CreatedToken,
    summary="Create a token acting with the caller's role (the token is returned only here)",
)
async def create_token(body: TokenCreate, caller: Viewer, db: Session, operators: Operators) -> JSONResponse:
    token, secret = await operators.create_token(db, caller.operator_id, name=body.name, expires_in=body.expiresIn)
    answer: CreatedToken = {**operators.render_token(token, operators.now()), "token": secret}
    return JSONResponse(answer, status_code=201)


@router.get("/tokens", response_model=TokenList, summary="List the caller's tokens")
async def list_tokens(caller: Viewer, db: Session, operators: Operators) -> JSONResponse:
    now = operators.now()
    data = [operators.render_token(token, now) for token in await operators.tokens(db, caller.operator_id)]
    return JSONResponse({"object": "list", "data": data})


@router.delete(
    "/tokens/{token_id}",
    response_model=OperatorToken,
    summary="Revoke a token (the caller's own; an admin's, anybody's): refused at once",
)
async def revoke_token(token_id: str, caller: Viewer, db: Session, operators: Operators) -> JSONResponse:
    token = await operators.revoke_token(db, caller, token_id)
    return JSONResponse(operators.render_token(token, operators.now()))
