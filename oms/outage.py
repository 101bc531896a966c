"""The one place that tells an outage from a bug: which failures of the database driver, the pool or the chain
node mean "unreachable or timed out, retry later" (503 ``service_unavailable``) rather than an error of ours.

Every entrance that talks to those systems asks ``unavailable(exc)``: the request pipeline (``oms/routing.py``),
the fast lane (``oms/fastlane``) and the readiness probe (``oms/health.py``).

Also the conflicts between concurrent units of work that the database resolves by failing one of them, a
deadlock (40P01) or a serialization failure (40001): not an outage, nothing was wrong with the work, so it is
run again whole (``retry_conflicts``) a few times before a request is answered 503 and a job gives up its pass.
The lock order that keeps deadlocks from happening at all is in docs/decisions.md ("Lock order").
"""

from __future__ import annotations

import logging
import socket
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from typing import ClassVar, TypeVar

import asyncpg
from sqlalchemy import exc as sa
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from oms.errors import ServiceUnavailable
from oms.kit.sql import CONFLICT_STATES

log = logging.getLogger("oms.conflicts")
T = TypeVar("T")

# SQLSTATEs of a database that is unreachable, shutting down, overloaded or out of time: connection exceptions
# (08), operator intervention (57: statement timeout 57014, shutdown 57P01-57P03), insufficient resources (53),
# lock_not_available (55P03: lock_timeout) and idle_in_transaction_session_timeout (25P03).
_CLASSES = ("08", "57", "53")
_STATES = {"55P03", "25P03"}
_SQLITE_BUSY = ("database is locked", "database table is locked", "unable to open database")


class Unreachable(Exception):
    """What a port raises when the system behind it (a chain node) cannot be reached or timed out: an outage.
    The port's own exception subclasses it (``ChainUnavailable``), so this module, which the database layer
    imports, names no port."""

    unavailable_message: ClassVar[str] = "A system the request needs is unavailable; retry later."


def unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 to answer when ``exc`` (or what caused it) is an outage of the database or the chain node."""
    for cause in _chain(exc):
        if isinstance(cause, Unreachable):
            return ServiceUnavailable(cause.unavailable_message)
        if _database_outage(cause):
            return ServiceUnavailable("The database is unavailable; retry later.")
    return None


def _database_outage(exc: BaseException) -> bool:
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.TimeoutError | sa.DisconnectionError | asyncpg.InterfaceError):
        return True  # no connection free in time; a connection lost, closed or never made
    if isinstance(exc, TimeoutError | ConnectionError | socket.gaierror) or type(exc) is OSError:
        # refused, reset, unreachable, unresolvable (a plain OSError: every address of a host refused); the
        # driver's own deadline (asyncio's TimeoutError). A file's OSError subclasses are bugs, not outages.
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).startswith(_SQLITE_BUSY)
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return isinstance(state, str) and (state in _STATES or state.startswith(_CLASSES))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its explicit causes (SQLAlchemy wraps the driver's exception ``from`` it). Not the context
    an exception was raised in: a bug while handling a timeout is still a bug."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__


CONFLICT_ATTEMPTS = 4  # the first run and three retries
# The waits between the retries (none before the first: the database already ended the conflict by failing
# this side, and the other side holds its locks only until it commits): full jitter, doubling, capped.
_WAIT_BETWEEN_RETRIES = wait_random_exponential(multiplier=0.04, max=0.5)


def conflict(exc: BaseException) -> str | None:
    """The SQLSTATE when ``exc`` (or what caused it) is a deadlock or a serialization failure, else None."""
    for cause in _chain(exc):
        state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if state in CONFLICT_STATES:
            return str(state)
    return None


def conflicted() -> ServiceUnavailable:
    """The answer to a request whose every attempt lost a conflict."""
    return ServiceUnavailable("The database was too busy with conflicting work; retry later.")


async def retry_conflicts(work: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run ``work`` (a whole unit of work: its own transaction, rolled back when it raises), again after a
    conflict, at most ``CONFLICT_ATTEMPTS`` times in all; the last conflict is raised. The first run is a plain
    call (tenacity's bookkeeping costs about 35 µs, and almost every request needs no retry); the retries are
    tenacity's. Each retry is logged at WARNING, naming the SQLSTATE only (the error's text carries SQL and
    parameters)."""
    try:
        return await work()
    except Exception as exc:
        if conflict(exc) is None or CONFLICT_ATTEMPTS < 2:
            raise
        _log_retry(what, exc, attempt=1)
    retrying = AsyncRetrying(
        stop=stop_after_attempt(CONFLICT_ATTEMPTS - 1),
        wait=_WAIT_BETWEEN_RETRIES,
        retry=retry_if_exception(lambda exc: conflict(exc) is not None),
        before_sleep=lambda state: _log_retry(
            what, state.outcome.exception() if state.outcome else None, attempt=state.attempt_number + 1
        ),
        reraise=True,
    )
    return await retrying(work)


def _log_retry(what: str, exc: BaseException | None, *, attempt: int) -> None:
    state = conflict(exc) if exc is not None else None
    log.warning(
        "deadlock or serialization failure; running the work again",
        extra={"work": what, "sqlstate": state, "attempt": attempt},
    )
