"""Lockout of sign-ins after repeated failures, with a back-off that doubles (POST /auth/token, operator login).

A subject is what a failed attempt names: ``("key", api_key_id)``, ``("address", client_address)``,
``("operator", email)``. After ``OMS_LOCKOUT_FAILURES`` failures of a key or an operator
(``OMS_LOCKOUT_ADDRESS_FAILURES`` of an address, shared by everyone behind one NAT) every attempt naming it
is refused 429 ``locked_out`` for ``OMS_LOCKOUT_SECONDS``, with the right secret too; each further lockout
lasts twice the one before, up to ``OMS_LOCKOUT_MAX_SECONDS``. A success resets the subjects it proves (the
caller passes the key or the email, not the address: one good key must not clear an address guessing
others). A subject without a failure for ``OMS_LOCKOUT_FORGET_SECONDS`` starts afresh.

Unknown keys are counted and locked exactly like existing ones, before any lookup: the answers never tell
whether a key exists. Subjects are stored as keyed digests, so the table holds no address or email. Every
write is its own transaction (``Database.session_scope``): the failed sign-in's own transaction is rolled
back. Time is the app's clock (``ctx.clock``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

from oms.config import Settings
from oms.db import Database
from oms.errors import RateLimited
from oms.kit.crypto import hmac_sha256
from oms.kit.time import Clock
from oms.metrics.registry import RATE_LIMIT_REFUSALS
from oms.ratelimit import repository

Subject = tuple[str, str]  # (kind, value): ("key", "sk_sdbx_…"), ("address", "203.0.113.7"), ("operator", email)
# The rate-limit family of a sign-in, by the kind of the subject it names first (oms_rate_limit_refusals).
_FAMILY_OF_SUBJECT = {"key": "auth", "operator": "admin_login"}


class Lockout:
    def __init__(self, *, db: Database, clock: Clock, key: bytes, settings: Settings) -> None:
        self._db = db
        self._clock = clock
        self._key = key
        self._failures = settings.lockout_failures
        self._address_failures = settings.lockout_address_failures
        self._base = settings.lockout_seconds
        self._cap = settings.lockout_max_seconds
        self._forget = timedelta(seconds=settings.lockout_forget_seconds)

    def _digest(self, subject: Subject) -> str:
        kind, value = subject
        return hmac_sha256(self._key, f"{kind}\x00{value.lower() if kind == 'operator' else value}")

    async def refuse_if_locked(self, subjects: Sequence[Subject]) -> frozenset[Subject]:
        """Raise 429 ``locked_out`` (with ``Retry-After``) when any of the subjects is locked out now; else
        answer those with failures on record (only their success has anything to reset)."""
        now = self._clock.now()
        digests = {self._digest(subject): subject for subject in subjects}
        async with self._db.session(write=False) as session:
            records = await repository.standing(session, list(digests))
        until = [moment for moment in records.values() if moment is not None and moment > now]
        if until:
            seconds = math.ceil((max(until) - now).total_seconds())
            RATE_LIMIT_REFUSALS.labels(_FAMILY_OF_SUBJECT.get(subjects[0][0], "other"), "lockout").inc()
            raise RateLimited(
                "locked_out",
                f"Too many failed attempts: sign-in is locked; retry after {max(1, seconds)} s.",
                retry_after=seconds,
            )
        return frozenset(digests[digest] for digest in records)

    async def failed(self, subjects: Sequence[Subject]) -> None:
        """Count a failed attempt against each subject, locking out those that reach their threshold."""
        now = self._clock.now()
        async with self._db.session_scope() as session:
            await repository.forget_before(session, now - self._forget, now)
            for subject in sorted(subjects):  # one order for every caller: no deadlock between two failures
                record = await repository.for_update(session, self._digest(subject), subject[0], now)
                if now - record.last_failure_at >= self._forget:
                    record.failures, record.level = 0, 0
                record.failures += 1
                record.last_failure_at = now
                if record.failures >= (self._address_failures if subject[0] == "address" else self._failures):
                    record.level += 1
                    record.failures = 0
                    record.locked_until = now + timedelta(seconds=self.lockout_seconds(record.level))
            await session.flush()

    async def forget(self, subjects: Sequence[Subject]) -> None:
        """A success: these subjects' failures and lockouts are forgotten, but an address's (the success proved
        a key or an email, not that the address guesses nothing). Called once the caller's own transaction has
        ended (after the answer of POST /auth/token and of an operator login): SQLite has one writer."""
        await self._clear([self._digest(subject) for subject in subjects if subject[0] != "address"])

    async def _clear(self, digests: list[str]) -> None:
        async with self._db.session_scope() as session:
            await repository.clear(session, digests)

    def lockout_seconds(self, level: int) -> int:
        """The length of a subject's ``level``-th lockout in a row: doubled each time, capped."""
        return min(self._cap, self._base << min(level - 1, 32))
