"""Reconciliation: for every wallet (and the fee treasury), the ledger against the chain.

What the chain should show for an address is its ledger balance (available + held, plus deposits seen
but not yet final) corrected for transfers that are already mined but not yet settled in the ledger:
those have left the sender (and reached an OMS recipient) on chain, while the ledger still holds them.
Any remaining difference is real: an unrecorded deposit, a lost transfer, or a bug.

Deposits the ledger could not take (``flagged`` by the deposit scanner) are reported as well: they are on
chain and not in the ledger, so their wallet also shows a difference, until an operator reviews them
(``oms deposits dismiss``): a dismissed deposit's tokens are then expected at its address, outside the ledger.

``check`` runs it and keeps the outcome as its scope's last run (``reconcile_runs``: every tenant, or one): the
worker's job every minute, ``oms reconcile`` and the console's "run now" all do, so any process shows the last run
(``last_run``), whoever made it. The metrics keep the history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from oms.chain.registry import Chains
from oms.custody.service import Custody
from oms.db import Database
from oms.deposit import repository as deposit_repository
from oms.kit.money import ASSETS, format_amount
from oms.kit.time import Clock
from oms.ledger import service as ledger
from oms.models import ChainDeposit, ReconcileRecord
from oms.reconcile import repository


@dataclass(frozen=True, slots=True)
class Difference:
    chain: str
    asset: str
    address: str
    owner: str  # a wallet id, or "treasury"
    ledger: int
    on_chain: int

    def describe(self) -> str:
        decimals = ASSETS[self.asset].decimals
        return (
            f"{self.chain} {self.asset} {self.address} ({self.owner}): ledger {format_amount(self.ledger, decimals)}"
            f" vs chain {format_amount(self.on_chain, decimals)}"
        )


@dataclass(frozen=True, slots=True)
class FlaggedDeposit:
    id: str
    wallet_id: str
    chain: str
    asset: str
    on_chain: int
    reason: str
    tenant_id: str = ""
    seen_at: datetime | None = None

    def describe(self) -> str:
        amount = format_amount(self.on_chain, ASSETS[self.asset].decimals)
        return f"{self.chain} {self.asset} deposit {self.id} of {amount} to {self.wallet_id}: {self.reason}"


RunBy = Literal["worker", "cli", "console"]


@dataclass(frozen=True, slots=True)
class ReconcileRun:
    """A kept run: when, by what, for every tenant (``tenant_id`` None) or one, and what it found."""

    at: datetime
    tenant_id: str | None
    by: str
    checked: int
    differences: list[Difference]
    flagged: list[FlaggedDeposit]


class Reconciler:
    def __init__(self, *, db: Database, chains: Chains, custody: Custody, clock: Clock) -> None:
        self._db = db
        self._chains = chains
        self._custody = custody
        self._clock = clock

    async def check(self, *, by: RunBy, tenant_id: str | None = None) -> ReconcileRun:
        """Run it (the differences, then the flagged deposits) and keep the outcome."""
        checked, differences = await self.run(tenant_id=tenant_id)
        flagged = await self.flagged(tenant_id=tenant_id)
        result = ReconcileRun(self._clock.now(), tenant_id, by, checked, differences, flagged)
        async with self._db.session_scope() as session:
            await repository.record_run(session, _record(result))
        return result

    async def last_run(self, *, tenant_id: str | None = None) -> ReconcileRun | None:
        """The last run for every tenant (``tenant_id`` None) or for this one."""
        async with self._db.session_scope(write=False) as session:
            found = await repository.last_run(session, tenant_id=tenant_id)
        return _run(found) if found is not None else None

    async def run(self, *, tenant_id: str | None = None) -> tuple[int, list[Difference]]:
        """(number of addresses checked, differences); one tenant's wallets (and the treasury) if given."""
        checked, differences = 0, []
        async with self._db.session_scope(write=False) as session:
            wallets = await repository.wallets(session, tenant_id=tenant_id)
            balances = await ledger.wallet_balances(session, [w.id for w in wallets])
            in_flight = await self._in_flight(session)
            outside = await deposit_repository.dismissed_by_wallet(session)
            fees = await self._fee_totals(session)
        async with self._db.session_scope() as session:
            _, treasury = await self._custody.system_key(session, "treasury")
        for wallet in wallets:
            if not self._chains.serves(wallet.chain):
                continue
            amounts = balances[wallet.id]
            expected = (
                amounts.balance
                + amounts.pending
                + amounts.frozen
                + in_flight[(wallet.chain, wallet.asset, wallet.address)]
            )
            expected += outside.get(wallet.id, 0)
            actual = await self._chains.get(wallet.chain).balance_of(wallet.asset, wallet.address)
            checked += 1
            if actual != expected:
                differences.append(Difference(wallet.chain, wallet.asset, wallet.address, wallet.id, expected, actual))
        for (chain, asset), total in fees.items():
            if not self._chains.serves(chain):
                continue
            expected = total + in_flight[(chain, asset, treasury)]
            actual = await self._chains.get(chain).balance_of(asset, treasury)
            checked += 1
            if actual != expected:
                differences.append(Difference(chain, asset, treasury, "treasury", expected, actual))
        return checked, differences

    async def flagged(self, *, tenant_id: str | None = None) -> list[FlaggedDeposit]:
        """Deposits seen on chain that the ledger could not take (oldest first)."""
        async with self._db.session_scope(write=False) as session:
            found = await deposit_repository.flagged(session, tenant_id=tenant_id)
        return [_flagged(d) for d in found]

    async def _in_flight(self, session: AsyncSession) -> dict[tuple[str, str, str], int]:
        """Per address, what mined-but-unsettled sends already moved on chain (negative for senders)."""
        moved: dict[tuple[str, str, str], int] = defaultdict(int)
        counted: set[str] = set()
        for send, tx_hash in await repository.attempts_of_unsettled_sends(session):
            if send.id in counted:
                continue  # at most one attempt of a send can be mined
            receipt = await self._chains.get(send.chain).receipt(tx_hash)
            if receipt is not None and receipt.succeeded:
                counted.add(send.id)
                moved[(send.chain, send.asset, send.from_address)] -= send.amount
                moved[(send.chain, send.asset, send.to_address)] += send.amount
        return moved

    async def _fee_totals(self, session: AsyncSession) -> dict[tuple[str, str], int]:
        totals: dict[tuple[str, str], int] = {}
        for currency, total in (await repository.fee_balances_by_currency(session)).items():
            asset, chain = currency.split(":")
            totals[(chain, asset)] = total
        return totals


