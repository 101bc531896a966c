"""The fast lane's writes: ``POST /quotes`` and ``POST /transactions`` in two round trips each.

One read (the key's check, the Idempotency-Key's state and everything the rules need, in one statement) and
one write (the whole effect and the stored answer, in one statement), on the driver's own pool. Concurrent
requests go out together (``oms.kit.batch``): their reads as one statement (``oms.kit.sql.BatchedLookup``),
their writes as one statement over column arrays (``oms.kit.sql.RowsInsert``), so one round trip, one commit
and, for a hot wallet, one wait for its account's lock serve many requests (group commit).

The decisions are the services': ``QuoteService.new_quote``, ``TransactionService.check_open`` and ``plan``,
``customer.service.refusal``, the hold's legs validated by ``ledger.service.entry_rows``; the rendering too, so
the answer is the endpoint's, byte for byte. A write refuses a request by writing nothing of it (its quote no
longer open, its Idempotency-Key taken): it passes to the endpoint, which answers (a replay if the write was
made elsewhere). An overdraft is refused by the schema for the whole statement: the batch is then written
again one execution at a time, so that only the overdrawn one passes to the endpoint, which answers
``insufficient_funds``. A deadlock or any other database error rolls the whole batch back and each of its
requests passes on. tests/fastlane/test_writes.py; measured in BENCHMARKS.md.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
import orjson
from pydantic import ValidationError
from starlette.datastructures import URL
from starlette.types import Scope

from oms import API_PREFIX
from oms.audit import Actor, Entry
from oms.audit import service as audit
from oms.auth import scopes as key_scopes
from oms.customer.service import refusal
from oms.db import HotPoolClosed
from oms.errors import OMSError
from oms.fastlane import repository
from oms.fastlane.asgi import Services, bearer_claims, header
from oms.idempotency import Claim, new_record
from oms.kit.batch import Batcher
from oms.kit.logging import request_id_var
from oms.ledger import repository as ledger_repository
from oms.ledger import service as ledger
from oms.models import IdempotencyRecord, Quote, Wallet
from oms.outage import conflict, unavailable
from oms.quote.schemas import QuoteCreate
from oms.quote.service import REQUIRED, destination_wallet_id
from oms.transaction.schemas import TransactionCreate
from oms.transaction.service import HOLD, hold_legs

log = logging.getLogger("oms.fastlane")
# What passes the request on to the endpoint: its answer is the regular one.
_PASS = (OMSError, ValidationError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, HotPoolClosed)
_JSON = "application/json"
# The most requests one statement carries.
_BATCH = 32
# The audit log's actions: the endpoints' own names for these routes (OMSRoute's ``METHOD /path-template``).
_QUOTES, _TRANSACTIONS = f"{API_PREFIX}/quotes", f"{API_PREFIX}/transactions"


@dataclass(frozen=True, slots=True)
class _Request:
    key_id: str
    tenant_id: str
    now: str  # the server's time, for the key's expiry (the batched read's parameters are text)
    claim: Claim
    body: bytes
    client_address: str | None

    def audited(self, services: Services, path: str, object_id: str) -> Entry:
        """The audit log's entry for this request's success (written with it, in its batch's transaction)."""
        return services.audit.entry(
            Actor("api_key", self.key_id),
            f"POST {path}",
            tenant_id=self.tenant_id,
            object_id=object_id,
            request_id=self.claim.request_id,
            client_address=self.client_address,
            status=201,
        )


class MoneyWrites:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._quotes = services.quotes
        self._transactions = services.transactions
        # The reads of concurrent requests share one statement, and so do their writes (group commit).
        self._quote_reads = Batcher(self._read_quotes, max_size=_BATCH)
        self._execution_reads = Batcher(self._read_executions, max_size=_BATCH)
        self._creations = Batcher(self._create_quotes, max_size=_BATCH)
        self._executions = Batcher(self._execute_all, max_size=_BATCH)
        self._handlers: dict[str, Callable[[_Request], Awaitable[bytes | None]]] = {
            _QUOTES: self._quote,
            _TRANSACTIONS: self._execute,
        }

    async def answer(self, scope: Scope) -> bytes | None:
        """The new resource's body; None to let the endpoint answer. Raises ``ServiceUnavailable`` in an outage."""
        handler = self._handlers.get(scope["path"])
        if not self._services.controls.all_gated:  # a control it cannot see: the endpoints ask it
            return None
        request = self._request(scope) if handler is not None and not scope["query_string"] else None
        if handler is None or request is None:
            return None
        try:
            return await handler(request)
        except _PASS as exc:
            outage = unavailable(exc)
            if outage is not None:
                raise outage from exc
            if (state := conflict(exc)) is not None:  # the batch wrote nothing: the endpoint runs it again
                log.warning(
                    "deadlock or serialization failure; the endpoint runs the request again",
                    extra={"path": scope["path"], "sqlstate": state},
                )
            return None
        except Exception:  # a bug here must not cost the request: the endpoint answers (or replays)
            log.exception("fast lane failed; passing the request on", extra={"path": scope["path"]})
            return None

    def _request(self, scope: Scope) -> _Request | None:
        """A JSON request with a valid bearer token and a well-formed Idempotency-Key; None for anything else."""
        claims = bearer_claims(self._services.signer, header(scope, b"authorization"))
        body = scope.get("oms.body")
        content_type = (header(scope, b"content-type") or "").partition(";")[0].strip().lower()
        if claims is None or body is None or content_type != _JSON:
            return None
        try:
            claim = self._services.idempotency.claim(
                tenant_id=claims.tenant_id,
                key=header(scope, b"idempotency-key"),
                method="POST",
                path=URL(scope=scope).path,
                body=body,
                request_id=request_id_var.get(),
            )
        except OMSError:
            return None
        client = scope.get("client")
        now = self._services.clock.now().isoformat()
        return _Request(claims.key_id, claims.tenant_id, now, claim, body, client[0] if client else None)

    async def _quote(self, request: _Request) -> bytes | None:
        body = QuoteCreate.model_validate(orjson.loads(request.body))
        if self._services.controls.checks_external and destination_wallet_id(body) is None:
            return None  # an external destination is screened: the endpoint asks the controls
        row = await self._quote_reads.submit(
            (
                request.key_id, request.tenant_id, self._services.mode, request.now, request.claim.key,
                body.customerId, body.source.walletId, destination_wallet_id(body),
            )
        )  # fmt: skip
        if row is None or not self._may_move_money(row) or row["replay"] or row["controls"]:
            return None
        if self._refused(body.customerId, row):
            return None
        now = self._quotes.now_at(row["offset_ms"])
        source, destination = repository.wallet_of(row, "s_"), repository.wallet_of(row, "d_")
        quote = self._quotes.new_quote(request.tenant_id, body.customerId, body, source, destination, now)
        answer = orjson.dumps(self._quotes.render(quote, now))
        entry = request.audited(self._services, _QUOTES, quote.id)
        written = await self._creations.submit((quote, new_record(request.claim, 201, answer), entry))
        return answer if written else None

    async def _execute(self, request: _Request) -> bytes | None:
        body = TransactionCreate.model_validate(orjson.loads(request.body))
        row = await self._execution_reads.submit(
            (request.key_id, request.tenant_id, self._services.mode, request.now, request.claim.key, body.quoteId)
        )
        if row is None or not self._may_move_money(row) or row["replay"] or row["controls"]:
            return None  # a control applies (a policy, screening): the endpoint asks it
        quote = repository.quote_of(row)
        if self._services.controls.checks_external and quote.destination_wallet_id is None:
            return None  # an external destination is screened again at execution: the endpoint asks the controls
        tenant_now = self._quotes.now_at(row["offset_ms"])
        self._transactions.check_open(quote, tenant_now)
        if self._refused(quote.customer_id, row):
            return None
        accounts = {"available": row["available_id"], "held": row["held_id"]}
        source = Wallet(id=quote.source_wallet_id, address=row["source_address"], key_index=row["source_key_index"])
        recipient_id = row["recipient_customer_id"]
        execution = self._transactions.plan(request.tenant_id, body, quote, source, recipient_id, tenant_now)
        answer = orjson.dumps(execution.resource)
        written = await self._executions.submit(
            (
                repository.Execution(
                    quote_id=quote.id,
                    rows=(execution.transaction, execution.send, execution.event),
                    hold=(HOLD, ledger.entry_rows(hold_legs(quote, accounts))),
                    record=new_record(request.claim, 201, answer),
                ),
                request.audited(self._services, _TRANSACTIONS, execution.transaction.id),
            )
        )
        return answer if written else None

    @staticmethod
    def _may_move_money(row: asyncpg.Record) -> bool:
        """Whether the key holds the scope both routes need (else the endpoint answers 403)."""
        return key_scopes.covers(key_scopes.granted_by(row["key_scopes"]), key_scopes.Scope.MONEY_WRITE)

    @staticmethod
    def _refused(customer_id: str, row: asyncpg.Record) -> bool:
        """Whether the customer may not move money (the endpoint then answers why)."""
        return refusal(customer_id, row["customer_status"], row["endorsements"] or (), REQUIRED) is not None

    async def _read_quotes(self, batch: Sequence[tuple[str | None, ...]]) -> list[asyncpg.Record | None]:
        async with self._services.db.hot_connection() as connection:
            return await repository.QUOTE_CONTEXTS.fetch(connection, batch)

    async def _read_executions(self, batch: Sequence[tuple[str, ...]]) -> list[asyncpg.Record | None]:
        async with self._services.db.hot_connection() as connection:
            return await repository.EXECUTION_CONTEXTS.fetch(connection, batch)

    async def _create_quotes(self, batch: Sequence[tuple[Quote, IdempotencyRecord, Entry]]) -> list[bool]:
        async with self._services.db.hot_transaction() as connection:
            written = await repository.create_quotes(connection, [(quote, record) for quote, record, _ in batch])
            # last in the transaction: the chain head's lock is held for the commit only
            await audit.append_on(connection, [item[2] for item, done in zip(batch, written, strict=True) if done])
            return written

    async def _execute_all(self, batch: Sequence[tuple[repository.Execution, Entry]]) -> list[bool]:
        """Write the batch in one statement; if the schema refuses an overdraft, write its executions one at a
        time, so that only the overdrawn ones are refused (and pass to the endpoint). The audit log's records of
        those written follow in the same transaction, after every account's lock (one lock order)."""
        try:
            async with self._services.db.hot_transaction() as connection:
                written = await repository.execute_many(connection, [execution for execution, _ in batch])
                await audit.append_on(connection, [item[1] for item, done in zip(batch, written, strict=True) if done])
                return written
        except asyncpg.IntegrityConstraintViolationError as error:
            if ledger_repository.refusal(error) is None:
                raise
            if len(batch) == 1:
                return [False]
        return [written for execution in batch for written in await self._execute_all([execution])]
