"""The one place that tells an outage from a bug: which failures of the database driver, the pool or the chain
node mean "unreachable or timed out, retry later" (503 ``service_unavailable``) rather than an error of ours.

Every entrance that talks to those systems asks ``unavailable(exc)``: the request pipeline (``oms/routing.py``),
the hot lanes (``oms/hotpath.py``, ``oms/hotwrites.py``) and the readiness probe (``oms/health.py``).
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator

import asyncpg
from sqlalchemy import exc as sa

from oms.chain.port import ChainUnavailable
from oms.errors import ServiceUnavailable

# SQLSTATEs of a database that is unreachable, shutting down, overloaded or out of time: connection exceptions
# (08), operator intervention (57: statement timeout 57014, shutdown 57P01-57P03), insufficient resources (53),
# lock_not_available (55P03: lock_timeout) and idle_in_transaction_session_timeout (25P03).
_CLASSES = ("08", "57", "53")
_STATES = {"55P03", "25P03"}
_SQLITE_BUSY = ("database is locked", "database table is locked", "unable to open database")


def unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 to answer when ``exc`` (or what caused it) is an outage of the database or the chain node."""
    for cause in _chain(exc):
        if isinstance(cause, ChainUnavailable):
            return ServiceUnavailable("The chain node is unavailable; retry later.")
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