def _flagged(deposit: ChainDeposit) -> FlaggedDeposit:
    return FlaggedDeposit(
        deposit.id,
        deposit.wallet_id,
        deposit.chain,
        deposit.asset,
        int(deposit.chain_amount or deposit.amount),
        deposit.flag_reason or "",
        tenant_id=deposit.tenant_id,
        seen_at=deposit.created_at,
    )


def _record(result: ReconcileRun) -> dict[str, Any]:
    report: dict[str, Any] = {
        "differences": [
            {"chain": d.chain, "asset": d.asset, "address": d.address, "owner": d.owner,
             "ledger": str(d.ledger), "onChain": str(d.on_chain)}
            for d in result.differences
        ],
        "flagged": [
            {"id": f.id, "walletId": f.wallet_id, "chain": f.chain, "asset": f.asset, "onChain": str(f.on_chain),
             "reason": f.reason, "tenantId": f.tenant_id}
            for f in result.flagged
        ],
    }  # fmt: skip
    return {
        "scope": repository.scope_of(result.tenant_id), "tenant_id": result.tenant_id, "by": result.by,
        "at": result.at, "checked": result.checked, "difference_count": len(result.differences),
        "flagged_count": len(result.flagged), "report": report,
    }  # fmt: skip


def _run(record: ReconcileRecord) -> ReconcileRun:
    differences = [
        Difference(d["chain"], d["asset"], d["address"], d["owner"], int(d["ledger"]), int(d["onChain"]))
        for d in record.report.get("differences", [])
    ]
    flagged = [
        FlaggedDeposit(f["id"], f["walletId"], f["chain"], f["asset"], int(f["onChain"]), f["reason"], f["tenantId"])
        for f in record.report.get("flagged", [])
    ]
    return ReconcileRun(record.at, record.tenant_id, record.by, record.checked, differences, flagged)
