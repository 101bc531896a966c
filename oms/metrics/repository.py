"""The SQL of a scrape: how much work waits in each queue, and since when. Every query reads an index the
workers use themselves (status, due times), so a scrape costs a few index scans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from oms.models import ChainCursor, ChainDeposit, ChainSend, DepositAddressDeposit, WebhookDelivery


@dataclass(frozen=True, slots=True)
class Queue:
    name: str  # chain_sends, settlements, deposits, webhook_deliveries, forwards
    status: str
    depth: int
    oldest: datetime | None


# Every queue's statuses, reported (0 when empty) even before anything waits in them: an alert on a series
# must not depend on the series having appeared.
KNOWN: tuple[tuple[str, str], ...] = (
    ("chain_sends", "queued"), ("chain_sends", "held"), ("chain_sends", "signed"), ("chain_sends", "broadcast"),
    ("settlements", "confirmed"), ("settlements", "failed"), ("deposits", "pending"), ("deposits", "flagged"),
)  # fmt: skip


async def queues(session: AsyncSession) -> list[Queue]:
    found: list[Queue] = []
    # Sends not settled yet: before the chain (queued, held, signed), on it (broadcast: awaiting
    # confirmations); final ones (confirmed, failed) wait for the settlement job.
    sends = (
        select(ChainSend.status, func.count(), func.min(ChainSend.created_at))
        .where(ChainSend.settled == false())
        .group_by(ChainSend.status)
    )
    for status, depth, oldest in await session.execute(sends):
        name = "settlements" if status in {"confirmed", "failed"} else "chain_sends"
        found.append(Queue(name, status, depth, oldest))
    deposits = (
        select(ChainDeposit.status, func.count(), func.min(ChainDeposit.created_at))
        .where(ChainDeposit.status.in_(["pending", "flagged"]))
        .group_by(ChainDeposit.status)
    )
    found += [Queue("deposits", status, depth, oldest) for status, depth, oldest in await session.execute(deposits)]
    deliveries = select(func.count(), func.min(WebhookDelivery.created_at)).where(WebhookDelivery.status == "pending")
    depth, oldest = (await session.execute(deliveries)).one()
    found.append(Queue("webhook_deliveries", "pending", depth, oldest))
    forwards = select(func.count(), func.min(DepositAddressDeposit.created_at)).where(
        DepositAddressDeposit.status == "held"
    )
    depth, oldest = (await session.execute(forwards)).one()
    found.append(Queue("forwards", "held", depth, oldest))
    seen = {(queue.name, queue.status) for queue in found}
    return found + [Queue(name, status, 0, None) for name, status in KNOWN if (name, status) not in seen]


async def scanned_to(session: AsyncSession) -> dict[tuple[str, str], int]:
    """The last block the deposit scanner read, per (chain, asset)."""
    rows = await session.execute(select(ChainCursor.chain, ChainCursor.asset, ChainCursor.scanned_to))
    return {(chain, asset): block for chain, asset, block in rows}
