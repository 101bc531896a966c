"""Transactions: executing a quote (funds held in the same database transaction that accepts it), and reading
them. Settling a transaction once its on-chain transfer is final is ``oms/transaction/settlement.py``'s. The
status machine: processing → completed | failed."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.service import AuthContext
from oms.chain import sender
from oms.controls import service as reviews
from oms.controls.decision import Controls, Decision, tenant_sub_status
from oms.customer.service import CustomerService
from oms.errors import Conflict, NotFound, Unprocessable
from oms.event import service as events
from oms.kit.ids import new_id
from oms.kit.pagination import PageParams, paginate
from oms.kit.time import Clock, isoformat
from oms.ledger import service as ledger
from oms.models import ChainSend, Event, Quote, Transaction, Wallet
from oms.quote.service import REQUIRED, QuoteService, money_sides, movement_of
from oms.transaction import repository, schemas
from oms.transaction.ports import ResourceExtension
from oms.transaction.schemas import TransactionCreate
from oms.wallet import repository as wallet_repository

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
    resource: schemas.Transaction


def hold_legs(quote: Quote, accounts: Mapping[str, int]) -> list[ledger.Leg]:
    """An execution's hold: the quote's gross amount from the source wallet's available account to its held one
    (``accounts``: the wallet's account ids by kind)."""
    currency = ledger.currency_of(quote.asset, quote.chain)
    return ledger.transfer_legs(currency, accounts["available"], accounts["held"], quote.source_gross)


class TransactionService:
    def __init__(
        self,
        *,
        customers: CustomerService,
        quotes: QuoteService,
        clock: Clock,
        controls: Controls | None = None,
        extensions: Sequence[ResourceExtension] = (),
    ) -> None:
        self._customers = customers
        self._quotes = quotes
        self._clock = clock
        # The checks before money leaves (policies, screening), asked again here inside the execution.
        self._controls = controls or Controls()
        # Fields other packages add to a transaction's answer (funding: where its money came from).
        self._extensions = tuple(extensions)

    # --- execute --------------------------------------------------------------------------------------

    async def execute(self, session: AsyncSession, auth: AuthContext, body: TransactionCreate) -> schemas.Transaction:
        """Accept an open quote, hold its funds and queue the on-chain transfer — all or nothing."""
        quote = await self._quotes.get_model(session, auth, body.quoteId, for_update=True, param="quoteId")
        tenant_now = await self._quotes.now(session, auth.tenant_id)
        self.check_open(quote, tenant_now)
        await self._customers.require_endorsements(session, auth, quote.customer_id, REQUIRED, param="quoteId")
        wallets = await wallet_repository.by_ids(
            session, [quote.source_wallet_id, *filter(None, [quote.destination_wallet_id])]
        )
        recipient = wallets[quote.destination_wallet_id] if quote.destination_wallet_id else None
        accounts = await ledger.wallet_account_ids(session, quote.source_wallet_id)
        source, recipient_id = wallets[quote.source_wallet_id], recipient.customer_id if recipient else None
        # The controls, in this transaction and before the hold: a check that counts locks what it counts.
        decision = await self._controls.decide(session, movement_of(quote, tenant_now, stage="execution"))
        decision.refuse_if_denied()
        execution = self.plan(auth.tenant_id, body, quote, source, recipient_id, tenant_now)
        if decision.held:
            execution = self._held(execution, decision)
        quote.status, quote.accepted_at = "accepted", execution.transaction.created_at
        session.add_all([execution.transaction, execution.send, execution.event])
        await session.flush()
        reviews.record_decision(session, execution.transaction, decision, tenant_now)
        # The hold comes last: its update locks the wallet's account row until commit, so everything else
        # is written first and concurrent payments from one wallet queue for as short a time as possible.
        # Refused (insufficient funds), it rolls the whole execution back with it.
        await ledger.post_entry(
            session, tenant_id=auth.tenant_id, kind=HOLD, reference=execution.transaction.id,
            legs=hold_legs(quote, accounts), at=execution.transaction.created_at,
        )  # fmt: skip
        return execution.resource

    def _held(self, execution: Execution, decision: Decision) -> Execution:
        """A held execution: the funds are held as for any, its send written ``held`` (never claimed by the
        sender until its reviews pass), its sub-status the hold's."""
        transaction, send = execution.transaction, execution.send
        transaction.sub_status, send.status = decision.sub_status, "held"
        resource = _resource(transaction, None, None)
        return Execution(transaction, send, self._event(transaction, resource), resource)

    async def tenant_now(self, session: AsyncSession, tenant_id: str) -> datetime:
        return await self._quotes.now(session, tenant_id)

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
        now: datetime,
    ) -> Execution:
        """The rows an execution writes and its answer, from an open quote of an endorsed customer, at ``now`` on
        the tenant's clock (the quote's clock: a transaction is never created before its quote). Its send is
        system work, on the server's clock. Shared by the endpoint and the fast lane (oms/fastlane/writes.py),
        which write them in their own ways."""
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
            at=self._clock.now(),
        )
        resource = _resource(transaction, None, None)  # new: no hash to look up, nothing funded it
        event = self._event(transaction, resource)
        return Execution(transaction, send, event, resource)

    # --- events ---------------------------------------------------------------------------------------

    async def announce(self, session: AsyncSession, transaction: Transaction) -> None:
        """Record the transaction's current state as its event, ``transaction.<type>.<status>``, carrying the
        answer ``GET /transactions/{id}`` gives (settlement and funding announce through this)."""
        session.add(self._event(transaction, (await self.render(session, [transaction]))[0]))

    def _event(self, transaction: Transaction, resource: schemas.Transaction) -> Event:
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
    ) -> schemas.Transaction:
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
    ) -> schemas.TransactionList:
        statement = repository.list_statement(
            auth.tenant_id, status=status, type=type, customer_id=customer_id, wallet_id=wallet_id
        )
        result = await paginate(session, statement, Transaction, page, scope=Transaction.tenant_id == auth.tenant_id)
        return result.listed(await self.render(session, result.items, perspective=perspective))

    async def list_for_customer(
        self,
        session: AsyncSession,
        auth: AuthContext,
        customer_id: str,
        page: PageParams,
        *,
        status: str | None,
        type: str | None,
    ) -> schemas.TransactionList:
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
    ) -> builtins.list[schemas.Transaction]:
        hashes = await repository.principal_hashes(session, [t.id for t in transactions])
        resources = [_resource(t, t.tx_hash or hashes.get(t.id), perspective) for t in transactions]
        for extension in self._extensions:
            await extension.extend(session, transactions, resources)
        return resources


def _resource(transaction: Transaction, tx_hash: str | None, perspective: str | None) -> schemas.Transaction:
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
    resource: schemas.Transaction = {
        "id": transaction.id,
        "object": "transaction",
        "type": transaction.type,
        "status": transaction.status,
        "subStatus": tenant_sub_status(transaction.sub_status),
        "quoteId": transaction.quote_id,
        "cashInId": None,
        "depositAddressId": None,
        "virtualAccountId": None,
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
        sender = transaction.sender_customer_id == perspective
        recipient = transaction.recipient_customer_id == perspective
        if sender or recipient:
            resource["role"] = "both" if sender and recipient else "sender" if sender else "recipient"
    return resource
