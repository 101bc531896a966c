"""Deposit addresses: custody-derived addresses whose incoming tokens are forwarded to a wallet.

The watcher (``run_once``, the ``deposit-address-watcher`` job) reads only final blocks (``confirmations``
deep), so a transfer it records can no longer be reorganised away; each is recorded once (unique chain,
hash, log index). A deposit to an active address of a customer who may move money is routed at once: a
``cryptoToCrypto`` transaction with ``depositAddressId`` forwards it minus the cryptoToCrypto fee
(``OMS_FEE_CRYPTO_TO_CRYPTO_*``), settled by ``FundingDelivery``. Otherwise the chain cannot refuse it, so
it is **held** at the address (paused or deleted address, customer not allowed, or less than the fee) and
routed when the address is reactivated.

Every new transfer's sender is screened (``oms.screening``) before it is routed: a sender on the sanctions list
makes it **frozen** — not forwarded, no event the tenant sees, a compliance-only ``depositAddress.transferFrozen``
instead — until an operator releases it (routed as any transfer) or rejects it (blocked: never forwarded) through
the admin API (``/admin/v1/deposit-address-transfers``).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.service import AuthContext
from oms.chain import assets
from oms.chain.port import ChainAdapter, ChainError, ChainUnavailable, TokenTransfer
from oms.chain.registry import Chains
from oms.clock.service import TenantClock
from oms.custody.service import Custody
from oms.customer.service import CustomerService
from oms.db import Database
from oms.errors import Conflict, InvalidRequest, NotFound, Unprocessable
from oms.event import service as events
from oms.funding import destination as destinations
from oms.funding.delivery import FORWARD_FAILED, FundingDelivery
from oms.funding.deposit_address import repository, schemas
from oms.funding.deposit_address.schemas import (
    DepositAddressCreate,
    DepositAddressSimulation,
    DepositAddressTransfer,
    DepositAddressUpdate,
    ScreenedDepositAddressTransfer,
    SimulationResult,
)
from oms.funding.errors import chain_unavailable
from oms.funding.fees import parse, token_amount
from oms.funding.instrument import repository as instrument_repository
from oms.funding.instrument.lifecycle import Kind
from oms.funding.instrument.service import InstrumentService
from oms.funding.liquidity import mint_on
from oms.funding.virtual_account.schemas import simulated_value
from oms.kit.ids import is_valid_id, new_id
from oms.kit.isolation import RowFailed, isolated
from oms.kit.money import ASSETS, format_amount
from oms.kit.pagination import Listed, PageParams, paginate
from oms.kit.time import Clock, isoformat
from oms.ledger import service as ledger
from oms.models import (
    MAX_REVIEW_NOTE,
    DepositAddress,
    DepositAddressDeposit,
    DepositAddressTransferStatus,
    Transaction,
    TransactionFunding,
)
from oms.quote.pricing import FeeSchedule
from oms.screening.ofac import normalise
from oms.screening.port import Hit, Screener

log = logging.getLogger(__name__)
REQUIRED = ("basic", "cryptoCustody")
HELD_EVENT = "depositAddress.transferHeld"
# Compliance-only (oms.event.compliance): a transfer frozen by a screening hit, and the operator's decision.
FROZEN_EVENT, RELEASED_EVENT, BLOCKED_EVENT = (
    "depositAddress.transferFrozen", "depositAddress.transferReleased", "depositAddress.transferBlocked",
)  # fmt: skip
MAX_BLOCKS_PER_PASS = 2_000


KIND = Kind(code="deposit_address", noun="deposit address", prefix="da")


class DepositAddressService(
    InstrumentService[DepositAddress, DepositAddressCreate, DepositAddressUpdate, schemas.DepositAddress]
):
    """The instrument's lifecycle is ``InstrumentService``'s; this derives the address, renders it, watches
    the chain for what arrives, and forwards what was held when the address is reactivated."""

    model = DepositAddress
    kind = KIND
    required = REQUIRED

    def __init__(
        self,
        *,
        customers: CustomerService,
        custody: Custody,
        chains: Chains,
        db: Database,
        delivery: FundingDelivery,
        tenant_clock: TenantClock,
        clock: Clock,
        fees: FeeSchedule,
        screener: Screener,
    ) -> None:
        super().__init__(customers=customers, chains=chains, tenant_clock=tenant_clock)
        self._custody = custody
        self._screener = screener
        self._db = db
        self._delivery = delivery
        self._clock = clock
        self._fees = fees
        delivery.on_outcome("depositAddress", self._forward_settled)

    # --- the API --------------------------------------------------------------------------------------

    async def create(
        self, session: AsyncSession, auth: AuthContext, customer_id: str, body: DepositAddressCreate
    ) -> schemas.DepositAddress:
        customer = await self._customers.require_endorsements(session, auth, customer_id, REQUIRED)
        asset, network = body.source.asset, body.source.network
        if assets.lookup(asset, network) is None or not self._chains.serves(network):
            raise InvalidRequest(
                "unsupported_pair", f"Deposit addresses for {asset} on {network} are not available.", param="source"
            )
        target = await self._destination(session, auth, customer, body)
        if (target.asset, target.chain) != (asset, network):
            raise InvalidRequest(
                "unsupported_pair",
                f"A deposit address forwards the same asset on the same network ({asset} on {network}).",
                param="destination.asset" if target.asset != asset else "destination.network",
            )
        adapter = self._chains.get(network)
        try:
            head = await adapter.head()
        except ChainError as exc:
            raise chain_unavailable(network, exc) from exc
        # The watcher starts no later than the last final block before this address existed.
        await repository.ensure_cursor(session, network, asset, start=max(0, head - adapter.confirmations))
        key_index, address = await self._custody.new_address(session, purpose="deposit_address")
        now = await self._tenant_clock.now(session, auth.tenant_id)
        deposit_address = DepositAddress(
            **self._columns(auth, customer, target, body, now), address=address, key_index=key_index
        )
        session.add(deposit_address)
        await session.flush()
        return render(deposit_address)

    def render(self, instrument: DepositAddress) -> schemas.DepositAddress:
        return render(instrument)

    async def _reactivated(self, session: AsyncSession, instrument: DepositAddress) -> None:
        """What arrived while it was paused goes out now."""
        for deposit in await repository.held(session, instrument.id):
            await self._route_isolated(session, instrument, deposit)

    # --- sandbox ----------------------------------------------------------------------------------------

    async def simulate(
        self, session: AsyncSession, auth: AuthContext, deposit_address_id: str, body: DepositAddressSimulation
    ) -> SimulationResult:
        """Someone sends tokens to the address: a real transfer on the development chain, which the watcher
        records (and routes) once it is final, exactly as it would a transfer from anywhere else."""
        deposit_address = await self._get(session, auth, deposit_address_id)
        value, param, currency = simulated_value(body.amount)
        if currency is not None and currency.lower() != deposit_address.asset:
            raise InvalidRequest(
                "invalid_currency",
                f"This deposit address receives {deposit_address.asset}, not {currency}.",
                param="amount.currency",
            )
        amount = parse(value, deposit_address.asset, param=param)
        adapter: Any = self._chains.get(deposit_address.chain)
        if getattr(adapter, "mint", None) is None:
            raise Unprocessable(
                "simulation_unavailable",
                f"The {deposit_address.chain} node is not a development chain: send real tokens to the address.",
            )
        try:
            tx_hash = await mint_on(adapter, deposit_address.asset, deposit_address.address, amount)
        except ChainError as exc:
            raise chain_unavailable(deposit_address.chain, exc) from exc
        return {
            "amount": {
                "value": token_amount(amount, deposit_address.asset),
                "currency": deposit_address.asset,  # assets and networks in lower case, as in every answer
            },
            "depositAddressId": deposit_address.id,
            "network": deposit_address.chain,
            "status": "submitted",
            "submittedAt": isoformat(await self._tenant_clock.now(session, auth.tenant_id)),
            "transactionHash": tx_hash,
        }

    # --- the watcher ------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        done = 0
        for adapter in self._chains.all():
            for asset in _assets_of(adapter):
                try:
                    done += await self.scan(adapter, asset)
                except ChainUnavailable as exc:
                    log.warning("deposit-address scan skipped", extra={"chain": adapter.chain, "error": str(exc)})
                except LookupError:
                    continue
        return done

    async def scan(self, adapter: ChainAdapter, asset: str) -> int:
        head = await adapter.head()
        final = head - adapter.confirmations + 1
        async with self._db.session_scope() as session:
            position = await repository.cursor(session, adapter.chain, asset, start=max(0, final - 1))
            start = position.scanned_to + 1
            end = min(final, start + MAX_BLOCKS_PER_PASS - 1)
            if end < start:
                return 0
            watched = await repository.watched(session, adapter.chain, asset)
            transfers = await adapter.transfers(asset, start, end, list(watched)) if watched else []
            ours = [transfer for transfer in transfers if transfer.to_address in watched]
            seen = await repository.recorded(session, adapter.chain, {transfer.tx_hash for transfer in ours})
            # Every new transfer's sender, screened in one call: a listed sender's transfer is frozen, not routed.
            senders = {t.from_address for t in ours if (t.tx_hash, t.log_index) not in seen}
            listed = {hit.address: hit for hit in await self._screener.screen(session, adapter.chain, senders)}
            # Routing posts one entry per deposit over its tenant's system accounts: all of them in one sweep
            # first (docs/decisions.md, "Lock order").
            currency = ledger.currency_of(asset, adapter.chain)
            tenants = {watched[transfer.to_address].tenant_id for transfer in ours}
            system = {(tenant, currency, kind) for tenant in tenants for kind in ("chain", "funding_transit")}
            await ledger.lock_accounts(session, system=system, at=self._clock.now())
            recorded = 0
            for transfer in ours:
                if (transfer.tx_hash, transfer.log_index) in seen:
                    continue
                seen.add((transfer.tx_hash, transfer.log_index))
                deposit_address = watched[transfer.to_address]
                deposit = self._record(deposit_address, transfer)
                session.add(deposit)
                await session.flush()
                hit = listed.get(normalise(transfer.from_address))
                if hit is None:
                    await self._route_isolated(session, deposit_address, deposit)
                else:
                    await self._freeze(session, deposit_address, deposit, hit)
                recorded += 1
            position.scanned_to = end
            return recorded

    async def _route_isolated(
        self, session: AsyncSession, deposit_address: DepositAddress, deposit: DepositAddressDeposit
    ) -> None:
        """Route (or hold) one deposit in its own savepoint: one that cannot be routed is held, logged, and
        the watcher moves on to the next (docs/decisions.md, "Poison rows")."""
        deposit_id, was = deposit.id, (deposit.status, deposit.hold_reason)
        try:
            await isolated(session, "deposit-address-watcher", deposit_id,
                           partial(self._route_or_hold, session, deposit_address, deposit))  # fmt: skip
        except RowFailed:
            await session.refresh(deposit)
            deposit.status, deposit.hold_reason, deposit.updated_at = "held", "not_routed", self._clock.now()
        if deposit.status == "held" and (deposit.status, deposit.hold_reason) != was:
            await self._announce_hold(session, deposit_address, deposit)

    async def _freeze(
        self, session: AsyncSession, deposit_address: DepositAddress, deposit: DepositAddressDeposit, hit: Hit
    ) -> None:
        """Not forwarded, and nothing the tenant sees: compliance-only endpoints learn why."""
        deposit.status, deposit.screening_reason = "frozen", hit.describe()[:300]
        await session.flush()
        log.warning("deposit-address transfer frozen: its sender is listed", extra={"transfer": deposit.id})
        await self._compliance_event(session, deposit_address, deposit, FROZEN_EVENT)

    async def _compliance_event(
        self, session: AsyncSession, deposit_address: DepositAddress, deposit: DepositAddressDeposit, type: str
    ) -> None:
        await events.record(
            session, tenant_id=deposit_address.tenant_id, type=type, object_id=deposit.id,
            resource=render_screened(deposit_address, deposit), at=deposit.updated_at,
        )  # fmt: skip

    # --- frozen transfers: an operator's decision (the admin API) -----------------------------------------

    async def screened_page(
        self, session: AsyncSession, page: PageParams, *, status: str | None, tenant_id: str | None
    ) -> Listed[ScreenedDepositAddressTransfer]:
        """Transfers frozen by a screening hit (then routed, held or blocked), newest first, a page at a time."""
        statement = repository.screened_statement(status=status, tenant_id=tenant_id)
        scope = DepositAddressDeposit.screening_reason.is_not(None)
        found = await paginate(session, statement, DepositAddressDeposit, page, scope=scope)
        addresses = await repository.deposit_addresses(session, {d.deposit_address_id for d in found.items})
        return found.listed([render_screened(addresses[d.deposit_address_id], d) for d in found.items])

    async def screened(self, session: AsyncSession, transfer_id: str) -> ScreenedDepositAddressTransfer:
        deposit = await repository.get(session, transfer_id) if is_valid_id(transfer_id, "dad") else None
        if deposit is None or deposit.screening_reason is None:
            raise NotFound.resource("deposit-address transfer", transfer_id)
        return render_screened(await self._instrument(session, deposit), deposit)

    async def decide(
        self, session: AsyncSession, transfer_id: str, *, release: bool, operator_id: str, reason: str
    ) -> ScreenedDepositAddressTransfer:
        """An operator's decision on a frozen transfer, once: released (routed as any transfer is, or held for the
        usual reasons) or rejected (``blocked``: never forwarded). The row is locked, so two decisions at once
        cannot both apply."""
        valid = is_valid_id(transfer_id, "dad")
        deposit = await repository.get(session, transfer_id, for_update=True) if valid else None
        if deposit is None or deposit.screening_reason is None:
            raise NotFound.resource("deposit-address transfer", transfer_id)
        if deposit.status != "frozen":
            raise Conflict("transfer_not_frozen", f"This transfer was already decided: it is {deposit.status}.")
        # Locked as a PATCH locks it: a reactivation (which routes what is held) and this release run one at a time.
        deposit_address = await self._instrument(session, deposit, for_update=True)
        now = self._clock.now()
        deposit.reviewed_at = deposit.updated_at = now
        deposit.reviewed_by, deposit.review_note = operator_id, reason[:MAX_REVIEW_NOTE]
        if release:
            deposit.status, deposit.hold_reason = "held", None  # now as any transfer that arrived
            await self._route_isolated(session, deposit_address, deposit)
        else:
            deposit.status = "blocked"
        await session.flush()
        await self._compliance_event(session, deposit_address, deposit, RELEASED_EVENT if release else BLOCKED_EVENT)
        return render_screened(deposit_address, deposit)

    async def _instrument(
        self, session: AsyncSession, deposit: DepositAddressDeposit, *, for_update: bool = False
    ) -> DepositAddress:
        found = await instrument_repository.get(
            session, DepositAddress, KIND.prefix, deposit.tenant_id, deposit.deposit_address_id, for_update=for_update
        )
        assert found is not None, "a transfer's deposit address is never deleted (only marked deleted)"
        return found

    async def _forward_settled(
        self, session: AsyncSession, transaction: Transaction, funding: TransactionFunding
    ) -> None:
        """A forward given up (it reverted every time): its deposit is held at the address and announced."""
        if transaction.status != "failed":
            return
        deposit = await repository.routed_as(session, transaction.id)
        deposit_address = await session.get(DepositAddress, funding.deposit_address_id)
        if deposit is None or deposit_address is None:
            return
        deposit.status, deposit.hold_reason, deposit.updated_at = "held", FORWARD_FAILED, self._clock.now()
        await session.flush()
        await self._announce_hold(session, deposit_address, deposit)

    async def _announce_hold(
        self, session: AsyncSession, deposit_address: DepositAddress, deposit: DepositAddressDeposit
    ) -> None:
        """A transfer the address did not forward: the integrator learns of it (``depositAddress.transferHeld``)
        without polling; once per reason, not again on every reactivation that still holds it."""
        log.info(
            "deposit-address transfer held",
            extra={"transfer": deposit.id, "address": deposit_address.id, "reason": deposit.hold_reason},
        )
        await events.record(
            session,
            tenant_id=deposit_address.tenant_id,
            type=HELD_EVENT,
            object_id=deposit.id,
            resource=render_transfer(deposit_address, deposit),
            at=deposit.updated_at,
        )

    def _record(self, deposit_address: DepositAddress, transfer: TokenTransfer) -> DepositAddressDeposit:
        now = self._clock.now()
        above = transfer.amount > ASSETS[deposit_address.asset].max_amount
        if above:
            log.warning("deposit-address deposit above the maximum amount: held", extra={"address": deposit_address.id})
        return DepositAddressDeposit(
            id=new_id("dad"),
            tenant_id=deposit_address.tenant_id,
            deposit_address_id=deposit_address.id,
            chain=deposit_address.chain,
            asset=deposit_address.asset,
            tx_hash=transfer.tx_hash,
            log_index=transfer.log_index,
            block_number=transfer.block_number,
            from_address=transfer.from_address,
            amount=0 if above else transfer.amount,
            chain_amount=str(transfer.amount) if above else None,
            status="held",
            hold_reason=None,
            transaction_id=None,
            created_at=now,
            updated_at=now,
        )

    async def _route_or_hold(
        self, session: AsyncSession, deposit_address: DepositAddress, deposit: DepositAddressDeposit
    ) -> None:
        fee = self._fees.fee_for(deposit.amount)
        reason = None
        if deposit.chain_amount is not None:  # never forwarded: the ledger does not take it
            reason = "above_maximum"
        elif deposit_address.status != "active":
            reason = deposit_address.status
        elif not await self._customers.may_move_money(session, deposit_address.customer_id, REQUIRED):
            reason = "customer_not_allowed"
        elif deposit.amount <= fee:
            reason = "below_fee"
        deposit.updated_at = self._clock.now()
        if reason is not None:
            deposit.status, deposit.hold_reason = "held", reason
            return
        transaction = await self._delivery.route_crypto(
            session,
            deposit_address=deposit_address,
            amount=deposit.amount,
            fee=fee,
            details={
                "blockchainAddress": deposit_address.address,
                "txHash": deposit.tx_hash,
                "fromAddress": deposit.from_address,
            },
        )
        deposit.status, deposit.hold_reason, deposit.transaction_id = "routed", None, transaction.id


def _assets_of(adapter: ChainAdapter) -> list[str]:
    supported = getattr(adapter, "assets", None)
    if supported is not None:
        return sorted(supported)
    return sorted(asset for asset, chain in assets.SUPPORTED if chain == adapter.chain)


def render(deposit_address: DepositAddress) -> schemas.DepositAddress:
    return {
        "id": deposit_address.id,
        "object": "depositAddress",
        "customerId": deposit_address.customer_id,
        "status": deposit_address.status,
        "transactionType": "cryptoToCrypto",
        "source": {
            "asset": deposit_address.asset,
            "network": deposit_address.chain,
            "depositInstructions": {
                "address": deposit_address.address,
                "asset": deposit_address.asset,
                "network": deposit_address.chain,
            },
        },
        "destination": {
            "asset": deposit_address.asset,
            "network": deposit_address.chain,
            "wallet": destinations.render(deposit_address.destination_wallet_id, deposit_address.destination_address),
        },
        "label": deposit_address.label,
        "developerFees": [],
        "metadata": deposit_address.metadata_,
        "createdAt": isoformat(deposit_address.created_at),
        "updatedAt": isoformat(deposit_address.updated_at),
    }


def render_transfer(deposit_address: DepositAddress, deposit: DepositAddressDeposit) -> DepositAddressTransfer:
    """A transfer into a deposit address (the resource of its events). ``amount`` is what arrived on chain,
    exactly, even above the maximum amount."""
    assert deposit.status in ("held", "routed"), "a frozen or blocked transfer is compliance-only"
    status: DepositAddressTransferStatus = "held" if deposit.status == "held" else "routed"
    return {
        "id": deposit.id,
        "object": "depositAddressTransfer",
        "depositAddressId": deposit_address.id,
        "customerId": deposit_address.customer_id,
        "asset": deposit.asset,
        "network": deposit.chain,
        "amount": format_amount(int(deposit.chain_amount or deposit.amount), ASSETS[deposit.asset].decimals),
        "fromAddress": deposit.from_address,
        "txHash": deposit.tx_hash,
        "blockNumber": deposit.block_number,
        "status": status,
        "holdReason": deposit.hold_reason,
        "transactionId": deposit.transaction_id,
        "createdAt": isoformat(deposit.created_at),
    }


def render_screened(deposit_address: DepositAddress, deposit: DepositAddressDeposit) -> ScreenedDepositAddressTransfer:
    """A transfer frozen by a screening hit, for operators and compliance-only endpoints."""
    return {
        "id": deposit.id,
        "object": "screenedDepositAddressTransfer",
        "tenantId": deposit.tenant_id,
        "depositAddressId": deposit_address.id,
        "customerId": deposit_address.customer_id,
        "asset": deposit.asset,
        "network": deposit.chain,
        "amount": format_amount(int(deposit.chain_amount or deposit.amount), ASSETS[deposit.asset].decimals),
        "fromAddress": deposit.from_address,
        "txHash": deposit.tx_hash,
        "blockNumber": deposit.block_number,
        "status": deposit.status,
        "transactionId": deposit.transaction_id,
        "screeningReason": deposit.screening_reason,
        "reviewedBy": deposit.reviewed_by,
        "reviewNote": deposit.review_note,
        "reviewedAt": isoformat(deposit.reviewed_at),
        "createdAt": isoformat(deposit.created_at),
    }
