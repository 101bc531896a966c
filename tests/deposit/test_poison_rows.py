"""Poison rows in the deposit scanner (docs/decisions.md, "Poison rows"): a deposit the ledger cannot take is
flagged and reported while every later deposit, of any tenant, is still credited."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import select

from oms.kit.money import LEDGER_LIMIT
from oms.ledger import service as ledger
from oms.models import ChainDeposit, Tenant
from tests.funding.support import customer_with_wallet, event_types
from tests.support import Api, OffsetClock, balance, fund, process_env, settle

POISON = 2**63 - 1  # 9223372036854.775807 USDC: what the sandbox chain can hold, far above the maximum


async def deposits_of(ctx, wallet: dict[str, Any]) -> list[ChainDeposit]:  # type: ignore[no-untyped-def]
    async with ctx.db.session_scope(write=False) as session:
        statement = select(ChainDeposit).where(ChainDeposit.wallet_id == wallet["id"]).order_by(ChainDeposit.created_at)
        return list((await session.execute(statement)).scalars())


async def mint(ctx, wallet: dict[str, Any], amount: int) -> None:  # type: ignore[no-untyped-def]
    await ctx.chains.get(wallet["chain"]).mint(wallet["asset"], wallet["address"], amount)


async def test_a_deposit_above_the_maximum_is_flagged_and_later_deposits_of_every_tenant_are_credited(
    api: Api, other_api: Api, ctx, clock: OffsetClock, settings, caplog: pytest.LogCaptureFixture
) -> None:
    _, poisoned = await customer_with_wallet(api)
    _, neighbour = await customer_with_wallet(api)
    _, stranger = await customer_with_wallet(other_api)
    await mint(ctx, poisoned, POISON)  # straight on the chain, as anyone can send to an address
    await mint(ctx, poisoned, POISON)  # twice: the address now holds more than 2^63 units on chain
    await settle(ctx, clock, rounds=1)
    await fund(api, poisoned, "10.00")
    await fund(api, neighbour, "20.00")
    await fund(other_api, stranger, "30.00")
    with caplog.at_level(logging.WARNING):
        await settle(ctx, clock, rounds=5)
    assert await balance(api, poisoned) == ("10.00", "10.00", "0.00")
    assert await balance(api, neighbour) == ("20.00", "20.00", "0.00")
    assert await balance(other_api, stranger) == ("30.00", "30.00", "0.00")
    flagged = [d for d in await deposits_of(ctx, poisoned) if d.status == "flagged"]
    assert [(d.amount, d.chain_amount, d.flag_reason) for d in flagged] == [
        (0, str(POISON), "above the maximum amount")
    ] * 2
    assert await event_types(ctx, flagged[0].id) == ["wallet.depositFlagged"]
    logged = [r for r in caplog.records if r.getMessage().startswith("deposit flagged")]
    assert {r.__dict__["deposit"] for r in logged} == {d.id for d in flagged}
    reported = await ctx.reconciler.flagged(tenant_id=api.tenant_id)
    assert [f.id for f in reported] == [d.id for d in flagged]
    assert (await ctx.reconciler.flagged(tenant_id=other_api.tenant_id)) == []

    async with ctx.db.session_scope(write=False) as session:
        tenant = await session.get(Tenant, api.tenant_id)
        assert await ledger.check_invariants(session) == []
    command = [sys.executable, "-m", "oms", "reconcile", "--tenant", tenant.name]
    found = subprocess.run(command, env=process_env(settings, clock), capture_output=True, text=True, timeout=120)
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"FLAGGED polygon usdc deposit {flagged[0].id} of 9223372036854.775807 to {poisoned['id']}" in found.stdout
    assert f"vs chain {2 * POISON // 10**6 + 10}.{2 * POISON % 10**6:06d}".rstrip("0") in found.stdout
    assert "2 flagged deposits" in found.stdout and "Traceback" not in found.stderr


async def test_a_deposit_the_ledger_refuses_is_flagged_its_pending_reversed_and_the_pass_moves_on(
    api: Api, other_api: Api, ctx, clock: OffsetClock
) -> None:
    _, full = await customer_with_wallet(api)
    _, stranger = await customer_with_wallet(other_api)
    async with ctx.db.session_scope() as session:  # a wallet already at the ledger's limit (from a system account)
        accounts = await ledger.wallet_account_ids(session, full["id"])
        clearing = await ledger.system_account(
            session, tenant_id=api.tenant_id, currency="usdc:polygon", kind="clearing", at=clock.now()
        )
        legs = ledger.transfer_legs("usdc:polygon", clearing, accounts["available"], LEDGER_LIMIT)
        await ledger.post_entry(
            session, tenant_id=api.tenant_id, kind="test", reference=None, legs=legs, at=clock.now()
        )
    await fund(api, full, "5.00")
    await fund(other_api, stranger, "7.00")
    await settle(ctx, clock, rounds=5)
    [deposit] = await deposits_of(ctx, full)
    assert deposit.status == "flagged" and deposit.chain_amount == "5000000"
    assert deposit.flag_reason is not None and deposit.flag_reason.startswith("not credited: LedgerLimitExceeded")
    assert await event_types(ctx, deposit.id) == ["wallet.depositDetected", "wallet.depositFlagged"]
    _, available, pending = await balance(api, full)
    assert pending == "0.00" and available == f"{LEDGER_LIMIT // 10**6}.00"  # detected, then reversed
    assert await balance(other_api, stranger) == ("7.00", "7.00", "0.00")
    async with ctx.db.session_scope(write=False) as session:
        assert await ledger.check_invariants(session) == []
