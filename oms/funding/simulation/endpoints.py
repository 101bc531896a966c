"""Sandbox simulation endpoints (spec 2.12): mounted only on a sandbox server, so they are 404 in live mode."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from oms.auth.dependencies import Auth, Idempotent, needs
from oms.auth.scopes import Scope
from oms.funding.cash_in.schemas import AuthCommit, BarcodeAuth, ProviderResponse
from oms.funding.cash_in.service import CashInService
from oms.funding.deposit_address.schemas import DepositAddressSimulation
from oms.funding.deposit_address.schemas import SimulationResult as DepositAddressSimulationResult
from oms.funding.deposit_address.service import DepositAddressService
from oms.funding.virtual_account.schemas import Simulation
from oms.funding.virtual_account.schemas import SimulationResult as VirtualAccountSimulationResult
from oms.funding.virtual_account.service import VirtualAccountService
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Simulation"])
CashIns = Annotated[CashInService, Depends(provided(CashInService))]
VirtualAccounts = Annotated[VirtualAccountService, Depends(provided(VirtualAccountService))]
DepositAddresses = Annotated[DepositAddressService, Depends(provided(DepositAddressService))]


@router.post(
    "/cash-ins/simulate/barcode-auth",
    response_model=ProviderResponse,
    responses=errors(404),
    dependencies=[needs(Scope.MONEY_WRITE), Idempotent],
    summary="Sandbox: a retailer scans a deposit code (accountNumber) for a load of amount",
)
async def simulate_barcode_auth(body: BarcodeAuth, auth: Auth, session: Session, cash_ins: CashIns) -> JSONResponse:
    return JSONResponse(await cash_ins.barcode_auth(session, auth, body))


@router.post(
    "/cash-ins/simulate/auth-commit",
    response_model=ProviderResponse,
    responses=errors(404),
    dependencies=[needs(Scope.MONEY_WRITE), Idempotent],
    summary="Sandbox: the retailer takes the cash; the cash-in is processed (description 'fail' declines it)",
)
async def simulate_auth_commit(body: AuthCommit, auth: Auth, session: Session, cash_ins: CashIns) -> JSONResponse:
    return JSONResponse(await cash_ins.auth_commit(session, auth, body))


@router.post(
    "/virtual-accounts/{virtual_account_id}/simulate",
    response_model=VirtualAccountSimulationResult,
    responses=errors(403),
    dependencies=[needs(Scope.MONEY_WRITE), Idempotent],
    summary="Sandbox: an inbound ACH, wire or SWIFT transfer to a virtual account",
)
async def simulate_virtual_account(
    virtual_account_id: str, body: Simulation, auth: Auth, session: Session, virtual_accounts: VirtualAccounts
) -> JSONResponse:
    return JSONResponse(await virtual_accounts.simulate(session, auth, virtual_account_id, body))


@router.post(
    "/deposit-addresses/{deposit_address_id}/simulate",
    response_model=DepositAddressSimulationResult,
    dependencies=[needs(Scope.MONEY_WRITE), Idempotent],
    summary="Sandbox: an inbound token transfer to a deposit address (forwarded once final)",
)
async def simulate_deposit_address(
    deposit_address_id: str,
    body: DepositAddressSimulation,
    auth: Auth,
    session: Session,
    deposit_addresses: DepositAddresses,
) -> JSONResponse:
    return JSONResponse(await deposit_addresses.simulate(session, auth, deposit_address_id, body))
