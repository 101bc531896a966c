"""The built-in sanctions list: importing a publication (a newer one replaces the active set in one database
transaction; an older or repeated one is refused) and screening addresses against it."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.ids import new_id
from oms.models import ScreeningList
from oms.screening import repository
from oms.screening.ofac import ListFileError, Publication, normalise
from oms.screening.port import Hit

MAX_ADDRESS = 128


class BuiltInList:
    """The screening port's default adapter: the active imported list, read in the caller's transaction."""

    async def screen(self, session: AsyncSession, chain: str, addresses: Collection[str]) -> list[Hit]:
        wanted = {normalise(address): address for address in addresses if address}
        hits: dict[str, Hit] = {}
        for listing, entry in await repository.listed(session, wanted):
            hits.setdefault(
                entry.address,
                Hit(entry.address, listing.source, listing.published_on, entry.currency, entry.entry_ref),
            )
        return list(hits.values())


async def import_publication(
    session: AsyncSession, publication: Publication, *, file_name: str, now: datetime
) -> tuple[ScreeningList, ScreeningList | None]:
    """Make ``publication`` the active list: (the new list, the one it replaced). Raises ``ListFileError`` for a
    publication older than the active one, or one already imported."""
    previous = await repository.active(session, for_update=True)
    if previous is not None and publication.published_on < previous.published_on:
        raise ListFileError(
            f"this list was published {publication.published_on.isoformat()}, before the active one "
            f"({previous.published_on.isoformat()}, {previous.file_name}): not imported"
        )
    if (same := await repository.by_sha256(session, publication.sha256)) is not None:
        raise ListFileError(f"this file was already imported on {same.imported_at:%Y-%m-%d} ({same.id})")
    listing = ScreeningList(
        id=new_id("scl"),
        source=publication.source,
        file_name=file_name[:255],
        sha256=publication.sha256,
        published_on=publication.published_on,
        address_count=0,
        active=False,
        imported_at=now,
    )
    unique = {(item.address, item.currency): item for item in publication.addresses if len(item.address) <= MAX_ADDRESS}
    rows = [
        {"list_id": listing.id, "address": item.address, "currency": item.currency, "entry_ref": item.entry_ref}
        for item in unique.values()
    ]
    listing.address_count = len(rows)
    await repository.add_list(session, listing, rows)
    await repository.replace_active(session, previous, listing.id)
    return listing, previous


async def lists(session: AsyncSession) -> list[ScreeningList]:
    return await repository.all_lists(session)
