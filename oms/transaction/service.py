"""Transactions: executing a quote (funds held in the same database transaction that accepts it), and
settling it once its on-chain transfer is final. The status machine: processing → completed | failed."""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.service import AuthContext
from oms.chain import sender
from oms.custody.service import Custody
from oms.customer.service import CustomerService
from oms.errors import Conflict, NotFound, Unprocessable
from oms.event import service as events
from oms.funding import repository as funding_repository
from oms.funding.render import with_funding
from oms.kit.ids import new_id
from oms.kit.isolation import RowFailed, isolated
from oms.kit.pagination import PageParams, paginate
from oms.kit.sql import is_postgres
from oms.kit.time import Clock, isoformat
from oms.ledger import service as ledger
from oms.models import ChainSend, Event, Quote, Transaction, Wallet
from oms.quote.service import REQUIRED, QuoteService, money_sides
from oms.transaction import repository, schemas
from oms.transaction.schemas import TransactionCreate
from oms.wallet import repository as wallet_repository

TREASURY_KEY = "treasury"
HOLD = "transfer.hold"  # the ledger entry that reserves an execution's funds
_ECHOED = (
    "deviceFingerprint",
    "webSessionId",
    "paymentMethodId",
    "sourceWalletAddress",
    "partnerTransactionId",
    "tags",
)


@dataclass(frozen=True, slots=True)
class Execution:
    """What executing a quote writes (besides accepting the quote and holding its funds) and answers."""

    transaction: Transaction
    send: ChainSend
    event: Event
    resource: dict[str, Any]


def hold_legs(quote: Quote, accounts: Mapping[str, int]) -> list[ledger.Leg]:
    """An execution's hold: the quote's gross amount from the source wallet's available account to its held one
    (``accounts``: the wallet's account ids by kind)."""
    currency = ledger.currency_of(quote.asset, quote.chain)
    return ledger.transfer_legs(currency, accounts["available"], accounts["held"], quote.source_gross)


