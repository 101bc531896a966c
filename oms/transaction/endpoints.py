from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from oms.auth.dependencies import Auth, Idempotent, needs
from oms.auth.scopes import Scope
from oms.kit.pagination import PageQuery
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided
from oms.transaction.schemas import Transaction, TransactionCreate, TransactionList
from oms.transaction.service import TransactionService

router = APIRouter(route_class=OMSRoute, tags=["Transaction"])
Transactions = Annotated[TransactionService, Depends(provided(TransactionService))]
Status = Literal["processing", "completed", "failed", "cashPickupReady"]
Type = Literal["cryptoToCrypto", "fiatToCrypto", "cryptoToFiat"]


@router.post(
    "/transactions",
    status_code=201,
    response_model=Transaction,
    responses=errors(403, 404),
    dependencies=[needs(Scope.MONEY_WRITE), Idempotent],
    summary="Execute a quote",
)
async def create_transaction(
    body: TransactionCreate, auth: Auth, session: Session, transactions: Transactions
) -> JSONResponse:
    return JSONResponse(await transactions.execute(session, auth, body), status_code=201)


@router.get(
    "/transactions", dependencies=[needs(Scope.READ)], response_model=TransactionList, summary="List transactions"
)
async def list_transactions(
    auth: Auth,
    session: Session,
    transactions: Transactions,
    page: PageQuery,
    status: Status | None = None,
    type: Type | None = None,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
    wallet_id: Annotated[str | None, Query(alias="walletId")] = None,
) -> JSONResponse:
    return JSONResponse(
        await transactions.list(
            session,
            auth,
            page,
            status=status,
            type=type,
            customer_id=customer_id,
            wallet_id=wallet_id,
            perspective=customer_id,
        )
    )


@router.get(
    "/transactions/{transaction_id}",
    dependencies=[needs(Scope.READ)],
    response_model=Transaction,
    summary="Retrieve a transaction",
)
async def get_transaction(
    transaction_id: str,
    auth: Auth,
    session: Session,
    transactions: Transactions,
    sender_customer_id: Annotated[str | None, Query(alias="senderCustomerId")] = None,
    recipient_customer_id: Annotated[str | None, Query(alias="recipientCustomerId")] = None,
) -> JSONResponse:
    perspective = sender_customer_id or recipient_customer_id
    return JSONResponse(await transactions.get(session, auth, transaction_id, perspective=perspective))


@router.get(
    "/customers/{customer_id}/transactions",
    dependencies=[needs(Scope.READ)],
    response_model=TransactionList,
    summary="List a customer's transactions (with its role in each)",
)
async def list_customer_transactions(
    customer_id: str,
    auth: Auth,
    session: Session,
    transactions: Transactions,
    page: PageQuery,
    status: Status | None = None,
    type: Type | None = None,
) -> JSONResponse:
    return JSONResponse(
        await transactions.list_for_customer(session, auth, customer_id, page, status=status, type=type)
    )
