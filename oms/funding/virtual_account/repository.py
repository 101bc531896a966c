"""The SQL of virtual accounts besides the instrument's (``oms.funding.instrument.repository``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.models import VirtualAccount


async def number_taken(session: AsyncSession, routing_number: str, account_number: str) -> bool:
    statement = select(VirtualAccount.id).where(
        VirtualAccount.routing_number == routing_number, VirtualAccount.account_number == account_number
    )
    return (await session.scalar(statement)) is not None
