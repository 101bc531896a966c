"""Cursor pagination shared by every list: newest first, ``startingAfter`` / ``endingBefore`` by id."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypedDict, TypeVar

from fastapi import Depends, Query
from pydantic import AfterValidator, BeforeValidator
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.errors import InvalidRequest
from oms.kit.time import as_utc

T = TypeVar("T")
R = TypeVar("R")  # a rendered item
MAX_LIMIT = 100
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_time_text(value: object) -> object:
    # pydantic would read "1700000000" (every query value is text) as a Unix time: the API takes RFC 3339 only.
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("must be an RFC 3339 date-time, such as 2026-11-24T10:00:00.000Z")
    return value


def _in_utc(moment: datetime) -> datetime:
    try:
        return as_utc(moment)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is a valid text for a moment before year 1
        raise ValueError("is out of range") from None


# A moment given in a query: an RFC 3339 date-time, kept in UTC.
Timestamp = Annotated[datetime, BeforeValidator(_date_time_text), AfterValidator(_in_utc)]


@dataclass(frozen=True)
class PageParams:
    limit: int
    starting_after: str | None
    ending_before: str | None
    created_after: datetime | None
    created_before: datetime | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    starting_after: Annotated[str | None, Query(alias="startingAfter")] = None,
    ending_before: Annotated[str | None, Query(alias="endingBefore")] = None,
    created_after: Annotated[Timestamp | None, Query(alias="createdAfter")] = None,
    created_before: Annotated[Timestamp | None, Query(alias="createdBefore")] = None,
) -> PageParams:
    if starting_after and ending_before:
        raise InvalidRequest(
            "parameter_conflict", "Use either startingAfter or endingBefore, not both.", param="endingBefore"
        )
    return PageParams(limit, starting_after, ending_before, created_after, created_before)


# The list parameters every list endpoint takes: ``page: PageQuery``.
PageQuery = Annotated[PageParams, Depends(page_params)]


class Listed(TypedDict, Generic[R]):
    """A page as the API answers it: each resource's list schema (``WalletList``, …) is this shape."""

    data: list[R]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    has_more: bool

    def listed(self, data: list[R], *, id_of: Callable[[Any], str] = lambda item: item.id) -> Listed[R]:
        return {
            "data": data,
            "hasMore": self.has_more,
            "nextCursor": id_of(self.items[-1]) if self.items else None,
            "previousCursor": id_of(self.items[0]) if self.items else None,
        }


async def paginate(
    session: AsyncSession, statement: Select[Any], model: Any, params: PageParams, *, scope: Any
) -> Page[Any]:
    """Run ``statement`` (already filtered to the tenant) one page at a time.

    ``scope`` is the tenant condition a cursor must satisfy: a cursor from another tenant is unknown.
    """
    created, ident = model.created_at, model.id
    if params.created_after is not None:
        statement = statement.where(created >= params.created_after)
    if params.created_before is not None:
        statement = statement.where(created <= params.created_before)
    cursor_id = params.starting_after or params.ending_before
    if cursor_id is not None:
        row = (await session.execute(select(created, ident).where(ident == cursor_id, scope))).first()
        if row is None:
            param = "startingAfter" if params.starting_after else "endingBefore"
            raise InvalidRequest("invalid_cursor", f"Unknown cursor '{cursor_id}'.", param=param)
        at, cid = row
        if params.starting_after:
            statement = statement.where(or_(created < at, and_(created == at, ident < cid)))
        else:
            statement = statement.where(or_(created > at, and_(created == at, ident > cid)))
    backwards = params.ending_before is not None
    order = (created.asc(), ident.asc()) if backwards else (created.desc(), ident.desc())
    rows = list((await session.execute(statement.order_by(*order).limit(params.limit + 1))).scalars())
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    if backwards:
        rows.reverse()
    return Page(rows, has_more)
