"""One row's work in a background job, isolated from the rest of its batch.

A job handles a batch of rows in one transaction. Without isolation, one row that always fails (a poison
row: a corrupt reference, an amount the ledger refuses, a bug) rolls back the whole batch on every pass, and
the queue behind it never moves. Each row's work runs in its own SAVEPOINT instead: a failure rolls back
that row's changes alone, is logged with the row's id, and the caller marks the row so that it is not
retried in a hot loop (docs/decisions.md, "Poison rows").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.sql import CONFLICT_STATES

log = logging.getLogger("oms.jobs")
T = TypeVar("T")


class RowFailed(Exception):
    """One row's work failed and was rolled back alone; ``cause`` says why (for the row's mark, not a client)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(describe(cause))
        self.cause = cause


def describe(error: BaseException) -> str:
    """A short reason for a row's mark: the error's class and message, without any SQL or parameters."""
    if isinstance(error, DBAPIError):  # its text carries the statement and its parameters
        return f"database error: {type(error.orig).__name__}"[:200]
    return f"{type(error).__name__}: {error}"[:200]


async def isolated(session: AsyncSession, job: str, row_id: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` for one row in a savepoint; on failure roll it back, log it and raise ``RowFailed``.

    A lost connection is not a poison row: it fails every row, so it ends the pass as it did before. Nor is a
    deadlock or a serialization failure: the pass is run again whole."""
    try:
        async with session.begin_nested():
            return await work()
    except DBAPIError as error:
        if error.connection_invalidated or getattr(error.orig, "sqlstate", None) in CONFLICT_STATES:
            raise  # not the row's fault: the whole pass ends (a conflict runs it again: oms.outage)
        log.error("job row failed; rolled back alone", extra={"job": job, "row": row_id, "error": describe(error)})
        raise RowFailed(error) from error
    except Exception as error:
        log.exception("job row failed; rolled back alone", extra={"job": job, "row": row_id})
        raise RowFailed(error) from error
