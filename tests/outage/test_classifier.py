"""``oms.outage.unavailable``: the one place that tells an outage (503) from a bug (500)."""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy import exc as sa

from oms.chain.port import ChainError, ChainUnavailable
from oms.outage import unavailable


def _wrapped(cause: BaseException) -> sa.DBAPIError:
    """As SQLAlchemy raises a driver's error: a DBAPIError ``from`` it."""
    try:
        try:
            raise cause
        except BaseException as exc:
            raise sa.OperationalError("SELECT 1", {}, exc) from exc
    except sa.DBAPIError as wrapped:
        return wrapped


def test_an_unreachable_chain_node_is_503_and_a_refused_transaction_is_not() -> None:
    outage = unavailable(ChainUnavailable("eth_blockNumber: connection refused"))
    assert outage is not None and (outage.status, outage.code) == (503, "service_unavailable")
    assert outage.headers["Retry-After"]
    assert "chain node" in outage.message
    assert unavailable(ChainError("transaction is not signed by its sender")) is None


def test_driver_failures_behind_sqlalchemy_are_503() -> None:
    for cause in (
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        OSError("Multiple exceptions: [Errno 111] Connect call failed"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        sqlite3.OperationalError("database is locked"),
    ):
        outage = unavailable(_wrapped(cause))
        assert outage is not None and outage.status == 503, cause
    assert unavailable(sa.TimeoutError("QueuePool limit of size 8 overflow 4 reached")) is not None


def test_bugs_stay_bugs() -> None:
    for cause in (
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.UndefinedColumnError("column does not exist"),
        sqlite3.OperationalError("no such table: customers"),
        FileNotFoundError("/nope"),
        ValueError("bad"),
    ):
        assert unavailable(_wrapped(cause)) is None, cause
    try:
        try:
            raise TimeoutError
        except TimeoutError:
            raise KeyError("a bug while handling a timeout")  # noqa: B904 (the context, not a cause)
    except KeyError as bug:
        assert unavailable(bug) is None
