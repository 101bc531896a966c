"""The audit log's rules: the chain (each record's hash over its fields and its predecessor's hash), appending
in the caller's transaction, verifying, and the query.

The hash of a record is SHA-256 over the canonical encoding of its fields: a JSON array, in a fixed order, of
its sequence number, its time (ISO 8601 in UTC, to the microsecond), actor kind and id, tenant, action, object,
request id, client address, outcome, status, error code, and the previous record's hash (``GENESIS`` for the
first). Changing any field, removing a record or moving one breaks the chain at the first record affected.

Appending takes the chain head's row lock (``FOR UPDATE``) as late as possible, just before the commit and
after every other lock of the transaction, so that the lock order stays one-way (accounts, then the head) and
the lock is held for the insert and the commit only.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from oms.audit import Actor, Entry, repository
from oms.audit.repository import Filters, NewRecord
from oms.audit.schemas import AuditRecord as AuditRecordOut
from oms.audit.schemas import AuditRecordList, Outcome
from oms.errors import InvalidRequest
from oms.kit.pagination import PageParams
from oms.kit.time import Clock, isoformat
from oms.models import AuditRecord
from oms.models.audit import GENESIS

__all__ = ["GENESIS", "AuditLog", "Filters", "Verdict", "append", "cli_actor", "record"]

ID_PREFIX = "aud_"
_VERIFY_CHUNK = 1000


def cli_actor() -> Actor:
    """The CLI's actor: the OS user running the command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's): its number says who
        user = str(os.getuid())
    return Actor("cli", user)


class AuditLog:
    """Stamps entries with the server's clock (the one every other timestamp is read from)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def entry(self, actor: Actor, action: str, **fields: Any) -> Entry:
        return Entry(actor=actor, action=action, at=self._clock.now(), **fields)


# --- the chain --------------------------------------------------------------------------------------------


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def digest(record: AuditRecord | NewRecord) -> str:
    """The hash a record must carry: SHA-256 over its canonical encoding (fields and previous hash)."""
    fields = [
        record.sequence, _moment(record.created_at), record.actor_kind, record.actor_id, record.tenant_id,
        record.action, record.object_id, record.request_id, record.client_address, record.outcome,
        record.status, record.error_code, record.previous_hash,
    ]  # fmt: skip
    return hashlib.sha256(orjson.dumps(fields)).hexdigest()


def chained(entries: Sequence[Entry], sequence: int, previous_hash: str) -> list[NewRecord]:
    """The entries as the records that follow the head (``sequence``, ``previous_hash``), in order."""
    records: list[NewRecord] = []
    for entry in entries:
        sequence += 1
        record = NewRecord(
            sequence,
            entry.at.astimezone(UTC),
            entry.actor.kind,
            entry.actor.id,
            entry.tenant_id,
            entry.action,
            entry.object_id,
            entry.request_id,
            entry.client_address,
            entry.outcome,
            entry.status,
            entry.error_code,
            previous_hash,
        )
        record.hash = previous_hash = digest(record)
        records.append(record)
    return records


async def append(session: AsyncSession, entries: Sequence[Entry]) -> None:
    """Record ``entries`` in the caller's transaction (its commit is theirs). Call it last before the commit:
    it locks the chain head until then."""
    if not entries:
        return
    # The transaction's own changes first: flushed at the commit, after the head's lock, their row locks
    # would be taken after it (a lock order inverted, a deadlock with an appender waiting for one of them).
    await session.flush()
    sequence, previous = await repository.lock_head(session)
    await repository.insert_records(session, chained(entries, sequence, previous))


async def record(session: AsyncSession, entry: Entry) -> None:
    """Record one state-changing action in the caller's transaction (see ``append``)."""
    await append(session, [entry])


async def append_on(connection: asyncpg.Connection, entries: Sequence[Entry]) -> None:
    """``append`` on the fast lane's own connection, inside its batch's transaction: one lock, one statement."""
    if not entries:
        return
    sequence, previous = await repository.lock_head_on(connection)
    await repository.insert_records_on(connection, chained(entries, sequence, previous))


# --- verifying ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """``count`` records checked; ``broken_at`` the sequence number of the first broken record (None: sound)."""

    count: int
    head: tuple[int, str]
    broken_at: int | None = None
    reason: str | None = None

    @property
    def sound(self) -> bool:
        return self.broken_at is None


