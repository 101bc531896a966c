"""Idempotency-Key handling (IETF draft, Stripe's details), stored in the request's own transaction.

PostgreSQL: a transaction-scoped advisory lock on (tenant, key) makes a concurrent duplicate answer 409
at once instead of executing twice; the lock is released only after the commit that makes the stored
response visible. SQLite: write transactions are serialised by ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ColumnExpressionArgument, Row, and_, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from oms.errors import Conflict, InvalidRequest, Unprocessable
from oms.kit.crypto import NONCE_BYTES, open_sealed, seal
from oms.kit.sql import is_postgres
from oms.kit.time import Clock
from oms.models import IdempotencyRecord

MAX_KEY_LENGTH = 255
REPLAY_HEADER = "Idempotent-Replayed"
# A replay names the request whose answer it is (Stripe's header); its own Request-Id is its own.
ORIGINAL_REQUEST_HEADER = "Original-Request"


@dataclass(frozen=True, slots=True)
class Claim:
    """This request owns (tenant, key) until its transaction ends."""

    tenant_id: str
    key: str
    fingerprint: str
    now: datetime
    ttl: timedelta
    request_id: str | None
    seal_key: bytes = field(repr=False)


def _associated_data(tenant_id: str, key: str) -> bytes:
    return f"oms/idempotency/{tenant_id}\0{key}".encode()


class Replay(Exception):
    """The stored answer. Bodies are sealed at rest: some (a webhook's one-time secret) are secrets."""

    def __init__(self, record: Row[Any], seal_key: bytes) -> None:
        self.record = record
        self._body = open_sealed(
            seal_key,
            record.response_body[:NONCE_BYTES],
            record.response_body[NONCE_BYTES:],
            _associated_data(record.tenant_id, record.key),
        )

    def response(self) -> Response:
        """The stored answer byte for byte; the middleware adds this request's own ``Request-Id``."""
        headers = {REPLAY_HEADER: "true"}
        if self.record.request_id is not None:
            headers[ORIGINAL_REQUEST_HEADER] = self.record.request_id
        return Response(
            self._body, status_code=self.record.response_status, media_type="application/json", headers=headers
        )


def fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode(errors="replace")
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def _lock_id(tenant_id: str, key: str) -> int:
    digest = hashlib.sha256(f"{tenant_id}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def prepare(
    *,
    tenant_id: str,
    key: str | None,
    method: str,
    path: str,
    body: bytes,
    now: datetime,
    ttl: timedelta,
    request_id: str | None,
    seal_key: bytes,
) -> Claim:
    """The claim a request makes, or 400 for a missing or malformed key; ``take`` it before executing."""
    if key is None or not key.strip():
        raise InvalidRequest(
            "idempotency_key_missing", "The Idempotency-Key header is required on POST.", param="Idempotency-Key"
        )
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(
            "idempotency_key_invalid",
            f"The Idempotency-Key header must be at most {MAX_KEY_LENGTH} characters.",
            param="Idempotency-Key",
        )
    return Claim(tenant_id, key, fingerprint(method, path, body), now, ttl, request_id, seal_key)


@dataclass(frozen=True, slots=True)
class Terms:
    """A process's terms for every claim: its clock, how long an answer is kept, the key answers are sealed
    with (built once by the composition root, asked for by the Idempotency-Key dependency)."""

    clock: Clock
    ttl: timedelta
    seal_key: bytes = field(repr=False)

    def claim(
        self, *, tenant_id: str, key: str | None, method: str, path: str, body: bytes, request_id: str | None
    ) -> Claim:
        return prepare(
            tenant_id=tenant_id,
            key=key,
            method=method,
            path=path,
            body=body,
            now=self.clock.now(),
            ttl=self.ttl,
            request_id=request_id,
            seal_key=self.seal_key,
        )


async def take(session: AsyncSession, claim: Claim) -> Claim:
    """Own ``claim``'s key in this transaction: replay a stored answer, refuse a different request or a
    concurrent twin, or clear an expired record. Also used to store a business error after a rollback."""
    tenant_id, key = claim.tenant_id, claim.key
    connection = await session.connection()
    if is_postgres(session):
        locked = (await connection.execute(_ADVISORY_LOCK, {"lock_id": _lock_id(tenant_id, key)})).scalar()
        if not locked:
            raise _in_use()
    record = (await connection.execute(_RECORD, {"tenant_id": tenant_id, "record_key": key})).first()
    if record is not None and record.expires_at > claim.now:
        if record.fingerprint != claim.fingerprint:
            raise Unprocessable(
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request.",
                param="Idempotency-Key",
            )
        raise Replay(record, claim.seal_key)
    if record is not None:
        await connection.execute(_DELETE, {"tenant_id": tenant_id, "record_key": key})
    return claim


async def store(session: AsyncSession, claim: Claim, response: Response) -> None:
    """Record the answer (sealed) in the caller's transaction; a conflict here means a concurrent twin won."""
    record = new_record(claim, response.status_code, bytes(response.body))
    values = {column.name: getattr(record, column.key) for column in _records.columns}
    connection = await session.connection()
    result = await connection.execute(_STORE_POSTGRESQL if is_postgres(session) else _STORE_SQLITE, values)
    if not result.rowcount:
        raise _in_use()


def new_record(claim: Claim, status: int, body: bytes) -> IdempotencyRecord:
    """The stored answer to ``claim``'s request (not yet written), its body sealed."""
    nonce, sealed = seal(claim.seal_key, body, _associated_data(claim.tenant_id, claim.key))
    return IdempotencyRecord(
        tenant_id=claim.tenant_id,
        key=claim.key,
        fingerprint=claim.fingerprint,
        response_status=status,
        response_body=nonce + sealed,
        created_at=claim.now,
        expires_at=claim.now + claim.ttl,
        request_id=claim.request_id,
    )


_records = IdempotencyRecord.__table__


def record_of(tenant_id: ColumnExpressionArgument[str], key: ColumnExpressionArgument[str]) -> ColumnElement[bool]:
    """The stored record of a tenant's Idempotency-Key: what the endpoint reads, replays or deletes, and what
    the fast lane's read checks for (any record: it then lets the endpoint answer)."""
    return and_(_records.c.tenant_id == tenant_id, _records.c.key == key)


# Every write request runs these: built once and run as Core on the request's connection.
_ADVISORY_LOCK = select(func.pg_try_advisory_xact_lock(bindparam("lock_id")))
_THIS_RECORD = record_of(bindparam("tenant_id"), bindparam("record_key"))
_RECORD = select(_records).where(_THIS_RECORD)
_DELETE = delete(_records).where(_THIS_RECORD)
_STORE_POSTGRESQL = postgresql.insert(_records).on_conflict_do_nothing()
_STORE_SQLITE = sqlite.insert(_records).on_conflict_do_nothing()


class IdempotencyKeyInUse(Conflict):
    replayable = False


def _in_use() -> Conflict:
    return IdempotencyKeyInUse(
        "idempotency_key_in_use",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        param="Idempotency-Key",
    )
