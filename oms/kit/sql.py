"""Small dialect-portable SQL constructs (PostgreSQL and SQLite)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast

import asyncpg
import orjson
from sqlalchemy import BindParameter, ClauseElement, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import ExternallyTraversible, replacement_traverse

# SQLSTATEs of a unit of work that lost a conflict with a concurrent one, a deadlock (40P01) or a serialization
# failure (40001): nothing was wrong with the work, and run again it succeeds (oms.outage.retry_conflicts).
CONFLICT_STATES = frozenset({"40P01", "40001"})
_ASYNCPG = asyncpg_dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it unannotated


def insert_for(session: AsyncSession, model: Any) -> Any:
    """The session's dialect's ``INSERT`` (it has ``on_conflict_do_nothing`` / ``on_conflict_do_update``)."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(model)


def insert_ignore(session: AsyncSession, model: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect."""
    return insert_for(session, model).on_conflict_do_nothing()


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class RowsInsert:
    """Rows of a model written many at a time by one statement on the driver's own connections (asyncpg,
    numbered parameters): each column's values go in as one array parameter, cast to the column's type, so a
    data-modifying statement can write rows built as (never-added) ORM objects.

    ``source`` is the rows as a relation, ``unnest(…) WITH ORDINALITY AS <alias>(<columns>, batch_index)``, so
    the statement can join them with anything keyed by position; ``insert(condition)`` writes the rows that
    ``condition`` (the rest of the ``FROM`` clause, say a join) keeps; ``arrays(rows)`` gives the parameters."""

    def __init__(self, model: Any, *, first_parameter: int, alias: str) -> None:
        table = model.__table__
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it unannotated
        self._attributes = [model.__mapper__.get_property_by_column(column).key for column in table.columns]
        self._json = [isinstance(column.type.dialect_impl(dialect), postgresql.JSONB) for column in table.columns]
        # Strings cast to text, not varchar(n): an explicit cast would truncate where the column refuses.
        types = [column.type.compile(dialect=dialect) for column in table.columns]
        types = ["text" if name.startswith("VARCHAR") else name for name in types]
        arrays = ", ".join(f"${first_parameter + index}::{name}[]" for index, name in enumerate(types))
        names = [column.name for column in table.columns]
        self.parameters = [f"{table.name}.{name}" for name in names]  # what each array parameter holds, in order
        self.source = f"unnest({arrays}) WITH ORDINALITY AS {alias}({', '.join(names)}, batch_index)"
        selected = ", ".join(f"{alias}.{name}" for name in names)
        self._insert = f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {selected} FROM {self.source}"  # noqa: S608 (model names)
        self.size = len(types)

    def insert(self, condition: str = "") -> str:
        return f"{self._insert} {condition}".rstrip()

    def arrays(self, rows: Sequence[Any]) -> list[list[Any]]:
        columns: list[list[Any]] = [[] for _ in self._attributes]
        for row in rows:
            state = row.__dict__  # a new object's values live in its state (oms.models.base.Base.__init__)
            for column, attribute, json in zip(columns, self._attributes, self._json, strict=True):
                value = state.get(attribute)
                column.append(orjson.dumps(value).decode() if json and value is not None else value)
        return columns


def numbered(statement: ClauseElement) -> tuple[str, list[str]]:
    """A Core statement as the driver's own connections take it (asyncpg: ``$1``, ``$2``, …), with the names
    of its bound parameters in that order (a parameter used twice has one number)."""
    inlined = cast(ClauseElement, replacement_traverse(cast(ExternallyTraversible, statement), {}, _inline_constant))
    compiled = cast(SQLCompiler, inlined.compile(dialect=_ASYNCPG))
    return compiled.string, list(compiled.positiontup or ())


def _inline_constant(element: ExternallyTraversible, **_: Any) -> ExternallyTraversible | None:
    """A constant of the statement (``kind == 'available'``) written into its text, so that only the named
    parameters are numbered; None keeps any other element as it is."""
    if isinstance(element, BindParameter) and element.value is not None and not element.required:
        processor = element.type.literal_processor(_ASYNCPG)
        return literal_column(processor(element.value) if processor else str(element.value), element.type)
    return None


class BatchedLookup:
    """A lookup of at most one row, run for many parameter sets in one statement on the driver's own
    connections: the parameters go in as one array each, and the lookup runs once per set (a lateral join),
    so a batch pays for one round trip and one executor start instead of one per set. ``lookup`` is a Core
    statement whose bound parameters are named ``parameters``, in the order of each set's values (text)."""

    def __init__(self, lookup: ClauseElement, parameters: Sequence[str]) -> None:
        sql, order = numbered(lookup)
        if sorted(order) != sorted(parameters):
            raise ValueError(f"the lookup's parameters are {order}, not {list(parameters)}")
        arrays = ", ".join(f"${index}::text[]" for index in range(1, len(parameters) + 1))
        body = re.sub(r"\$(\d+)", lambda number: f"p.{order[int(number.group(1)) - 1]}", sql)
        columns = f"unnest({arrays}) WITH ORDINALITY AS p({', '.join(parameters)}, batch_index)"
        self.parameters = list(parameters)
        self.sql = f"SELECT p.batch_index, found.* FROM {columns} CROSS JOIN LATERAL ({body}) AS found"  # noqa: S608 (our own statements)

    async def fetch(
        self, connection: asyncpg.Connection | asyncpg.Pool, parameter_sets: Sequence[Sequence[Any]]
    ) -> list[asyncpg.Record | None]:
        """For each parameter set, in order, its row or None."""
        found: list[asyncpg.Record | None] = [None] * len(parameter_sets)
        for row in await connection.fetch(self.sql, *(list(column) for column in zip(*parameter_sets, strict=True))):
            found[row["batch_index"] - 1] = row
        return found
