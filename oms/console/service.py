"""What the console shows that no single service answers: the home page's series, a transaction's timeline and
the reconciliation's last run. Each reads through the domains' repositories and services (no SQL, no rule of
its own here); the pages (``oms.console.endpoints``) call this and the domain services directly."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from oms.chain import repository as chain_repository
from oms.chain.registry import Chains
from oms.controls import repository as controls_repository
from oms.errors import NotFound
from oms.kit.money import ASSETS, format_amount
from oms.kit.time import Clock
from oms.ledger import repository as ledger_repository
from oms.metrics import repository as metrics_repository
from oms.models import ChainSend, ChainSendAttempt, Transaction
from oms.outage import unavailable
from oms.quote import repository as quote_repository
from oms.transaction import repository as transaction_repository
from oms.webhook import repository as webhook_repository

DAYS = 14  # the volume chart's days
MINUTES = 60  # the transfers chart's minutes
LAG_HOURS = 24  # the webhook lag chart's hours

# What the ledger's entry kinds mean, for people (an unknown kind is shown as it is).
ENTRY_TITLES = {
    "transfer.hold": "Funds held",
    "transfer.settle": "Settled in the ledger",
    "transfer.release": "Hold released",
    "transfer.fee": "Fee collected",
}


@dataclass(frozen=True, slots=True)
class Point:
    label: str  # the bucket, as the axis names it
    value: float


@dataclass(frozen=True, slots=True)
class Series:
    title: str
    unit: str
    points: list[Point]


@dataclass(frozen=True, slots=True)
class QueueDepth:
    name: str
    status: str
    depth: int
    oldest_seconds: float | None


@dataclass(frozen=True, slots=True)
class Home:
    volume: list[Series]  # one per asset
    transfers: Series
    webhook_lag: Series
    queues: list[QueueDepth]


@dataclass(frozen=True, slots=True)
class Step:
    """One moment of a transaction's life, as its timeline shows it."""

    at: datetime | None
    stage: str  # quote, created, hold, review, send, confirmations, settled, failed, ledger
    title: str
    detail: str = ""
    tx_hash: str | None = None
    state: str = "done"  # done, waiting, failed


