"""An operator resolves a flagged deposit (docs/decisions.md, "Reviewing flagged deposits"): `oms deposits flagged`
lists it, `oms deposits dismiss ID --reason ...` keeps it on record as reviewed without any ledger posting, and
`oms reconcile` passes again. Every command runs as a real `oms` process."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import select

from oms.ledger import service as ledger
from oms.models import ChainDeposit, LedgerEntry, Tenant
from tests.funding.support import customer_with_wallet
from tests.support import Api, OffsetClock, balance, fund, process_env, settle

POISON = 2**63 - 1  # on the sandbox chain, far above the maximum amount


async def test_a_flagged_deposit_is_listed_dismissed_with_a_reason_and_kept_and_reconcile_passes_again(
    api: Api, other_api: Api, ctx, clock: OffsetClock, settings
) -> None:
    _, wallet = await customer_with_wallet(api)
    _, stranger = await customer_with_wallet(other_api)
    await ctx.chains.get("polygon").mint("usdc", wallet["address"], POISON)
    await ctx.chains.get("polygon").mint("usdc", stranger["address"], POISON)
    await fund(api, wallet, "10.00")
    await settle(ctx, clock, rounds=5)
    [flagged] = await ctx.reconciler.flagged(tenant_id=api.tenant_id)
    async with ctx.db.session_scope(write=False) as session:
        tenant = await session.get(Tenant, api.tenant_id)
    assert tenant is not None

    def oms(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "oms", *args]
        return subprocess.run(command, env=process_env(settings, clock), capture_output=True, text=True, timeout=120)

    listed = oms("deposits", "flagged", "--tenant", tenant.name)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[-1] == "1 flagged deposits"
    assert f"deposit {flagged.id} of 9223372036854.775807 to {wallet['id']}: above the maximum amount" in listed.stdout
    assert oms("reconcile", "--tenant", tenant.name).returncode == 1

    blank = oms("deposits", "dismiss", flagged.id, "--reason", "  ")
    assert blank.returncode == 2 and blank.stderr.count("\n") == 1 and "--reason" in blank.stderr
    note = "sent by mistake; the sender was told to ask for it back (ticket 42)"
    dismissed = oms("deposits", "dismiss", flagged.id, "--reason", note)
    assert dismissed.returncode == 0, dismissed.stderr
    assert dismissed.stdout.startswith(f"dismissed {flagged.id} (polygon usdc to {wallet['id']})")
    again = oms("deposits", "dismiss", flagged.id, "--reason", "twice")
    assert (again.returncode, again.stderr) == (1, f"oms: {flagged.id}: deposit is dismissed, not flagged\n")
    unknown = oms("deposits", "dismiss", "dep_01kdvdna00ej3vkzc4vq4x0h8c", "--reason", "typo")
    assert unknown.returncode == 1 and "no deposit" in unknown.stderr

    assert oms("deposits", "flagged", "--tenant", tenant.name).stdout.splitlines() == ["0 flagged deposits"]
    reconciled = oms("reconcile", "--tenant", tenant.name)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert reconciled.stdout.splitlines()[-1].endswith(", 0 differences")
    # The other tenant's flagged deposit is untouched: still reported (asked by tenant: the session's database
    # holds the flagged deposits of earlier tests too).
    assert [f.wallet_id for f in await ctx.reconciler.flagged(tenant_id=other_api.tenant_id)] == [stranger["id"]]

    async with ctx.db.session_scope(write=False) as session:
        kept = await session.get(ChainDeposit, flagged.id)
        assert kept is not None
        assert (kept.status, kept.amount, kept.chain_amount, kept.flag_reason, kept.review_note) == (
            "dismissed", 0, str(POISON), "above the maximum amount", note
        )  # fmt: skip
        assert kept.reviewed_at is not None
        entries = await session.execute(select(LedgerEntry).where(LedgerEntry.reference == flagged.id))
        assert list(entries.scalars()) == []  # nothing posted: no limit to pass
        assert await ledger.check_invariants(session) == []
    assert await balance(api, wallet) == ("10.00", "10.00", "0.00")