async def verify(session: AsyncSession, *, logged_head: tuple[int, str] | None = None) -> Verdict:
    """Recompute the chain from its first record. A record is broken if its sequence number is not the one
    after its predecessor's (one was deleted, or moved), if it does not carry its predecessor's hash, or if its
    own hash does not match its fields. The chain must end at the head row; ``logged_head`` (a head written to
    the log earlier) must still be in it, unchanged, which a truncation of the chain's end cannot keep."""
    await repository.snapshot(session)
    head = await repository.head(session)
    expected, previous, count = 1, GENESIS, 0
    logged_found = logged_head is None or logged_head == (0, GENESIS)

    def broken(sequence: int, reason: str) -> Verdict:
        return Verdict(count, head, sequence, reason)

    while True:
        chunk = await repository.records_after(session, expected - 1, limit=_VERIFY_CHUNK)
        for row in chunk:
            if row.sequence != expected:
                return broken(row.sequence, f"expected record {expected} here: a record is missing or was moved")
            if row.previous_hash != previous:
                return broken(row.sequence, "it does not carry the hash of the record before it")
            if digest(row) != row.hash:
                return broken(row.sequence, "its hash does not match its fields")
            if logged_head is not None and row.sequence == logged_head[0]:
                if row.hash != logged_head[1]:
                    return broken(row.sequence, "it is not the record of the logged head (different hash)")
                logged_found = True
            previous, expected, count = row.hash, expected + 1, count + 1
        if len(chunk) < _VERIFY_CHUNK:
            break
    last = expected - 1
    if (last, previous) != head:
        at = min(last, head[0]) + 1 if last != head[0] else last
        return broken(at, f"the chain ends at record {last} but its head is record {head[0]}")
    if not logged_found and logged_head is not None:
        return broken(logged_head[0], f"the logged head, record {logged_head[0]}, is no longer in the chain")
    return Verdict(count, head)


async def current_head(session: AsyncSession) -> tuple[int, str]:
    return await repository.head(session)


def parse_head(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` as ``oms audit head`` prints it and the worker logs it."""
    sequence, sep, digest_ = text.partition(":")
    if not sep or not sequence.isdigit() or len(digest_) != 64:
        raise ValueError("give the head as SEQUENCE:HASH (as `oms audit head` prints it)")
    return int(sequence), digest_.lower()


# --- the query ------------------------------------------------------------------------------------------------


def record_id(record: AuditRecord) -> str:
    return f"{ID_PREFIX}{record.sequence}"


def sequence_of(record_id_: str) -> int | None:
    """The sequence number an id names (``aud_42``); None for anything else."""
    number = record_id_.removeprefix(ID_PREFIX)
    if number == record_id_ or not number.isdigit() or len(number) > 18:
        return None
    return int(number)


def render(record: AuditRecord) -> AuditRecordOut:
    return {
        "id": record_id(record),
        "object": "audit_record",
        "sequence": record.sequence,
        "createdAt": isoformat(record.created_at),
        "actor": {"kind": record.actor_kind, "id": record.actor_id},
        "tenantId": record.tenant_id,
        "action": record.action,
        "objectId": record.object_id,
        "requestId": record.request_id,
        "clientAddress": record.client_address,
        "outcome": cast(Outcome, record.outcome),
        "status": record.status,
        "errorCode": record.error_code,
        "previousHash": record.previous_hash,
        "hash": record.hash,
    }


async def query(session: AsyncSession, filters: Filters, page: PageParams) -> AuditRecordList:
    """The records matching ``filters``, newest first, a page at a time: the OMS API's list conventions
    (``limit``, ``startingAfter`` / ``endingBefore`` a record's id, ``createdAfter`` / ``createdBefore``)."""
    cursor = page.starting_after or page.ending_before
    sequence = None if cursor is None else sequence_of(cursor)
    if cursor is not None and sequence is None:
        param = "startingAfter" if page.starting_after else "endingBefore"
        raise InvalidRequest("invalid_cursor", f"Unknown cursor '{cursor}'.", param=param)
    bounded = replace(
        filters,
        created_after=page.created_after or filters.created_after,
        created_before=page.created_before or filters.created_before,
    )
    rows, has_more = await repository.page_of(
        session,
        bounded,
        limit=page.limit,
        after=sequence if page.starting_after else None,
        before=sequence if page.ending_before else None,
    )
    return {
        "data": [render(row) for row in rows],
        "hasMore": has_more,
        "nextCursor": record_id(rows[-1]) if rows else None,
        "previousCursor": record_id(rows[0]) if rows else None,
    }


async def get(session: AsyncSession, record_id_: str) -> AuditRecordOut | None:
    sequence = sequence_of(record_id_)
    found = None if sequence is None else await repository.get(session, sequence)
    return None if found is None else render(found)