@dataclass
class ConsoleService:
    clock: Clock
    chains: Chains

    # --- home -----------------------------------------------------------------------------------------

    async def home(self, session: AsyncSession, tenant_id: str) -> Home:
        now = self.clock.now()
        day0 = (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
        by_asset: dict[str, dict[str, int]] = defaultdict(dict)
        for day, asset, total in await transaction_repository.completed_volume_by_day(
            session, day0, tenant_id=tenant_id
        ):
            by_asset[asset][day] = total
        days = [(day0 + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(DAYS)]
        volume = [
            Series(
                f"Volume per day ({asset.upper()})",
                asset.upper(),
                [Point(d[5:], float(format_amount(totals.get(d, 0), ASSETS[asset].decimals))) for d in days],
            )
            for asset, totals in sorted(by_asset.items())
        ] or [Series("Volume per day", "USDC", [Point(d[5:], 0.0) for d in days])]

        minute0 = (now - timedelta(minutes=MINUTES - 1)).replace(second=0, microsecond=0)
        counts = dict(await transaction_repository.created_per_minute(session, minute0, tenant_id=tenant_id))
        minutes = [minute0 + timedelta(minutes=n) for n in range(MINUTES)]
        transfers = Series(
            "Transfers per minute (last hour)",
            "transfers",
            [Point(m.strftime("%H:%M"), float(counts.get(m.strftime("%Y-%m-%d %H:%M"), 0))) for m in minutes],
        )

        hour0 = (now - timedelta(hours=LAG_HOURS - 1)).replace(minute=0, second=0, microsecond=0)
        lags: dict[datetime, list[float]] = defaultdict(list)
        for created, delivered in await webhook_repository.delivered_since(session, tenant_id, hour0):
            lags[created.replace(minute=0, second=0, microsecond=0)].append((delivered - created).total_seconds())
        hours = [hour0 + timedelta(hours=n) for n in range(LAG_HOURS)]
        webhook_lag = Series(
            "Webhook lag: mean seconds from event to delivery, per hour",
            "seconds",
            [Point(h.strftime("%H:00"), round(sum(lags[h]) / len(lags[h]), 2) if lags[h] else 0.0) for h in hours],
        )

        queues = [
            QueueDepth(q.name, q.status, q.depth, (now - q.oldest).total_seconds() if q.oldest else None)
            for q in await metrics_repository.queues(session)
        ]
        queues.sort(key=lambda q: (q.name, q.status))
        return Home(volume, transfers, webhook_lag, queues)

    # --- a transaction's timeline ---------------------------------------------------------------------

    async def timeline(self, session: AsyncSession, tenant_id: str, transaction_id: str) -> list[Step]:
        """quote → hold → (review) → send → confirmations → settlement or failure, each with its time and
        hash, read from the quote, the ledger's entries, the reviews and the chain sends of the transaction."""
        transaction = await transaction_repository.get(session, tenant_id, transaction_id)
        if transaction is None:
            raise NotFound.resource("transaction", transaction_id)
        return await self._timeline(session, transaction)

    async def _timeline(self, session: AsyncSession, transaction: Transaction) -> list[Step]:
        steps: list[Step] = []
        decimals = ASSETS[transaction.asset].decimals if transaction.asset in ASSETS else 6

        def amount(minor: int) -> str:
            return f"{format_amount(minor, decimals)} {transaction.asset.upper()}"

        if transaction.quote_id is not None:
            quote = await quote_repository.get(session, transaction.tenant_id, transaction.quote_id)
            if quote is not None:
                steps.append(Step(quote.created_at, "quote", "Quote locked", quote.id))
        steps.append(
            Step(
                transaction.created_at,
                "created",
                "Transaction accepted",
                f"{amount(transaction.source_gross)} (fee {amount(transaction.fee)}, "
                f"delivers {amount(transaction.destination_net)})",
            )
        )
        for entry in await ledger_repository.entries_for(session, transaction.tenant_id, transaction.id):
            steps.append(Step(entry.created_at, "ledger", ENTRY_TITLES.get(entry.kind, entry.kind), entry.kind))
        reviews = await controls_repository.reviews_of(session, transaction.id)
        votes = await controls_repository.votes_of(session, [r.id for r in reviews])
        for review in reviews:
            steps.append(Step(review.created_at, "review", f"Held for {review.kind} review", review.id, None, "done"))
            for vote in votes[review.id]:
                steps.append(Step(vote.at, "review", f"Review {vote.decision}d by {vote.operator_id}", review.id))
            if review.status == "pending":
                steps.append(Step(None, "review", "Awaiting a decision", review.id, None, "waiting"))
        sends = await transaction_repository.sends_of(session, transaction.id)
        attempts: dict[str, list[ChainSendAttempt]] = defaultdict(list)
        for attempt in await chain_repository.attempts_of(session, [s.id for s in sends]):
            attempts[attempt.send_id].append(attempt)
        heads: dict[str, int | None] = {}  # one head per chain for the page, not one per send
        for send in sends:
            what = f"{send.purpose} of {amount(send.amount)} to {send.to_address}"
            steps.append(Step(send.created_at, "send", f"Chain send queued ({send.purpose})", what))
            for attempt in sorted(attempts[send.id], key=lambda a: a.attempt):
                steps.append(
                    Step(attempt.created_at, "send", f"Signed (attempt {attempt.attempt + 1})", what, attempt.tx_hash)
                )
            if send.broadcast_at is not None:
                steps.append(Step(send.broadcast_at, "send", "Broadcast", what, send.tx_hash))
            steps.append(await self._confirmations(send, heads))
        if transaction.status == "completed":
            steps.append(Step(transaction.completed_at, "settled", "Settled: completed", transaction.sub_status or ""))
        elif transaction.status == "failed":
            error = transaction.error or {"code": transaction.sub_status or "failed", "message": ""}
            steps.append(
                Step(transaction.updated_at, "failed", f"Failed: {error['code']}", error["message"], None, "failed")
            )
        else:
            steps.append(Step(None, "settled", "Awaiting settlement", transaction.sub_status or "", None, "waiting"))
        return sorted(steps, key=lambda s: (s.at is None, s.at or transaction.created_at))

    async def _confirmations(self, send: ChainSend, heads: dict[str, int | None]) -> Step:
        block, status, tx_hash, at = send.block_number, send.status, send.tx_hash, send.updated_at
        if block is None:
            return Step(None, "confirmations", "Not mined yet", status, tx_hash, "waiting")
        if not self.chains.serves(send.chain):
            return Step(at, "confirmations", f"Mined in block {block}", status, tx_hash)
        adapter = self.chains.get(send.chain)
        if send.chain not in heads:
            try:
                heads[send.chain] = await adapter.head()
            except Exception as exc:  # the node is down: the page still shows what the database knows
                if unavailable(exc) is None:
                    raise
                heads[send.chain] = None
        head = heads[send.chain]
        if head is None:
            return Step(at, "confirmations", f"Mined in block {block}", "chain head unknown", tx_hash, "waiting")
        seen = max(0, head - block + 1)
        final = status in {"confirmed", "failed"}
        state = "failed" if status == "failed" else "done" if final else "waiting"
        title = f"Mined in block {block}: {min(seen, adapter.confirmations)}/{adapter.confirmations} confirmations"
        outcome = "reverted on chain" if status == "failed" else status
        return Step(at, "confirmations", title, outcome, tx_hash, state)
