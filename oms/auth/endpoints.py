from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.background import BackgroundTask

from oms.audit import Actor
from oms.auth.schemas import Token, TokenRequest
from oms.auth.service import AuthService
from oms.errors import AuthenticationFailed
from oms.kit.address import ClientAddress
from oms.kit.time import isoformat
from oms.ratelimit.lockout import Lockout, Subject
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Auth"])
Tokens = Annotated[AuthService, Depends(provided(AuthService))]
Lockouts = Annotated[Lockout, Depends(provided(Lockout))]
Addresses = Annotated[ClientAddress, Depends(provided(ClientAddress))]


@router.post(
    "/auth/token",
    response_model=Token,
    responses=errors(401, 429),
    summary="Exchange an API key and secret for a bearer token",
)
async def create_token(
    body: TokenRequest, request: Request, session: Session, tokens: Tokens, lockout: Lockouts, addresses: Addresses
) -> JSONResponse:
    # Locked out before the key is looked up: the answer is the same for a key that does not exist.
    key: Subject = ("key", body.apiKey)
    subjects = [key, ("address", addresses.of(request.scope))]
    recorded = await lockout.refuse_if_locked(subjects)
    try:
        issued = await tokens.exchange(session, api_key=body.apiKey, api_secret=body.apiSecret)
    except AuthenticationFailed:
        await session.rollback()  # the request's transaction ends here; the failure is written in its own
        await lockout.failed(subjects)
        raise
    # The audit log's actor: the key, once its secret was right (a refused exchange is recorded anonymous).
    request.state.actor = Actor("api_key", body.apiKey)
    request.state.tenant_id = issued.tenant_id
    answer: Token = {
        "accessToken": issued.token,
        "tokenType": "bearer",
        "expiresIn": issued.expires_in,
        "expiresAt": isoformat(issued.expires_at),
    }
    if key not in recorded:
        return JSONResponse(answer)
    # The key's failures are forgotten once the request's transaction has ended (SQLite has one writer); the
    # address's are not: one good key must not clear an address that guesses others.
    return JSONResponse(answer, background=BackgroundTask(lockout.forget, [key]))
