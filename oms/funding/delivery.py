"""Delivering funded money: the auto-created transaction, its ledger entries and its chain sends.

Fiat (a cash-in; an ACH, wire or SWIFT deposit into a virtual account), in one database transaction:

    funding.received   usd:<rail>    funding          -gross   the dollars that came in from outside
                       usd:<rail>    fees             +fee     OMS revenue
                       usd:<rail>    liquidity        +net     the dollars sold to the liquidity desk ...
                       usdc:<chain>  liquidity        -token   ... for the same value of stablecoin
                       usdc:<chain>  funding_transit  +token   on its way to the customer

and a ``funding`` chain send of ``token`` from the liquidity address to the destination. Once it is final:

    funding.delivered  usdc:<chain>  funding_transit  -token
                                     wallet available (or ``chain`` for an external address)  +token

and the transaction (and its cash-in) completes. If the send fails on chain, ``funding.reversed`` is the
exact negation of ``funding.received`` and the transaction (and cash-in) fails: in live mode the provider
returns the dollars. A wallet is credited only once its transfer is final, so the ledger equals the chain
at every moment (the reconciler's invariant).

Crypto (a deposit address), once the incoming transfer is final:

    funding.received   usdc:<chain>  chain  -amount ;  funding_transit  +amount

then a ``funding`` send of amount - fee from the deposit address to the destination and, once that is
final (``funding.delivered`` as above), a ``funding_fee`` sweep of the fee to the treasury
(``funding.fee``: funding_transit -fee ; fees +fee). A failed send of a deposit address is sent again: the
tokens are still at the address. Not at once and not forever (a send that reverts every time is a poison
row): after a pause that doubles each time, and a forward at most ``MAX_FORWARDS`` times; then
``funding.reversed`` (funding_transit -amount ; chain +amount) and the transaction fails, and the deposit is
held (``forward_failed``) at the address until the address is reactivated.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from oms.chain import sender
from oms.clock.service import TenantClock
from oms.custody.service import Custody
from oms.event import service as events
from oms.funding import repository
from oms.funding.destination import Destination
from oms.funding.fees import to_token
from oms.funding.liquidity import Liquidity
from oms.kit.ids import new_id
from oms.kit.isolation import RowFailed, isolated
from oms.kit.sql import is_postgres
from oms.kit.time import Clock
from oms.ledger import service as ledger
from oms.models import ChainSend, DepositAddress, Transaction, TransactionFunding
from oms.transaction import repository as transactions_repository
from oms.transaction.service import TREASURY_KEY, TransactionService

Listener = Callable[[AsyncSession, Transaction, TransactionFunding], Awaitable[None]]
log = logging.getLogger(__name__)
# A deposit address's send that reverted waits this long before it is sent again, doubling each time up to
# the cap; a forward is given up after this many attempts (docs/decisions.md, "Poison rows").
RESEND_PAUSE = timedelta(seconds=10)
RESEND_PAUSE_CAP = timedelta(hours=1)
MAX_FORWARDS = 5
FORWARD_FAILED = "forward_failed"


class FundingDelivery:
    def __init__(
        self,
        *,
        transactions: TransactionService,
        liquidity: Liquidity,
        custody: Custody,
        tenant_clock: TenantClock,
        clock: Clock,
    ) -> None:
        self._transactions = transactions
        self._liquidity = liquidity
        self._custody = custody
        self._tenant_clock = tenant_clock
        self._clock = clock
        self._listeners: dict[str, Listener] = {}

    def on_outcome(self, kind: str, listener: Listener) -> None:
        """Call ``listener`` when a transaction funded by ``kind`` completes or fails (cash-ins follow it)."""
        self._listeners[kind] = listener

    # --- fiat -------------------------------------------------------------------------------------------

    async def deliver_fiat(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        customer_id: str,
        destination: Destination,
        network: str,
        rail: str,
        gross: int,
        fee: int,
        kind: str,
        cash_in_id: str | None = None,
        virtual_account_id: str | None = None,
        details: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Transaction:
        """Book ``gross`` cents received on ``network``, convert what is left after ``fee`` and queue it."""
        net = gross - fee
        assert net > 0, "callers refuse amounts that do not cover the fee"
        token_gross, token_fee, token_net = (to_token(v, destination.asset) for v in (gross, fee, net))
        # Two entries (dollars, then stablecoin): their accounts are locked together first (one sweep).
        dollars, token = ledger.currency_of("usd", network), ledger.currency_of(destination.asset, destination.chain)
        system = [(tenant_id, dollars, kind) for kind in _FIAT_KINDS]
        system += [(tenant_id, token, kind) for kind in ("liquidity", "funding_transit")]
        await ledger.lock_accounts(session, system=system, at=self._clock.now())
        # One read of the liquidity key: the address minted to (on a development chain) is the one sent from.
        index, address = await self._liquidity.source(session)
        await self._liquidity.ensure(
            session, chain=destination.chain, asset=destination.asset, amount=token_net, address=address
        )
        transaction = await self._new_transaction(
            session,
            TransactionFunding(
                tenant_id=tenant_id,
                kind=kind,
                cash_in_id=cash_in_id,
                virtual_account_id=virtual_account_id,
                deposit_address_id=None,
                source_asset="usd",
                source_network=network,
                rail=rail,
                source_gross=gross,
                fee=fee,
                details=details or {},
            ),
            customer_id=customer_id,
            type="fiatToCrypto",
            destination=destination,
            gross=token_gross,
            fee=token_fee,
            net=token_net,
            metadata=metadata,
        )
        await self._post(
            session,
            tenant_id,
            "funding.received",
            transaction.id,
            _fiat_legs(gross, fee),
            currency=ledger.currency_of("usd", network),
        )
        await self._post(
            session,
            tenant_id,
            "funding.received",
            transaction.id,
            [("liquidity", -token_net), ("funding_transit", token_net)],
            currency=ledger.currency_of(destination.asset, destination.chain),
        )
        session.add(self._send(transaction, "funding", index, address, destination.address, token_net))
        await self._emit(session, transaction)
        return transaction

    # --- crypto (deposit addresses) ---------------------------------------------------------------------

    async def route_crypto(
        self,
        session: AsyncSession,
        *,
        deposit_address: DepositAddress,
        amount: int,
        fee: int,
        details: dict[str, Any],
    ) -> Transaction:
        """Forward a final deposit (``amount`` in the token's unit) to the address's destination."""
        net = amount - fee
        assert net > 0, "callers hold deposits that do not cover the fee"
        destination = Destination(
            deposit_address.asset,
            deposit_address.chain,
            deposit_address.destination_wallet_id,
            deposit_address.destination_address,
        )
        transaction = await self._new_transaction(
            session,
            TransactionFunding(
                tenant_id=deposit_address.tenant_id,
                kind="depositAddress",
                cash_in_id=None,
                virtual_account_id=None,
                deposit_address_id=deposit_address.id,
                source_asset=deposit_address.asset,
                source_network=deposit_address.chain,
                rail="crypto",
                source_gross=amount,
                fee=fee,
                details=details,
            ),
            customer_id=deposit_address.customer_id,
            type="cryptoToCrypto",
            destination=destination,
            gross=amount,
            fee=fee,
            net=net,
            metadata=None,
        )
        await self._post(
            session,
            deposit_address.tenant_id,
            "funding.received",
            transaction.id,
            [("chain", -amount), ("funding_transit", amount)],
            currency=ledger.currency_of(deposit_address.asset, deposit_address.chain),
        )
        session.add(
            self._send(
                transaction, "funding", deposit_address.key_index, deposit_address.address, destination.address, net
            )
        )
        await self._emit(session, transaction)
        return transaction

    # --- settlement -------------------------------------------------------------------------------------

    async def settle_final_sends(self, session: AsyncSession, *, limit: int = 100) -> int:
        """Apply every final (confirmed or failed) funding send (one of ``TransactionService.settlements``), in
        the lock order of every settlement: the sends claimed, their transactions in id order, every ledger
        account the batch posts to in one sweep, then each send in a savepoint of its own."""
        now = self._clock.now()
        sends = await repository.unsettled_sends(session, limit=limit, skip_locked=is_postgres(session), now=now)
        transactions = await transactions_repository.lock_many(session, [(s.tenant_id, s.reference) for s in sends])
        fundings = await repository.by_transaction(session, [send.reference for send in sends])
        await ledger.lock_accounts(session, **_accounts_of(transactions.values(), fundings), at=now)
        settled = 0
        for send in sends:
            send_id = send.id
            settle = partial(self._settle, session, send, transactions.get(send.reference), fundings)
            try:
                await isolated(session, "funding-settlement", send_id, settle)
                settled += 1
            except RowFailed as failed:
                await sender.postpone(session, send_id, str(failed), now)
        return settled

    async def _settle(
        self,
        session: AsyncSession,
        send: ChainSend,
        transaction: Transaction | None,
        fundings: dict[str, TransactionFunding],
    ) -> None:
        if transaction is None:
            raise LookupError(f"send {send.id} has no transaction")
        funding = fundings.get(transaction.id)
        if funding is None:
            raise LookupError(f"transaction {transaction.id} has no funding row")
        confirmed = send.status == "confirmed"
        if send.purpose == "funding" and confirmed:
            await self._delivered(session, transaction, funding, send)
        elif send.purpose == "funding" and funding.kind == "depositAddress":
            await self._forward_failed(session, transaction, funding, send)
        elif send.purpose == "funding":
            await self._fiat_failed(session, transaction, funding, send)
        elif confirmed:
            await self._fee_collected(session, transaction, funding)
        else:
            failures = await repository.failed_sends(session, transaction.id, "funding_fee")
            log.warning(
                "deposit-address fee sweep reverted on chain; sent again later",
                extra={"transaction": transaction.id, "send": send.id, "failures": failures},
            )
            await self._resend(session, transaction, funding, "funding_fee", transaction.fee, pause=_pause(failures))
        send.settled = True

    async def _forward_failed(
        self, session: AsyncSession, transaction: Transaction, funding: TransactionFunding, send: ChainSend
    ) -> None:
        """A deposit address's forward reverted: send it again after a pause, or, after ``MAX_FORWARDS``, give
        up — the received amount goes back to the chain account, the transaction fails, and the deposit
        address's listener holds the deposit (its tokens are still at the address)."""
        failures = await repository.failed_sends(session, transaction.id, "funding")
        extra = {"transaction": transaction.id, "send": send.id, "failures": failures}
        if failures < MAX_FORWARDS:
            log.warning("deposit-address forward reverted on chain; sent again later", extra=extra)
            await self._resend(
                session, transaction, funding, "funding", transaction.destination_net, pause=_pause(failures)
            )
            return
        log.error("deposit-address forward reverted every time; given up, the deposit is held", extra=extra)
        await self._post(
            session,
            transaction.tenant_id,
            "funding.reversed",
            transaction.id,
            [("funding_transit", -transaction.source_gross), ("chain", transaction.source_gross)],
            currency=ledger.currency_of(transaction.asset, transaction.chain),
        )
        message = (
            f"The forward reverted on chain {failures} times; the tokens stay at the deposit address, "
            "held until the address is reactivated."
        )
        await self._fail(session, transaction, funding, send, FORWARD_FAILED, message)

    async def _delivered(
        self, session: AsyncSession, transaction: Transaction, funding: TransactionFunding, send: ChainSend
    ) -> None:
        currency = ledger.currency_of(transaction.asset, transaction.chain)
        transit = await self._account(session, transaction.tenant_id, currency, "funding_transit")
        if transaction.destination_wallet_id:
            target = (await ledger.wallet_account_ids(session, transaction.destination_wallet_id))["available"]
        else:
            target = await self._account(session, transaction.tenant_id, currency, "chain")
        await ledger.move(
            session,
            tenant_id=transaction.tenant_id,
            kind="funding.delivered",
            reference=transaction.id,
            currency=currency,
            source=transit,
            target=target,
            amount=transaction.destination_net,
            at=self._clock.now(),
        )
        transaction.tx_hash = send.tx_hash
        if funding.kind == "depositAddress" and transaction.fee:
            transaction.sub_status = "collectingFee"
            await self._resend(session, transaction, funding, "funding_fee", transaction.fee)
            await self._touch(session, transaction, emit=False)
            return
        await self._finish(session, transaction, funding, "completed")

    async def _fee_collected(
        self, session: AsyncSession, transaction: Transaction, funding: TransactionFunding
    ) -> None:
        await self._post(
            session,
            transaction.tenant_id,
            "funding.fee",
            transaction.id,
            [("funding_transit", -transaction.fee), ("fees", transaction.fee)],
            currency=ledger.currency_of(transaction.asset, transaction.chain),
        )
        await self._finish(session, transaction, funding, "completed")

    async def _fiat_failed(
        self, session: AsyncSession, transaction: Transaction, funding: TransactionFunding, send: ChainSend
    ) -> None:
        reversed_legs = [(kind, -amount) for kind, amount in _fiat_legs(funding.source_gross, funding.fee)]
        await self._post(
            session,
            transaction.tenant_id,
            "funding.reversed",
            transaction.id,
            reversed_legs,
            currency=ledger.currency_of("usd", funding.source_network),
        )
        await self._post(
            session,
            transaction.tenant_id,
            "funding.reversed",
            transaction.id,
            [("funding_transit", -transaction.destination_net), ("liquidity", transaction.destination_net)],
            currency=ledger.currency_of(transaction.asset, transaction.chain),
        )
        message = send.last_error or "The stablecoin could not be delivered on chain; the deposit is returned."
        await self._fail(session, transaction, funding, send, "chain_transaction_failed", message)

    async def _fail(
        self,
        session: AsyncSession,
        transaction: Transaction,
        funding: TransactionFunding,
        send: ChainSend,
        code: str,
        message: str,
    ) -> None:
        """The funded transaction fails with the send that ended it (its ledger reversal already posted)."""
        transaction.tx_hash = send.tx_hash
        transaction.error = {"code": code, "message": message}
        await self._finish(session, transaction, funding, "failed")

    async def _resend(
        self,
        session: AsyncSession,
        transaction: Transaction,
        funding: TransactionFunding,
        purpose: str,
        amount: int,
        *,
        pause: timedelta = timedelta(),
    ) -> None:
        """Queue a deposit address's forward (again) or its fee sweep, to be sent after ``pause``; the tokens are
        at the address."""
        deposit_address = await session.get(DepositAddress, funding.deposit_address_id)
        assert deposit_address is not None
        if purpose == "funding":
            to_address = transaction.destination_address or deposit_address.destination_address
        else:
            _, to_address = await self._custody.system_key(session, TREASURY_KEY)
        source = deposit_address.address
        resend = self._send(transaction, purpose, deposit_address.key_index, source, to_address, amount)
        resend.next_check_at += pause
        session.add(resend)
        if purpose == "funding":
            transaction.sub_status = "retrying"
            await self._touch(session, transaction, emit=False)

    async def _finish(
        self, session: AsyncSession, transaction: Transaction, funding: TransactionFunding, status: str
    ) -> None:
        now = await self._tenant_clock.now(session, transaction.tenant_id)
        transaction.status = status
        if status == "completed":
            transaction.sub_status, transaction.completed_at = "settled", now
        else:
            transaction.sub_status = "chainTransactionFailed"
        await self._touch(session, transaction)
        listener = self._listeners.get(funding.kind)
        if listener is not None:
            await listener(session, transaction, funding)

    # --- helpers ----------------------------------------------------------------------------------------

    async def _new_transaction(
        self,
        session: AsyncSession,
        funding: TransactionFunding,
        *,
        customer_id: str,
        type: str,
        destination: Destination,
        gross: int,
        fee: int,
        net: int,
        metadata: dict[str, Any] | None,
    ) -> Transaction:
        """The auto-created transaction, and ``funding`` (where its money came from) linked to it."""
        tenant_id = funding.tenant_id
        now = await self._tenant_clock.now(session, tenant_id)
        transaction = Transaction(
            id=new_id("txn"),
            tenant_id=tenant_id,
            type=type,
            status="processing",
            sub_status="fundsReceived",
            quote_id=None,
            # Funded money belongs to the customer on both sides (spec: "the sender for cash/fiat rails").
            sender_customer_id=customer_id,
            recipient_customer_id=customer_id,
            source_wallet_id=None,
            destination_wallet_id=destination.wallet_id,
            destination_address=destination.address,
            asset=destination.asset,
            chain=destination.chain,
            fixed_side="source",
            source_gross=gross,
            fee=fee,
            destination_net=net,
            tx_hash=None,
            error=None,
            request={},
            metadata_=dict(metadata or {}),
            version=1,
            created_at=now,
            updated_at=now,
            completed_at=None,
        )
        session.add(transaction)
        await session.flush()
        funding.transaction_id, funding.created_at = transaction.id, now
        session.add(funding)
        await session.flush()
        return transaction

    def _send(
        self, transaction: Transaction, purpose: str, from_index: int, from_address: str, to_address: str, amount: int
    ) -> ChainSend:
        return sender.new_send(
            tenant_id=transaction.tenant_id,
            purpose=purpose,
            reference=transaction.id,
            chain=transaction.chain,
            asset=transaction.asset,
            from_address=from_address,
            from_key_index=from_index,
            to_address=to_address,
            amount=amount,
            # An OMS wallet is credited by settlement, so the deposit scanner must not credit it again.
            to_wallet_id=transaction.destination_wallet_id if purpose == "funding" else None,
            at=self._clock.now(),
        )

    async def _post(
        self,
        session: AsyncSession,
        tenant_id: str,
        kind: str,
        reference: str,
        legs: list[tuple[str, int]],
        *,
        currency: str,
    ) -> None:
        """One balanced entry over the tenant's system accounts."""
        resolved = [
            ledger.Leg(await self._account(session, tenant_id, currency, name), currency, amount)
            for name, amount in legs
            if amount
        ]
        await ledger.post_entry(
            session, tenant_id=tenant_id, kind=kind, reference=reference, at=self._clock.now(), legs=resolved
        )

    async def _account(self, session: AsyncSession, tenant_id: str, currency: str, kind: str) -> int:
        return await ledger.system_account(
            session, tenant_id=tenant_id, currency=currency, kind=kind, at=self._clock.now()
        )

    async def _touch(self, session: AsyncSession, transaction: Transaction, *, emit: bool = True) -> None:
        transaction.version += 1
        transaction.updated_at = await self._tenant_clock.now(session, transaction.tenant_id)
        await session.flush()
        if emit:
            await self._emit(session, transaction)

    async def _emit(self, session: AsyncSession, transaction: Transaction) -> None:
        resource = (await self._transactions.render(session, [transaction]))[0]
        await events.record(
            session,
            tenant_id=transaction.tenant_id,
            type=f"transaction.{transaction.type}.{transaction.status}",
            object_id=transaction.id,
            resource=resource,
            at=self._clock.now(),
            sequence=transaction.version,
        )


_FIAT_KINDS = ("funding", "liquidity", "fees")  # the dollar side's accounts
_TOKEN_KINDS = ("funding_transit", "chain", "fees", "liquidity")  # what settling a delivery may post to


def _accounts_of(transactions: Iterable[Transaction], fundings: dict[str, TransactionFunding]) -> dict[str, Any]:
    """``ledger.lock_accounts``' arguments for settling these funded transactions: their destination wallets'
    accounts and every system account a delivery, a fee sweep or a reversal of theirs may post to."""
    wallets = {t.destination_wallet_id for t in transactions if t.destination_wallet_id is not None}
    system = set()
    for t in transactions:
        token = ledger.currency_of(t.asset, t.chain)
        system |= {(t.tenant_id, token, kind) for kind in _TOKEN_KINDS}
        funding = fundings.get(t.id)
        if funding is not None and funding.source_asset == "usd":
            dollars = ledger.currency_of("usd", funding.source_network)
            system |= {(t.tenant_id, dollars, kind) for kind in _FIAT_KINDS}
    return {"wallet_ids": wallets, "system": system}


def _fiat_legs(gross: int, fee: int) -> list[tuple[str, int]]:
    """The dollar side of ``funding.received``: in from outside, fee to revenue, the rest to liquidity (a zero
    fee's leg is dropped by ``_post``, like any zero leg)."""
    return [("funding", -gross), ("liquidity", gross - fee), ("fees", fee)]


def _pause(failures: int) -> timedelta:
    """Before the next send of a deposit address after ``failures`` reverted ones: 10 s, 20 s, 40 s … 1 h."""
    return min(RESEND_PAUSE_CAP, RESEND_PAUSE * (1 << min(max(failures - 1, 0), 16)))
