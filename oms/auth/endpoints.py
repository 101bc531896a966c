from __future__ import annotations

from fastapi import APIRouter

from oms.auth.schemas import Token, TokenRequest
from oms.kit.time import isoformat
from oms.openapi import errors
from oms.responses import JSONResponse
from oms.routing import Context, OMSRoute, Session

router = APIRouter(route_class=OMSRoute, tags=["Auth"])


@router.post(
    "/auth/token",
    response_model=Token,
    responses=errors(401),
    summary="Exchange an API key and secret for a bearer token",
)
async def create_token(body: TokenRequest, session: Session, ctx: Context) -> JSONResponse:
    token, expires_at = await ctx.auth.exchange(session, api_key=body.apiKey, api_secret=body.apiSecret)
    answer: Token = {
        "accessToken": token,
        "tokenType": "bearer",
        "expiresIn": ctx.auth.signer.ttl_seconds,
        "expiresAt": isoformat(expires_at),
    }
    return JSONResponse(answer)
