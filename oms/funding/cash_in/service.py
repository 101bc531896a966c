"""Cash-ins: a one-time deposit code, the provider's authorisation and commit, and the delivery.

pending (code issued, valid one hour by the tenant's clock) → processing (cash committed; the
``fiatToCrypto`` transaction is created and the stablecoin queued) → completed | failed, and
pending → expired when the code lapses before any deposit. ``expired`` is evaluated lazily on every read
(a pending cash-in past its code's expiry reads as expired) and made durable, with its ``cashIn.expired``
event, by the ``cash-in-expiry`` job and at once when a tenant advances its sandbox clock. A refresh
issues a new code for a pending or expired cash-in that saw no deposit.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.service import AuthContext
from oms.chain.registry import Chains
from oms.clock.service import TenantClock
from oms.customer import repository as customer_repository
from oms.customer.service import CustomerService
from oms.errors import Conflict, InvalidRequest, NotFound, Unprocessable
from oms.event import service as events
from oms.funding import destination as destinations
from oms.funding.cash_in import limits, repository, schemas
from oms.funding.cash_in.schemas import AuthCommit, BarcodeAuth, CashInCreate
from oms.funding.cash_location.port import CashLocation
from oms.funding.cash_location.service import CashLocationService
from oms.funding.delivery import FundingDelivery
from oms.funding.fees import FiatFees, decimal_text, fees_deducted, parse, rates, to_token, token_amount, usd
from oms.kit.ids import new_id
from oms.kit.money import ASSETS
from oms.kit.pagination import PageParams, paginate
from oms.kit.time import Clock, isoformat
from oms.models import CashIn, Transaction, TransactionFunding
from oms.models.funding import CashInStatus

DEFAULT_INDICATED = 10_000  # 100.00 USD
CASH_PROVIDER = "greendot"
# Sandbox: an auth-commit with this description is failed by the simulated provider (nothing is credited).
SANDBOX_FAIL_DESCRIPTION = "fail"


class CashInService:
    def __init__(
        self,
        *,
        customers: CustomerService,
        locations: CashLocationService,
        chains: Chains,
        delivery: FundingDelivery,
        tenant_clock: TenantClock,
        clock: Clock,
        fees: FiatFees,
        code_ttl: timedelta,
    ) -> None:
        self._customers = customers
        self._locations = locations
        self._chains = chains
        self._delivery = delivery
        self._tenant_clock = tenant_clock
        self._clock = clock
        self._fees = fees
        self._code_ttl = code_ttl
        delivery.on_outcome("cashIn", self._transaction_settled)

    # --- the API --------------------------------------------------------------------------------------

    async def create(self, session: AsyncSession, auth: AuthContext, body: CashInCreate) -> schemas.CashIn:
        customer = await self._customers.require_endorsement(
            session, auth, body.customerId, "basic", param="customerId"
        )
        if body.source.asset != "usd":
            raise InvalidRequest("unsupported_asset", "A cash-in's source asset is 'usd'.", param="source.asset")
        if body.source.network != "cash":
            raise InvalidRequest("unsupported_network", "A cash-in's source network is 'cash'.", param="source.network")
        location = self._location(body)
        target = await destinations.resolve(
            session,
            self._chains,
            tenant_id=auth.tenant_id,
            customer_id=customer.id,
            asset=body.destination.asset,
            network=body.destination.network,
            target=body.destination.wallet,
        )
        indicated = DEFAULT_INDICATED
        if body.source.indicatedAmount is not None:
            indicated = parse(body.source.indicatedAmount, "usd", param="source.indicatedAmount")
        limits.check_amount(indicated, location.retailer, param="source.indicatedAmount")
        now = await self._tenant_clock.now(session, auth.tenant_id)
        # A code is issued only if at least the minimum deposit still fits the customer's windows.
        await limits.check_windows(session, customer.id, limits.MINIMUM, now, param="customerId")
        cash_in = CashIn(
            id=new_id("ci"),
            tenant_id=auth.tenant_id,
            customer_id=customer.id,
            status="pending",
            sub_status="order_reserved",
            provider=location.provider,
            location_id=location.id,
            location_reference=location.location_reference,
            location_name=location.name,
            location_address=location.full_address,
            retailer=location.retailer,
            destination_wallet_id=target.wallet_id,
            destination_address=target.address,
            asset=target.asset,
            chain=target.chain,
            indicated_amount=indicated,
            fee_schedule=self._fees.snapshot(),
            amount=None,
            fee=None,
            code=_new_code(),
            code_expires_at=now + self._code_ttl,
            authorization=None,
            deposited_at=None,
            transaction_id=None,
            source_email=str(body.source.email) if body.source.email else None,
            error=None,
            metadata_=body.metadata or {},
            version=1,
            created_at=now,
            updated_at=now,
            completed_at=None,
        )
        session.add(cash_in)
        await session.flush()
        return render(cash_in, now)

    async def get(self, session: AsyncSession, auth: AuthContext, cash_in_id: str) -> schemas.CashIn:
        cash_in = await self._get(session, auth, cash_in_id)
        return render(cash_in, await self._tenant_clock.now(session, auth.tenant_id))

    async def list(
        self, session: AsyncSession, auth: AuthContext, page: PageParams, *, customer_id: str | None, status: str | None
    ) -> schemas.CashInList:
        now = await self._tenant_clock.now(session, auth.tenant_id)
        statement = repository.list_statement(auth.tenant_id, customer_id=customer_id, status=status, now=now)
        result = await paginate(session, statement, CashIn, page, scope=CashIn.tenant_id == auth.tenant_id)
        return result.listed([render(cash_in, now) for cash_in in result.items])

    async def refresh(self, session: AsyncSession, auth: AuthContext, cash_in_id: str) -> schemas.CashIn:
        cash_in = await self._get(session, auth, cash_in_id, for_update=True)
        now = await self._tenant_clock.now(session, auth.tenant_id)
        status, _ = status_of(cash_in, now)
        if status not in ("pending", "expired"):
            raise Conflict(
                "cash_in_not_refreshable",
                f"Cash-in '{cash_in.id}' is {status}: only a pending or expired cash-in without a deposit gets a "
                "new code.",
            )
        await self._customers.require_endorsement(session, auth, cash_in.customer_id, "basic")
        await limits.check_windows(session, cash_in.customer_id, limits.MINIMUM, now, param="customerId")
        cash_in.code, cash_in.code_expires_at = _new_code(), now + self._code_ttl
        cash_in.status, cash_in.sub_status, cash_in.authorization = "pending", "order_reserved", None
        cash_in.version += 1
        cash_in.updated_at = now
        await session.flush()
        return render(cash_in, now)

    async def expire_due(self, session: AsyncSession, *, tenant_id: str | None = None, limit: int = 100) -> int:
        """Make lapsed codes durably ``expired`` (with their ``cashIn.expired`` event), per tenant clock."""
        system_now = self._clock.now()
        offsets = await self._tenant_clock.offsets(session)
        groups: list[tuple[str | None, datetime, set[str] | None]]
        if tenant_id is not None:
            groups = [(tenant_id, system_now + offsets.get(tenant_id, timedelta()), None)]
        else:
            groups = [(None, system_now, set(offsets))]
            groups += [(tenant, system_now + offset, None) for tenant, offset in offsets.items()]
        expired = 0
        for tenant, deadline, excluding in groups:
            for cash_in in await repository.lapsed(
                session, deadline=deadline, limit=limit, tenant_id=tenant, excluding=excluding
            ):
                cash_in.status, cash_in.sub_status = "expired", "cash_deposit_expired"
                cash_in.authorization = None
                cash_in.version += 1
                cash_in.updated_at = cash_in.code_expires_at
                await session.flush()
                await self._emit(session, cash_in, deadline)
                expired += 1
        return expired

    # --- the sandbox cash provider (spec 2.12) ---------------------------------------------------------

    async def barcode_auth(
        self, session: AsyncSession, auth: AuthContext, body: BarcodeAuth
    ) -> schemas.ProviderResponse:
        """The retailer scanned the code: authorise a load of ``amount`` (limits are checked here)."""
        cash_in, now = await self._pending_by_code(session, auth, body.accountNumber)
        await self._customers.require_endorsement(session, auth, cash_in.customer_id, "basic")
        amount = parse(body.amount, "usd", param="amount")
        limits.check_amount(amount, cash_in.retailer, param="amount")
        await limits.check_windows(session, cash_in.customer_id, amount, now, param="amount")
        confirmation = _confirmation_id()
        cash_in.authorization = {
            "confirmationId": confirmation,
            "amount": amount,
            "accountReferenceNumber": body.accountReferenceNumber,
            "authorizedAt": isoformat(now),
        }
        await session.flush()
        return _approved(amount, confirmation)

    async def auth_commit(self, session: AsyncSession, auth: AuthContext, body: AuthCommit) -> schemas.ProviderResponse:
        """The retailer took the cash: commit the authorised load, create the transaction, queue delivery."""
        cash_in, now = await self._pending_by_code(session, auth, body.accountNumber)
        authorization = cash_in.authorization or {}
        if authorization.get("confirmationId") != body.originalConfirmationId:
            raise Unprocessable(
                "authorization_not_found",
                "originalConfirmationId does not match the current barcode authorisation of this code.",
                param="originalConfirmationId",
            )
        if authorization.get("accountReferenceNumber") != body.accountReferenceNumber:
            raise Unprocessable(
                "reference_mismatch",
                "accountReferenceNumber differs from the one given to barcode-auth.",
                param="accountReferenceNumber",
            )
        amount = parse(body.amount, "usd", param="amount")
        if amount != authorization.get("amount"):
            raise Unprocessable(
                "amount_mismatch",
                f"The authorised amount was {usd(int(authorization['amount']))} USD; commit that amount.",
                param="amount",
            )
        if body.customerId is not None and body.customerId != cash_in.customer_id:
            raise Unprocessable("customer_mismatch", "customerId is not the cash-in's customer.", param="customerId")
        # Lock the customer: two deposits committed at once must not both fit the same window. The deposit's
        # time is read under the lock, so it is later than every deposit committed before (a time read earlier
        # could precede one that took the lock first, which the window, ending at that time, would not count).
        await customer_repository.get(session, auth.tenant_id, cash_in.customer_id, for_update=True)
        now = await self._tenant_clock.now(session, auth.tenant_id)
        await self._customers.require_endorsement(session, auth, cash_in.customer_id, "basic")
        limits.check_amount(amount, cash_in.retailer, param="amount")
        await limits.check_windows(session, cash_in.customer_id, amount, now, param="amount")
        if (body.description or "").strip().lower() == SANDBOX_FAIL_DESCRIPTION:
            return await self._provider_failed(session, cash_in, now)
        fee = FiatFees.from_snapshot(cash_in.fee_schedule).fee_for(amount)
        cash_in.amount, cash_in.fee, cash_in.deposited_at = amount, fee, now
        cash_in.status, cash_in.sub_status = "processing", "cash_deposited"
        await session.flush()
        transaction = await self._delivery.deliver_fiat(
            session,
            tenant_id=cash_in.tenant_id,
            customer_id=cash_in.customer_id,
            destination=destinations.Destination(
                cash_in.asset, cash_in.chain, cash_in.destination_wallet_id, cash_in.destination_address
            ),
            network="cash",
            rail="cash",
            gross=amount,
            fee=fee,
            kind="cashIn",
            cash_in_id=cash_in.id,
            details={"cash": {"locationId": cash_in.location_id, "locationReference": cash_in.location_reference}},
            metadata=cash_in.metadata_,
        )
        cash_in.transaction_id = transaction.id
        cash_in.version += 1
        cash_in.updated_at = now
        await session.flush()
        await self._emit(session, cash_in, now)
        return _approved(amount, _confirmation_id())

    async def _provider_failed(self, session: AsyncSession, cash_in: CashIn, now: datetime) -> schemas.ProviderResponse:
        cash_in.status, cash_in.sub_status = "failed", "provider_order_failed"
        cash_in.error = {
            "code": "provider_order_failed",
            "message": "The cash provider failed the order; the cash was not taken and nothing was credited.",
        }
        cash_in.version += 1
        cash_in.updated_at = now
        await session.flush()
        await self._emit(session, cash_in, now)
        return {
            "authorizedAmount": usd(0),
            "confirmationId": _confirmation_id(),
            "responseCode": "05",
            "responseId": uuid.uuid4().hex,
            "responseText": "Declined: provider order failed",
        }

    # --- following the transaction ----------------------------------------------------------------------

    async def _transaction_settled(
        self, session: AsyncSession, transaction: Transaction, funding: TransactionFunding
    ) -> None:
        cash_in = await repository.get(session, transaction.tenant_id, str(funding.cash_in_id), for_update=True)
        assert cash_in is not None
        now = await self._tenant_clock.now(session, cash_in.tenant_id)
        if transaction.status == "completed":
            cash_in.status, cash_in.sub_status, cash_in.completed_at = "completed", "settled", now
        else:
            cash_in.status, cash_in.sub_status = "failed", "cash_deposit_failed"
            cash_in.error = {
                "code": "cash_deposit_failed",
                "message": "The stablecoin could not be delivered; the deposit is returned to the customer.",
            }
        cash_in.version += 1
        cash_in.updated_at = now
        await session.flush()
        await self._emit(session, cash_in, now)

    # --- helpers ----------------------------------------------------------------------------------------

    def _location(self, body: CashInCreate) -> CashLocation:
        if body.cash is not None and (body.cashLocationId or body.cashLocationReference):
            raise InvalidRequest(
                "parameter_conflict", "Give cash.locationId or cashLocationId, not both.", param="cashLocationId"
            )
        location_id = body.cash.locationId if body.cash else body.cashLocationId
        reference = body.cash.locationReference if body.cash else body.cashLocationReference
        param = "cash.locationId" if body.cash else "cashLocationId"
        if location_id is None:
            raise InvalidRequest("parameter_missing", "Missing required parameter: cash.locationId.", param=param)
        location = self._locations.get(location_id)
        if location is None:
            raise NotFound.resource("cash location", location_id, param=param)
        if location.provider != CASH_PROVIDER or "cashIn" not in location.flows:
            raise InvalidRequest(
                "location_unsupported",
                f"'{location.name}' does not take cash-ins; find one with GET /cash-locations?flow=cashIn.",
                param=param,
            )
        if reference is not None and reference != location.location_reference:
            raise InvalidRequest(
                "location_reference_mismatch",
                f"locationReference is not the reference of location '{location.id}'.",
                param="cash.locationReference" if body.cash else "cashLocationReference",
            )
        return location

    async def _get(
        self, session: AsyncSession, auth: AuthContext, cash_in_id: str, *, for_update: bool = False
    ) -> CashIn:
        cash_in = await repository.get(session, auth.tenant_id, cash_in_id, for_update=for_update)
        if cash_in is None:
            raise NotFound.resource("cash-in", cash_in_id)
        return cash_in

    async def _pending_by_code(self, session: AsyncSession, auth: AuthContext, code: str) -> tuple[CashIn, datetime]:
        cash_in = await repository.by_code(session, auth.tenant_id, code)
        if cash_in is None:
            raise NotFound("resource_missing", f"No cash-in has deposit code '{code}'.", param="accountNumber")
        now = await self._tenant_clock.now(session, auth.tenant_id)
        status, _ = status_of(cash_in, now)
        if status == "expired":
            raise Unprocessable(
                "deposit_code_expired",
                f"The deposit code expired at {isoformat(cash_in.code_expires_at)}; refresh the cash-in for a new one.",
                param="accountNumber",
            )
        if status != "pending":
            raise Conflict("cash_in_not_pending", f"Cash-in '{cash_in.id}' is {status}.", param="accountNumber")
        return cash_in, now

    async def _emit(self, session: AsyncSession, cash_in: CashIn, now: datetime) -> None:
        """The ``cashIn.<status>`` event of the change just made (rendered at the tenant's ``now``)."""
        await events.record(
            session,
            tenant_id=cash_in.tenant_id,
            type=f"cashIn.{cash_in.status}",
            object_id=cash_in.id,
            resource=render(cash_in, now),
            at=self._clock.now(),
            sequence=cash_in.version,
        )


def status_of(cash_in: CashIn, now: datetime) -> tuple[CashInStatus, str]:
    """(status, subStatus): a pending cash-in whose code has lapsed is expired."""
    if cash_in.status == "pending" and now >= cash_in.code_expires_at:
        return "expired", "cash_deposit_expired"
    return cash_in.status, cash_in.sub_status


def render(cash_in: CashIn, now: datetime) -> schemas.CashIn:
    """The cash-in object (spec 2.6). Before the deposit the amounts are estimates on ``indicatedAmount``."""
    status, sub_status = status_of(cash_in, now)
    schedule = FiatFees.from_snapshot(cash_in.fee_schedule)
    if cash_in.amount is not None and cash_in.fee is not None:
        gross, fee = cash_in.amount, cash_in.fee
    else:
        gross = cash_in.indicated_amount
        fee = min(schedule.fee_for(gross), gross)
    net = gross - fee
    delivered = to_token(net, cash_in.asset)
    decimals = ASSETS[cash_in.asset].decimals
    resource: schemas.CashIn = {
        "id": cash_in.id,
        "object": "cashIn",
        "customerId": cash_in.customer_id,
        "status": status,
        "subStatus": sub_status,
        "type": "fiatToCrypto",
        "fixedAmountSide": "source",
        "source": {
            "asset": "usd",
            "network": "cash",
            "amount": usd(cash_in.amount) if cash_in.amount is not None else None,
            "indicatedAmount": usd(cash_in.indicated_amount),
            "amountGross": usd(gross),
            "amountNet": usd(net),
            "feesDeducted": fees_deducted(fee, ASSETS["usd"].decimals),
            "email": cash_in.source_email,
        },
        "destination": {
            "asset": cash_in.asset,
            "network": cash_in.chain,
            "amountGross": token_amount(delivered, cash_in.asset),
            "amountNet": token_amount(delivered, cash_in.asset),
            "feesDeducted": fees_deducted(0, decimals),
            "wallet": {
                **destinations.render(cash_in.destination_wallet_id, cash_in.destination_address),
                "externalAccount": None,
            },
        },
        "cash": {"locationId": cash_in.location_id, "locationReference": cash_in.location_reference},
        "location": {"name": cash_in.location_name, "address": cash_in.location_address},
        "depositInstructions": {
            "code": cash_in.code,
            "expiresAt": isoformat(cash_in.code_expires_at),
            "locationName": cash_in.location_name,
            "locationAddress": cash_in.location_address,
        },
        "omsFeeSchedule": _fee_schedule(schedule),
        "rates": rates(net, gross, cash_in.asset),
        "developerFees": [],
        "sponsorGas": True,
        "sponsorGasCost": "0",
        "metadata": cash_in.metadata_,
        "transactionId": cash_in.transaction_id,
        "createdAt": isoformat(cash_in.created_at),
        "updatedAt": isoformat(cash_in.updated_at),
        "completedAt": isoformat(cash_in.completed_at),
    }
    if cash_in.error is not None:  # the stored {code, message}, named key by key for the type checker
        resource["error"] = {"code": cash_in.error["code"], "message": cash_in.error["message"]}
    return resource


def _new_code() -> str:
    """A 12-digit one-time deposit code (what the retailer scans or types)."""
    return f"{secrets.randbelow(10**12):012d}"


def _confirmation_id() -> str:
    return f"{secrets.randbelow(10**10):010d}"


def _approved(amount: int, confirmation: str) -> schemas.ProviderResponse:
    return {
        "authorizedAmount": usd(amount),
        "confirmationId": confirmation,
        "responseCode": "00",
        "responseId": uuid.uuid4().hex,
        "responseText": "Approved",
    }


def _fee_schedule(fees: FiatFees) -> schemas.FeeSchedule:
    """The ``omsFeeSchedule`` object: a percentage entry and a fixed entry."""
    entries: list[schemas.FeeEntry] = []
    if fees.rate:
        entries.append({"type": "percentage", "rate": decimal_text(fees.rate)})
    if fees.fixed:
        entries.append({"type": "fixed", "amount": usd(fees.fixed)})
    return {"feeCurrency": "usd", "entries": entries}