class TransactionService:
    def __init__(self, *, customers: CustomerService, quotes: QuoteService, custody: Custody, clock: Clock) -> None:
        self._customers = customers
        self._quotes = quotes
        self._custody = custody
        self._clock = clock
        # Settlers of other sends (funding deliveries): ``settlements`` lists them after its own.
        self._settlers: list[Callable[..., Awaitable[int]]] = []

    def add_settler(self, settle: Callable[..., Awaitable[int]]) -> None:
        """``settle(session, limit=…)`` applies another purpose's final sends; returns how many."""
        self._settlers.append(settle)

    # --- execute --------------------------------------------------------------------------------------

    async def execute(self, session: AsyncSession, auth: AuthContext, body: TransactionCreate) -> dict[str, Any]:
        """Accept an open quote, hold its funds and queue the on-chain transfer — all or nothing."""
        quote = await self._quotes.get_model(session, auth, body.quoteId, for_update=True, param="quoteId")
        self.check_open(quote, await self._quotes.now(session, auth.tenant_id))
        await self._customers.require_endorsements(session, auth, quote.customer_id, REQUIRED, param="quoteId")
        wallets = await wallet_repository.by_ids(
            session, [quote.source_wallet_id, *filter(None, [quote.destination_wallet_id])]
        )
        recipient = wallets[quote.destination_wallet_id] if quote.destination_wallet_id else None
        accounts = await ledger.wallet_account_ids(session, quote.source_wallet_id)
        execution = self.plan(
            auth.tenant_id, body, quote, wallets[quote.source_wallet_id], recipient.customer_id if recipient else None
        )
        quote.status, quote.accepted_at = "accepted", execution.transaction.created_at
        session.add_all([execution.transaction, execution.send, execution.event])
        await session.flush()
        # The hold comes last: its update locks the wallet's account row until commit, so everything else
        # is written first and concurrent payments from one wallet queue for as short a time as possible.
        # Refused (insufficient funds), it rolls the whole execution back with it.
        await ledger.post_entry(
            session, tenant_id=auth.tenant_id, kind=HOLD, reference=execution.transaction.id,
            legs=hold_legs(quote, accounts), at=execution.transaction.created_at,
        )  # fmt: skip
        return execution.resource

    def check_open(self, quote: Quote, tenant_now: datetime) -> None:
        """409 for an executed quote, 422 for an expired one (on the tenant's clock)."""
        status = self._quotes.status_of(quote, tenant_now)
        if status == "accepted":
            raise Conflict("quote_not_open", f"Quote '{quote.id}' was already executed.", param="quoteId")
        if status == "expired":
            raise Unprocessable(
                "quote_expired", f"Quote '{quote.id}' expired at {isoformat(quote.expires_at)}.", param="quoteId"
            )

    def plan(
        self,
        tenant_id: str,
        body: TransactionCreate,
        quote: Quote,
        source: Wallet,
        recipient_customer_id: str | None,
    ) -> Execution:
        """The rows an execution writes and its answer, from an open quote of an endorsed customer. Shared by the
        endpoint and the fast lane (oms/fastlane/writes.py), which write them in their own ways."""
        now = self._clock.now()
        transaction = Transaction(
            id=new_id("txn"),
            tenant_id=tenant_id,
            type=quote.type,
            status="processing",
            sub_status="fundsHeld",
            quote_id=quote.id,
            sender_customer_id=quote.customer_id,
            recipient_customer_id=recipient_customer_id,
            source_wallet_id=source.id,
            destination_wallet_id=quote.destination_wallet_id,
            destination_address=quote.destination_address,
            asset=quote.asset,
            chain=quote.chain,
            fixed_side=quote.fixed_side,
            source_gross=quote.source_gross,
            fee=quote.fee,
            destination_net=quote.destination_net,
            tx_hash=None,
            error=None,
            request={key: value for key, value in body.model_dump(exclude_none=True).items() if key in _ECHOED},
            metadata_={**quote.metadata_, **(body.metadata or {})},
            version=1,
            created_at=now,
            updated_at=now,
            completed_at=None,
        )
        send = sender.new_send(
            tenant_id=tenant_id,
            purpose="transfer",
            reference=transaction.id,
            chain=quote.chain,
            asset=quote.asset,
            from_address=source.address,
            from_key_index=source.key_index,
            to_address=quote.destination_address,
            amount=quote.destination_net,
            to_wallet_id=quote.destination_wallet_id,
            at=now,
        )
        resource = with_funding(_resource(transaction, None, None), None)  # new: no hash or funding to look up
        event = self._event(transaction, resource)
        return Execution(transaction, send, event, resource)

    # --- settle ---------------------------------------------------------------------------------------

    def settlements(self) -> list[Callable[[AsyncSession], Awaitable[int]]]:
        """Every settlement of final sends (this one, then the funding deliveries'), each to run in a database
        transaction of its own: each locks the ledger accounts it posts to in one sweep (docs/decisions.md,
        "Lock order"), and a second sweep in the same transaction would take accounts out of order."""
        return [self.settle_final_sends, *self._settlers]

    async def settle_final_sends(self, session: AsyncSession, *, limit: int = 100) -> int:
        """Apply every final (confirmed or failed) transfer to its transaction and the ledger. The lock order:
        the sends (claimed, never waited for), their transactions in id order, then every ledger account the
        batch posts to, in one sweep; only then is each send applied, in a savepoint of its own."""
        now = self._clock.now()
        sends = await repository.unsettled_sends(session, limit=limit, skip_locked=is_postgres(session), now=now)
        transactions = await repository.lock_many(session, [(send.tenant_id, send.reference) for send in sends])
        await ledger.lock_accounts(session, **_accounts_of(transactions.values()), at=now)
        settled = 0
        for send in sends:
            send_id = send.id
            settle = partial(self._settle, session, send, transactions.get(send.reference))
            try:
                await isolated(session, "transaction-settlement", send_id, settle)
                settled += 1
            except RowFailed as failed:
                await sender.postpone(session, send_id, str(failed), now)
        return settled

    async def _settle(self, session: AsyncSession, send: ChainSend, transaction: Transaction | None) -> None:
        if transaction is None:
            raise LookupError(f"send {send.id} has no transaction")
        if send.purpose == "transfer" and send.status == "confirmed":
            await self._delivered(session, transaction, send)
        elif send.purpose == "transfer":
            await self._failed(session, transaction, send)
        elif send.status == "confirmed":
            await self._fee_collected(session, transaction, send)
        else:
            await self._queue_fee(session, transaction)  # the fee sweep reverted: sweep it again
        send.settled = True

    async def _delivered(self, session: AsyncSession, transaction: Transaction, send: ChainSend) -> None:
        now = self._clock.now()
        currency = ledger.currency_of(transaction.asset, transaction.chain)
        held = (await ledger.wallet_account_ids(session, str(transaction.source_wallet_id)))["held"]
        if transaction.destination_wallet_id:
            target = (await ledger.wallet_account_ids(session, transaction.destination_wallet_id))["available"]
        else:
            target = await ledger.system_account(
                session, tenant_id=transaction.tenant_id, currency=currency, kind="chain", at=now
            )
        await self._move(session, transaction, "transfer.settle", held, target, transaction.destination_net)
        transaction.tx_hash = send.tx_hash
        if transaction.fee:
            transaction.sub_status = "collectingFee"
            await self._queue_fee(session, transaction)
            await self._touch(session, transaction, emit=False)
        else:
            await self._complete(session, transaction)

    async def _fee_collected(self, session: AsyncSession, transaction: Transaction, send: ChainSend) -> None:
        now = self._clock.now()
        currency = ledger.currency_of(transaction.asset, transaction.chain)
        held = (await ledger.wallet_account_ids(session, str(transaction.source_wallet_id)))["held"]
        fees = await ledger.system_account(
            session, tenant_id=transaction.tenant_id, currency=currency, kind="fees", at=now
        )
        await self._move(session, transaction, "transfer.fee", held, fees, send.amount)
        await self._complete(session, transaction)

    async def _queue_fee(self, session: AsyncSession, transaction: Transaction) -> None:
        """The fee moves on chain too (to the treasury), so every address's balance matches the ledger."""
        source = await session.get(Wallet, transaction.source_wallet_id)
        assert source is not None
        _, treasury = await self._custody.system_key(session, TREASURY_KEY)
        session.add(
            sender.new_send(
                tenant_id=transaction.tenant_id,
                purpose="fee",
                reference=transaction.id,
                chain=transaction.chain,
                asset=transaction.asset,
                from_address=source.address,
                from_key_index=source.key_index,
                to_address=treasury,
                amount=transaction.fee,
                to_wallet_id=None,
                at=self._clock.now(),
            )
        )

    async def _failed(self, session: AsyncSession, transaction: Transaction, send: ChainSend) -> None:
        accounts = await ledger.wallet_account_ids(session, str(transaction.source_wallet_id))
        await self._move(
            session, transaction, "transfer.release", accounts["held"], accounts["available"], transaction.source_gross
        )
        transaction.status, transaction.sub_status, transaction.tx_hash = (
            "failed",
            "chainTransactionFailed",
            send.tx_hash,
        )
        transaction.error = {
            "code": "chain_transaction_failed",
            "message": send.last_error or "The on-chain transfer failed; the funds were released.",
        }
        await self._touch(session, transaction)

    async def _move(
        self, session: AsyncSession, transaction: Transaction, kind: str, source: int, target: int, amount: int
    ) -> None:
        await ledger.move(
            session, tenant_id=transaction.tenant_id, kind=kind, reference=transaction.id,
            currency=ledger.currency_of(transaction.asset, transaction.chain), source=source, target=target,
            amount=amount, at=self._clock.now(),
        )  # fmt: skip

    async def _complete(self, session: AsyncSession, transaction: Transaction) -> None:
        transaction.status, transaction.sub_status = "completed", "settled"
        transaction.completed_at = self._clock.now()
        await self._touch(session, transaction)

    async def _touch(self, session: AsyncSession, transaction: Transaction, *, emit: bool = True) -> None:
        transaction.version += 1
        transaction.updated_at = self._clock.now()
        await session.flush()
        if emit:
            await self._emit(session, transaction, (await self.render(session, [transaction]))[0])

    async def _emit(self, session: AsyncSession, transaction: Transaction, resource: dict[str, Any]) -> None:
        session.add(self._event(transaction, resource))

    def _event(self, transaction: Transaction, resource: dict[str, Any]) -> Event:
        return events.new_event(
            tenant_id=transaction.tenant_id,
            type=f"transaction.{transaction.type}.{transaction.status}",
            object_id=transaction.id,
            resource=resource,
            at=self._clock.now(),
            sequence=transaction.version,
        )

    # --- queries --------------------------------------------------------------------------------------

    async def get(
        self, session: AsyncSession, auth: AuthContext, transaction_id: str, *, perspective: str | None = None
    ) -> dict[str, Any]:
        transaction = await repository.get(session, auth.tenant_id, transaction_id)
        if transaction is None:
            raise NotFound.resource("transaction", transaction_id)
        return (await self.render(session, [transaction], perspective=perspective))[0]

    async def list(
        self,
        session: AsyncSession,
        auth: AuthContext,
        page: PageParams,
        *,
        status: str | None,
        type: str | None,
        customer_id: str | None,
        wallet_id: str | None,
        perspective: str | None = None,
    ) -> dict[str, Any]:
        statement = repository.list_statement(
            auth.tenant_id, status=status, type=type, customer_id=customer_id, wallet_id=wallet_id
        )
        result = await paginate(session, statement, Transaction, page, scope=Transaction.tenant_id == auth.tenant_id)
        return result.envelope(await self.render(session, result.items, perspective=perspective))

    async def list_for_customer(
        self,
        session: AsyncSession,
        auth: AuthContext,
        customer_id: str,
        page: PageParams,
        *,
        status: str | None,
        type: str | None,
    ) -> dict[str, Any]:
        customer = await self._customers.get_model(session, auth, customer_id)
        return await self.list(
            session,
            auth,
            page,
            status=status,
            type=type,
            customer_id=customer.id,
            wallet_id=None,
            perspective=customer.id,
        )

    async def render(
        self, session: AsyncSession, transactions: Sequence[Transaction], *, perspective: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        hashes = await repository.principal_hashes(session, [t.id for t in transactions])
        funding = await funding_repository.by_transaction(session, [t.id for t in transactions])
        return [
            with_funding(_resource(t, t.tx_hash or hashes.get(t.id), perspective), funding.get(t.id))
            for t in transactions
        ]


def _accounts_of(transactions: Iterable[Transaction]) -> dict[str, Any]:
    """``ledger.lock_accounts``' arguments for settling these transactions: the accounts of their wallets and
    their tenants' chain and fee accounts in their currencies."""
    wallets = {w for t in transactions for w in (t.source_wallet_id, t.destination_wallet_id) if w is not None}
    currencies = {(t.tenant_id, ledger.currency_of(t.asset, t.chain)) for t in transactions}
    system = {(tenant, currency, kind) for tenant, currency in currencies for kind in ("chain", "fees")}
    return {"wallet_ids": wallets, "system": system}


def _resource(transaction: Transaction, tx_hash: str | None, perspective: str | None) -> dict[str, Any]:
    sides = money_sides(
        asset=transaction.asset,
        chain=transaction.chain,
        source_wallet_id=transaction.source_wallet_id,
        source_gross=transaction.source_gross,
        fee=transaction.fee,
        destination_net=transaction.destination_net,
        destination_wallet_id=transaction.destination_wallet_id,
        destination_address=transaction.destination_address,
    )
    destination: schemas.TransactionDestination = {**sides["destination"], "txHash": tx_hash}
    resource: dict[str, Any] = {
        "id": transaction.id,
        "object": "transaction",
        "type": transaction.type,
        "status": transaction.status,
        "subStatus": transaction.sub_status,
        "quoteId": transaction.quote_id,
        "cashInId": None,
        "depositAddressId": None,
        "source": sides["source"],
        "destination": destination,
        "rates": sides["rates"],
        "fixedAmountSide": transaction.fixed_side,
        "rail": "crypto",
        "senderCustomerId": transaction.sender_customer_id,
        "developerFees": [],
        "sponsorGasCost": "0",
        "partnerTransactionId": transaction.request.get("partnerTransactionId"),
        "tags": transaction.request.get("tags"),
        "metadata": transaction.metadata_,
        "createdAt": isoformat(transaction.created_at),
        "updatedAt": isoformat(transaction.updated_at),
        "completedAt": isoformat(transaction.completed_at),
    }
    if transaction.recipient_customer_id is not None:
        resource["recipientCustomerId"] = transaction.recipient_customer_id
    if transaction.error is not None:
        resource["error"] = transaction.error
    if perspective is not None:
        roles = {
            role
            for role, customer in (
                ("sender", transaction.sender_customer_id),
                ("recipient", transaction.recipient_customer_id),
            )
            if customer == perspective
        }
        if roles:
            resource["role"] = "both" if len(roles) == 2 else roles.pop()
    return resource
