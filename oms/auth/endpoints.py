from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from oms.audit import Actor
from oms.auth.schemas import Token, TokenRequest
from oms.auth.service import AuthService
from oms.kit.time import isoformat
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Auth"])
Tokens = Annotated[AuthService, Depends(provided(AuthService))]


@router.post(
    "/auth/token",
    response_model=Token,
    responses=errors(401),
    summary="Exchange an API key and secret for a bearer token",
)
async def create_token(request: Request, body: TokenRequest, session: Session, tokens: Tokens) -> JSONResponse:
    issued = await tokens.exchange(session, api_key=body.apiKey, api_secret=body.apiSecret)
    # The audit log's actor: the key, once its secret was right (a refused exchange is recorded anonymous).
    request.state.actor = Actor("api_key", body.apiKey)
    request.state.tenant_id = issued.tenant_id
    answer: Token = {
        "accessToken": issued.token,
        "tokenType": "bearer",
        "expiresIn": issued.expires_in,
        "expiresAt": isoformat(issued.expires_at),
    }
    return JSONResponse(answer)
