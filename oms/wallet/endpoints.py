from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from oms.auth.dependencies import Auth, Idempotent, needs
from oms.auth.scopes import Scope
from oms.kit.pagination import PageQuery
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided
from oms.wallet.schemas import Balance, Wallet, WalletCreate, WalletList
from oms.wallet.service import WalletService

router = APIRouter(route_class=OMSRoute, tags=["Wallet"])
Wallets = Annotated[WalletService, Depends(provided(WalletService))]


@router.post(
    "/customers/{customer_id}/wallets",
    status_code=201,
    response_model=Wallet,
    responses=errors(403),
    dependencies=[needs(Scope.WALLETS_WRITE), Idempotent],
    summary="Provision a custodial wallet for a customer",
)
async def create_wallet(
    customer_id: str, body: WalletCreate, auth: Auth, session: Session, wallets: Wallets
) -> JSONResponse:
    return JSONResponse(await wallets.create(session, auth, customer_id, body), status_code=201)


@router.get(
    "/customers/{customer_id}/wallets",
    dependencies=[needs(Scope.READ)],
    response_model=WalletList,
    summary="List a customer's wallets",
)
async def list_wallets(
    customer_id: str, auth: Auth, session: Session, wallets: Wallets, page: PageQuery
) -> JSONResponse:
    return JSONResponse(await wallets.list(session, auth, customer_id, page))


@router.get(
    "/wallets/{wallet_id}/balance",
    dependencies=[needs(Scope.READ)],
    response_model=Balance,
    summary="Read a wallet's balance",
)
async def get_wallet_balance(
    wallet_id: str,
    auth: Auth,
    session: Session,
    wallets: Wallets,
    currency_code: Annotated[str, Query(alias="estimatedBalanceCurrencyCode")] = "USD",
) -> JSONResponse:
    return JSONResponse(await wallets.balance(session, auth, wallet_id, currency_code))
