from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from oms.auth.dependencies import Auth, Idempotent, needs
from oms.auth.scopes import Scope
from oms.quote.schemas import Quote, QuoteCreate
from oms.quote.service import QuoteService
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Quote"])
Quotes = Annotated[QuoteService, Depends(provided(QuoteService))]


@router.post(
    "/quotes",
    status_code=201,
    response_model=Quote,
    responses=errors(403, 404),
    dependencies=[needs(Scope.MONEY_WRITE), Idempotent],
    summary="Create a quote (locks amounts, fees and rate for a short window)",
)
async def create_quote(body: QuoteCreate, auth: Auth, session: Session, quotes: Quotes) -> JSONResponse:
    return JSONResponse(await quotes.create(session, auth, body), status_code=201)


@router.get("/quotes/{quote_id}", dependencies=[needs(Scope.READ)], response_model=Quote, summary="Retrieve a quote")
async def get_quote(quote_id: str, auth: Auth, session: Session, quotes: Quotes) -> JSONResponse:
    return JSONResponse(await quotes.get(session, auth, quote_id))
