"""The hot path for money: ``POST /quotes`` and ``POST /transactions`` in two round trips each.

On PostgreSQL this pure ASGI layer serves the well-formed, authorised, successful request with one read (the
key's check, the Idempotency-Key's state and everything the rules need, in one statement) and one write (the
whole effect and the stored answer in one statement), on the driver's own pool. Concurrent requests go out
together (``oms.kit.batch``): their reads as one statement (``oms.kit.sql.BatchedLookup``), and their writes
as one statement over column arrays (``oms.kit.sql.RowsInsert``), so one round trip, one commit and, for a
hot wallet, one wait for its account's lock serve many requests (group commit). A write refuses a request by
writing nothing of it rather than by raising, so each is judged on its own within its batch.
The rules are the services' own (``QuoteService.new_quote``, ``TransactionService.check_open`` and ``plan``,
``customer.service.refusal``) and so is the rendering, so the answer is the endpoint's, byte for byte.

It never answers anything but that success. Everything else passes, untouched, to the regular endpoint,
which gives the answer, errors included: no or a bad token, a revoked key, a body the schema refuses, a rule
that refuses, an Idempotency-Key already used (the endpoint replays it), a quote executed or funds spent
between the read and the write (the write's guards, checked under lock, leave nothing written), a database
error (it rolls back the whole batch, and each of its requests passes on: after a deadlock, that is the retry),
SQLite, even a bug here (logged).
The one exception is an outage (``oms.outage``: the database unreachable or out of time): that is answered
503 here, at once, rather than waiting for the same database a second time in the endpoint.
So there is one source of truth for every error, and nothing is written twice: each write carries its stored
answer (whatever happened, the endpoint's answer is right, a replay if the write was made), and of concurrent
twins with one key, only the first to claim it writes.
tests/transaction/test_hot_writes.py; measured in BENCHMARKS.md.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import orjson
from pydantic import ValidationError
from starlette.datastructures import URL
from starlette.types import ASGIApp, Receive, Scope, Send

from oms import API_PREFIX
from oms.context import AppContext
from oms.customer.service import refusal
from oms.db import HotPoolClosed
from oms.errors import OMSError
from oms.hotpath import bearer_claims, header, send_error, send_json
from oms.idempotency import Claim, new_record, prepare
from oms.kit.batch import Batcher
from oms.kit.logging import request_id_var
from oms.ledger import service as ledger
from oms.models import IdempotencyRecord, Quote, Wallet
from oms.outage import conflict, unavailable
from oms.quote import repository as quotes
from oms.quote.schemas import QuoteCreate
from oms.quote.service import REQUIRED, destination_wallet_id
from oms.transaction import repository as transactions
from oms.transaction.schemas import TransactionCreate
from oms.transaction.service import HOLD, hold_legs

log = logging.getLogger("oms.hotwrites")
# What passes the request on to the endpoint: its answer is the regular one.
_PASS = (OMSError, ValidationError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, HotPoolClosed)
_JSON = "application/json"
# The most requests one statement carries.
_BATCH = 32


@dataclass(frozen=True, slots=True)
class _Request:
    key_id: str
    tenant_id: str
    claim: Claim
    body: bytes


class HotWrites:
    def __init__(self, app: ASGIApp, *, ctx: AppContext) -> None:
        self.app = app
        self._ctx = ctx
        self._mode = ctx.settings.mode.value
        self._ttl = timedelta(seconds=ctx.settings.idempotency_ttl_seconds)
        # The reads of concurrent requests share one statement, and so do their writes (group commit).
        self._quote_reads = Batcher(self._read_quotes, max_size=_BATCH)
        self._execution_reads = Batcher(self._read_executions, max_size=_BATCH)
        self._creations = Batcher(self._create_quotes, max_size=_BATCH)
        self._executions = Batcher(self._execute_all, max_size=_BATCH)
        self._handlers: dict[str, Callable[[_Request], Awaitable[bytes | None]]] = {
            f"{API_PREFIX}/quotes": self._quote,
            f"{API_PREFIX}/transactions": self._execute,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = None
        serving = self._ctx.db.hot_pool is not None  # opened at start-up on PostgreSQL; None on SQLite or before start
        if serving and scope["type"] == "http" and scope["method"] == "POST" and not scope["query_string"]:
            handler = self._handlers.get(scope["path"])
            request = self._request(scope) if handler is not None else None
            if handler is not None and request is not None:
                try:
                    answer = await handler(request)
                except _PASS as exc:
                    outage = unavailable(exc)
                    if outage is not None:  # the endpoint would wait for the same database again
                        await send_error(send, outage)
                        return
                    if (state := conflict(exc)) is not None:  # the batch wrote nothing: the endpoint runs it again
                        log.warning(
                            "deadlock or serialization failure; the endpoint runs the request again",
                            extra={"path": scope["path"], "sqlstate": state},
                        )
                    answer = None
                except Exception:  # a bug here must not cost the request: the endpoint answers (or replays)
                    log.exception("hot path failed; passing the request on", extra={"path": scope["path"]})
                    answer = None
        if answer is None:
            await self.app(scope, receive, send)
            return
        await send_json(send, 201, answer)

    def _request(self, scope: Scope) -> _Request | None:
        """A JSON request with a valid bearer token and a well-formed Idempotency-Key; None for anything else."""
        claims = bearer_claims(self._ctx.auth.signer, header(scope, b"authorization"))
        body = scope.get("oms.body")
        content_type = (header(scope, b"content-type") or "").partition(";")[0].strip().lower()
        if claims is None or body is None or content_type != _JSON:
            return None
        try:
            claim = prepare(
                tenant_id=claims.tenant_id,
                key=header(scope, b"idempotency-key"),
                method="POST",
                path=URL(scope=scope).path,
                body=body,
                now=self._ctx.clock.now(),
                ttl=self._ttl,
                request_id=request_id_var.get(),
                seal_key=self._ctx.idempotency_key,
            )
        except OMSError:
            return None
        return _Request(claims.key_id, claims.tenant_id, claim, body)

    async def _quote(self, request: _Request) -> bytes | None:
        body = QuoteCreate.model_validate(orjson.loads(request.body))
        row = await self._quote_reads.submit(
            quotes.context_parameters(
                key_id=request.key_id, tenant_id=request.tenant_id, mode=self._mode,
                idempotency_key=request.claim.key, customer_id=body.customerId,
                source_wallet_id=body.source.walletId, destination_wallet_id=destination_wallet_id(body),
            )
        )  # fmt: skip
        if (
            row is None
            or row["replay"]
            or refusal(body.customerId, row["customer_status"], row["endorsements"], REQUIRED)
        ):
            return None
        service = self._ctx.quotes
        now = service.now_at(row["offset_ms"])
        source, destination = quotes.wallet_of(row, "s_"), quotes.wallet_of(row, "d_")
        quote = service.new_quote(request.tenant_id, body.customerId, body, source, destination, now)
        answer = orjson.dumps(service.render(quote, now))
        written = await self._creations.submit((quote, new_record(request.claim, 201, answer)))
        return answer if written else None

    async def _execute(self, request: _Request) -> bytes | None:
        body = TransactionCreate.model_validate(orjson.loads(request.body))
        row = await self._execution_reads.submit(
            transactions.context_parameters(
                key_id=request.key_id, tenant_id=request.tenant_id, mode=self._mode,
                idempotency_key=request.claim.key, quote_id=body.quoteId,
            )
        )  # fmt: skip
        if row is None or row["replay"]:
            return None
        quote = transactions.quote_of(row)
        tenant_now = self._ctx.quotes.now_at(row["offset_ms"])
        self._ctx.transactions.check_open(quote, tenant_now)
        if refusal(quote.customer_id, row["customer_status"], row["endorsements"], REQUIRED):
            return None
        if row["available"] < quote.source_gross:
            return None  # the endpoint answers insufficient_funds
        accounts = {"available": row["available_id"], "held": row["held_id"]}
        source = Wallet(id=quote.source_wallet_id, address=row["source_address"], key_index=row["source_key_index"])
        execution = self._ctx.transactions.plan(request.tenant_id, body, quote, source, row["recipient_customer_id"])
        answer = orjson.dumps(execution.resource)
        written = await self._executions.submit(
            transactions.HotExecution(
                quote=quote,
                tenant_now=tenant_now,
                rows=(execution.transaction, execution.send, execution.event),
                hold=(HOLD, ledger.rows(hold_legs(quote, accounts))),
                record=new_record(request.claim, 201, answer),
            )
        )
        return answer if written else None

    async def _read_quotes(self, batch: Sequence[tuple[str | None, ...]]) -> list[asyncpg.Record | None]:
        async with self._ctx.db.hot_connection() as connection:
            return await quotes.hot_contexts(connection, batch)

    async def _read_executions(self, batch: Sequence[tuple[str, ...]]) -> list[asyncpg.Record | None]:
        async with self._ctx.db.hot_connection() as connection:
            return await transactions.hot_contexts(connection, batch)

    async def _create_quotes(self, batch: Sequence[tuple[Quote, IdempotencyRecord]]) -> list[bool]:
        async with self._ctx.db.hot_transaction() as connection:
            return await quotes.hot_create_many(connection, batch)

    async def _execute_all(self, batch: Sequence[transactions.HotExecution]) -> list[bool]:
        async with self._ctx.db.hot_transaction() as connection:
            return await transactions.hot_execute_many(connection, batch)
