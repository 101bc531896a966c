"""Background jobs. Each job runs in its own transaction (``session_scope``) and is safe to run in
several processes at once (rows are claimed with ``FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL). A pass
that loses a deadlock or a serialization failure is run again at once, a few times (``retry_conflicts``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from oms.audit import service as audit
from oms.chain.port import dev_controls
from oms.config import Mode
from oms.context import AppContext
from oms.metrics.registry import RECONCILE_DIFFERENCES, RECONCILE_LAST_RUN
from oms.outage import retry_conflicts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    interval: float
    run: Callable[[AppContext], Awaitable[int]]


async def review_endorsements(ctx: AppContext) -> int:
    async with ctx.db.session_scope() as session:
        return await ctx.customers.review_due(session)


async def send_on_chain(ctx: AppContext) -> int:
    return await ctx.sender.run_once()


async def detect_deposits(ctx: AppContext) -> int:
    return await ctx.deposits.run_once()


async def settle_transactions(ctx: AppContext) -> int:
    async with ctx.db.session_scope() as session:
        return await ctx.settlement.settle_final_sends(session)


async def produce_sandbox_blocks(ctx: AppContext) -> int:
    for adapter in ctx.chains.all():
        await dev_controls(adapter).mine(1)
    return 0  # always wait a block time before the next


async def reconcile(ctx: AppContext) -> int:
    result = await ctx.reconciler.check(by="worker")  # kept: the console shows it
    RECONCILE_DIFFERENCES.set(len(result.differences))
    RECONCILE_LAST_RUN.set_to_current_time()
    for difference in result.differences:
        log.warning("ledger and chain differ", extra={"difference": difference.describe()})
    for deposit in result.flagged:
        log.warning("deposit flagged, not credited", extra={"deposit": deposit.id, "reason": deposit.reason})
    return 0


async def expire_cash_ins(ctx: AppContext) -> int:
    async with ctx.db.session_scope() as session:
        return await ctx.funding.cash_ins.expire_due(session)


async def watch_deposit_addresses(ctx: AppContext) -> int:
    return await ctx.funding.deposit_addresses.run_once()


async def deliver_webhooks(ctx: AppContext) -> int:
    return await ctx.webhook_delivery.run()


async def expire_reviews(ctx: AppContext) -> int:
    async with ctx.db.session_scope() as session:
        return await ctx.reviews.expire_due(session)


async def log_audit_head(ctx: AppContext) -> int:
    """The audit chain's head, written to the log: a head logged earlier must stay in the chain unchanged
    (``oms audit verify --head SEQ:HASH``), so a truncated chain is seen even if its head row was rewritten."""
    async with ctx.db.session_scope(write=False) as session:
        sequence, digest = await audit.current_head(session)
    log.info("audit chain head", extra={"audit_head": f"{sequence}:{digest}"})
    return 0


def jobs_for(ctx: AppContext) -> list[Job]:
    jobs = [
        Job("chain-sender", 0.2, send_on_chain),
        Job("deposit-scanner", 0.5, detect_deposits),
        Job("transaction-settlement", 0.2, settle_transactions),
        Job("deposit-address-watcher", 0.5, watch_deposit_addresses),
        Job("cash-in-expiry", 5.0, expire_cash_ins),
        Job("review-expiry", 5.0, expire_reviews),
        Job("reconcile", 60.0, reconcile),
        Job("audit-head", ctx.settings.audit_head_log_seconds, log_audit_head),
    ]
    if ctx.settings.mode is Mode.sandbox:
        jobs.append(Job("sandbox-kyc-review", 0.1, review_endorsements))
    if ctx.settings.chain == "sandbox":
        jobs.append(Job("sandbox-blocks", ctx.settings.sandbox_block_seconds, produce_sandbox_blocks))
    jobs.append(Job("webhook-delivery", ctx.settings.webhook_poll_seconds, deliver_webhooks))
    return jobs


async def run_job(ctx: AppContext, job: Job) -> int:
    """One pass of ``job`` (run again on a conflict), in a span of its own when tracing is on."""
    with ctx.tracing.span(f"job {job.name}", job=job.name):
        return await retry_conflicts(partial(job.run, ctx), what=job.name)


async def run_job_forever(ctx: AppContext, job: Job) -> None:
    while True:
        try:
            done = await run_job(ctx, job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job failed", extra={"job": job.name})
            done = 0
        if not done:
            await asyncio.sleep(job.interval)


async def run_all(ctx: AppContext) -> None:
    """Run every job until cancelled."""
    await asyncio.gather(*(run_job_forever(ctx, job) for job in jobs_for(ctx)))


async def run_once(ctx: AppContext) -> int:
    """Run each job once (tests and one-shot commands); returns how much work was done."""
    return sum([await run_job(ctx, job) for job in jobs_for(ctx)])
