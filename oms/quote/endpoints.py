from __future__ import annotations

from fastapi import APIRouter

from oms.openapi import errors
from oms.quote.schemas import Quote, QuoteCreate
from oms.responses import JSONResponse
from oms.routing import Auth, Context, Idempotent, OMSRoute, Session

router = APIRouter(route_class=OMSRoute, tags=["Quote"])


@router.post(
    "/quotes",
    status_code=201,
    response_model=Quote,
    responses=errors(403, 404),
    dependencies=[Idempotent],
    summary="Create a quote (locks amounts, fees and rate for a short window)",
)
async def create_quote(body: QuoteCreate, auth: Auth, session: Session, ctx: Context) -> JSONResponse:
    return JSONResponse(await ctx.quotes.create(session, auth, body), status_code=201)


@router.get("/quotes/{quote_id}", response_model=Quote, summary="Retrieve a quote")
async def get_quote(quote_id: str, auth: Auth, session: Session, ctx: Context) -> JSONResponse:
    return JSONResponse(await ctx.quotes.get(session, auth, quote_id))
