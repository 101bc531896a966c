"""Virtual accounts: US bank details that turn ACH, wire and SWIFT deposits into stablecoin.

Each deposit auto-creates a ``fiatToCrypto`` transaction (``transaction.fiatToCrypto.*`` events) settled by
``FundingDelivery``, after the rail's fee (``OMS_FEE_<RAIL>_RATE`` / ``_FIXED``). A paused account accepts no
deposit: in sandbox the simulation is refused (422 ``virtual_account_paused``) and nothing is credited — a
bank returns such a transfer to its sender. Deleted is permanent; a deleted account stays readable.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.service import AuthContext
from oms.chain.registry import Chains
from oms.clock.service import TenantClock
from oms.customer.service import CustomerService
from oms.errors import InvalidRequest, Unprocessable
from oms.funding import destination as destinations
from oms.funding.delivery import FundingDelivery
from oms.funding.fees import FiatFees, parse, usd
from oms.funding.instrument.lifecycle import Kind
from oms.funding.instrument.service import InstrumentService
from oms.funding.virtual_account import repository, schemas
from oms.funding.virtual_account.bank import BIC, BankIssuer, aba_checksum_ok
from oms.funding.virtual_account.schemas import (
    RAIL_FIELDS,
    BankTransfer,
    Simulation,
    SimulationResult,
    VirtualAccountCreate,
    VirtualAccountUpdate,
    simulated_value,
)
from oms.kit.time import isoformat
from oms.models import Customer, Tenant, VirtualAccount

REQUIRED = ("basic", "usd")
# rail → (source network on the transaction, the transaction's rail label)
RAILS = {"ach_in": ("ach", "ach"), "wire_in": ("wire", "wire"), "swift_in": ("wire", "international_wire")}
OMS_HOLDER = "Polygon OMS"
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


KIND = Kind(code="virtual_account", noun="virtual account", prefix="va")


class VirtualAccountService(
    InstrumentService[VirtualAccount, VirtualAccountCreate, VirtualAccountUpdate, schemas.VirtualAccount]
):
    """The instrument's lifecycle is ``InstrumentService``'s; this provisions the bank details, renders them,
    and takes the simulated deposits (refused unless active)."""

    model = VirtualAccount
    kind = KIND
    required = REQUIRED

    def __init__(
        self,
        *,
        customers: CustomerService,
        chains: Chains,
        delivery: FundingDelivery,
        tenant_clock: TenantClock,
        issuer: BankIssuer | None,
        fees: dict[str, FiatFees],
    ) -> None:
        super().__init__(customers=customers, chains=chains, tenant_clock=tenant_clock)
        self._delivery = delivery
        self._issuer = issuer
        self._fees = fees

    async def create(
        self, session: AsyncSession, auth: AuthContext, customer_id: str, body: VirtualAccountCreate
    ) -> schemas.VirtualAccount:
        customer = await self._customers.require_endorsements(session, auth, customer_id, REQUIRED)
        if self._issuer is None:
            raise Unprocessable(
                "virtual_accounts_unavailable", "No bank partner is configured to issue virtual accounts."
            )
        target = await self._destination(session, auth, customer, body)
        details = self._issuer.issue()
        for _ in range(5):
            if not await repository.number_taken(session, details.routing_number, details.account_number):
                break
            details = self._issuer.issue()
        now = await self._tenant_clock.now(session, auth.tenant_id)
        account = VirtualAccount(
            **self._columns(auth, customer, target, body, now),
            bank_name=details.bank_name,
            bank_address=details.bank_address,
            routing_number=details.routing_number,
            account_number=details.account_number,
            account_type=details.account_type,
            swift_code=details.swift_code,
            owner_name=await self._owner_name(session, customer, body.accountholderName),
            reference="VA" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10)),
            accountholder_name=body.accountholderName,
            bank_memo=body.bankMemo,
        )
        session.add(account)
        await session.flush()
        return render(account)

    def render(self, instrument: VirtualAccount) -> schemas.VirtualAccount:
        return render(instrument)

    def _apply(self, instrument: VirtualAccount, body: VirtualAccountUpdate, fields: dict[str, Any]) -> None:
        super()._apply(instrument, body, fields)
        if "bankMemo" in fields:
            instrument.bank_memo = body.bankMemo

    # --- sandbox ----------------------------------------------------------------------------------------

    async def simulate(
        self, session: AsyncSession, auth: AuthContext, virtual_account_id: str, body: Simulation
    ) -> SimulationResult:
        """An inbound bank transfer arrives: the transaction is created and the stablecoin queued."""
        account = await self._get(session, auth, virtual_account_id, for_update=True)
        unexpected = sorted(body.model_fields_set - {"rail", "amount"} - RAIL_FIELDS[body.rail])
        if unexpected:
            raise InvalidRequest(
                "unknown_parameter", f"{unexpected[0]} is not a field of an {body.rail} transfer.", param=unexpected[0]
            )
        if account.status != "active":
            raise Unprocessable(
                f"virtual_account_{account.status}",
                f"Virtual account '{account.id}' is {account.status}: deposits are not processed (the bank "
                "returns them to the sender).",
            )
        await self._customers.require_endorsements(session, auth, account.customer_id, REQUIRED)
        value, param, currency = simulated_value(body.amount)
        if currency is not None and currency.upper() != "USD":
            raise InvalidRequest(
                "invalid_currency", f"A virtual account receives USD, not {currency}.", param="amount.currency"
            )
        amount = parse(value, "usd", param=param)
        fee = self._fees[body.rail].fee_for(amount)
        if amount <= fee:
            raise Unprocessable(
                "amount_too_small",
                f"A {body.rail} deposit of {usd(amount)} USD does not cover its {usd(fee)} USD fee.",
                param=param,
            )
        now = await self._tenant_clock.now(session, auth.tenant_id)
        transfer = _transfer_details(body, now)
        network, rail = RAILS[body.rail]
        transaction = await self._delivery.deliver_fiat(
            session,
            tenant_id=account.tenant_id,
            customer_id=account.customer_id,
            destination=destinations.Destination(
                account.asset, account.chain, account.destination_wallet_id, account.destination_address
            ),
            network=network,
            rail=rail,
            gross=amount,
            fee=fee,
            kind="virtualAccount",
            virtual_account_id=account.id,
            details={"virtualAccountId": account.id, "bankTransfer": transfer},
        )
        result: SimulationResult = {
            "object": "virtualAccountSimulation",
            "virtualAccountId": account.id,
            "rail": body.rail,
            "status": "submitted",
            "amount": {"value": usd(amount), "currency": "USD"},
            "fee": {"value": usd(fee), "currency": "USD"},
            "transactionId": transaction.id,
            "submittedAt": isoformat(now),
        }
        # The rail's identifier, as the transaction's source shows it too.
        if "traceNumber" in transfer:
            result["traceNumber"] = transfer["traceNumber"]
        if "imad" in transfer:
            result["imad"] = transfer["imad"]
        if "uetr" in transfer:
            result["uetr"] = transfer["uetr"]
        return result

    # --- helpers ----------------------------------------------------------------------------------------

    async def _owner_name(self, session: AsyncSession, customer: Customer, holder: str) -> str:
        names = [customer.first_name, customer.middle_name, customer.last_name]
        person = " ".join(name for name in names if name) or f"Customer {customer.id}"
        if holder == "customer":
            return person
        if holder == "developer":
            tenant = await session.get(Tenant, customer.tenant_id)
            return f"{tenant.name if tenant else 'Developer'} FBO {person}"
        return f"{OMS_HOLDER} FBO {person}"


def _transfer_details(body: Simulation, now: datetime) -> BankTransfer:
    """The rail's own identifiers, given or made up as the sending bank would."""
    if body.senderRoutingNumber is not None and not aba_checksum_ok(body.senderRoutingNumber):
        raise InvalidRequest(
            "invalid_routing_number",
            "senderRoutingNumber is not a valid ABA routing number (9 digits with a valid checksum).",
            param="senderRoutingNumber",
        )
    details: BankTransfer = {"rail": body.rail, "senderName": body.senderName}
    if body.rail == "ach_in":
        details |= {
            "traceNumber": body.traceNumber or "".join(str(secrets.randbelow(10)) for _ in range(15)),
            "senderRoutingNumber": body.senderRoutingNumber,
            "senderAccountNumber": _masked(body.senderAccountNumber),
            "description": body.description,
        }
    elif body.rail == "wire_in":
        sequence = "".join(str(secrets.randbelow(10)) for _ in range(6))
        details |= {
            "imad": body.imad or f"{now:%Y%m%d}OMSBWIRE{sequence}",
            "senderBankName": body.senderBankName,
            "senderRoutingNumber": body.senderRoutingNumber,
            "reference": body.reference,
        }
    else:
        if body.senderBic is not None and not BIC.fullmatch(body.senderBic):
            raise InvalidRequest("invalid_bic", "senderBic is not a valid SWIFT/BIC code.", param="senderBic")
        details |= {
            "uetr": body.uetr or str(uuid.uuid4()),
            "senderBic": body.senderBic,
            "senderCountry": body.senderCountry,
            "reference": body.reference,
        }
    return details


def _masked(account_number: str | None) -> str | None:
    return None if account_number is None else "*" * max(0, len(account_number) - 4) + account_number[-4:]


def render(account: VirtualAccount) -> schemas.VirtualAccount:
    return {
        "id": account.id,
        "object": "virtualAccount",
        "customerId": account.customer_id,
        "status": account.status,
        "source": {"asset": "usd", "network": "usBank", "rails": ["ach", "wire", "swift"]},
        "bankDetails": {
            "bankName": account.bank_name,
            "bankAddress": account.bank_address,
            "accountNumber": account.account_number,
            "routingNumber": account.routing_number,
            "accountType": account.account_type,
            "swiftCode": account.swift_code,
            "ownerName": account.owner_name,
            "reference": account.reference,
        },
        "destination": {
            "asset": account.asset,
            "network": account.chain,
            "wallet": destinations.render(account.destination_wallet_id, account.destination_address),
        },
        "accountholderName": account.accountholder_name,
        "label": account.label,
        "bankMemo": account.bank_memo,
        "developerFees": [],
        "metadata": account.metadata_,
        "createdAt": isoformat(account.created_at),
        "updatedAt": isoformat(account.updated_at),
    }
