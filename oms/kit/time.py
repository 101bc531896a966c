"""Time is injected: the server reads a ``Clock``; tests move theirs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, overload


def truncate(moment: datetime) -> datetime:
    """Timestamps are kept to the millisecond so a value read from the API round-trips exactly."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time, optionally shifted (sandbox only: lets a developer or a test run in the future)."""

    def __init__(self, offset: timedelta = timedelta()) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return truncate(datetime.now(UTC) + self.offset)


@overload
def isoformat(moment: datetime) -> str: ...
@overload
def isoformat(moment: None) -> None: ...
@overload
def isoformat(moment: datetime | None) -> str | None: ...
def isoformat(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z``, to the millisecond."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken to be UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
