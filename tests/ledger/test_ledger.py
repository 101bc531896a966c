"""The double-entry ledger: post_entry's rules and the invariants the database holds."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from oms.ledger import service as ledger
from oms.models import LedgerAccount
from tests.support import Api, create_customer, create_wallet

USDC = ledger.currency_of("usdc", "polygon")


async def wallet_account(session, wallet_id: str, kind: str) -> int:  # type: ignore[no-untyped-def]
    return int(
        await session.scalar(
            select(LedgerAccount.id).where(LedgerAccount.wallet_id == wallet_id, LedgerAccount.kind == kind)
        )
    )


async def two_wallets(api: Api) -> tuple[str, str]:
    first = await create_wallet(api, (await create_customer(api))["id"])
    second = await create_wallet(api, (await create_customer(api))["id"])
    return first["id"], second["id"]


async def test_worked_example_deposit_then_transfer_keeps_the_books_balanced(api: Api, ctx) -> None:
    alice, bob = await two_wallets(api)
    now = ctx.clock.now()
    async with ctx.db.session_scope() as session:
        chain = await ledger.system_account(session, tenant_id=api.tenant_id, currency=USDC, kind="chain", at=now)
        a, b = await wallet_account(session, alice, "available"), await wallet_account(session, bob, "available")
        await ledger.post_entry(
            session,
            tenant_id=api.tenant_id,
            kind="deposit",
            reference="dep-1",
            at=now,
            legs=[ledger.Leg(chain, USDC, -100_000_000), ledger.Leg(a, USDC, 100_000_000)],
        )
        await ledger.post_entry(
            session,
            tenant_id=api.tenant_id,
            kind="transfer",
            reference="txn-1",
            at=now,
            legs=[ledger.Leg(a, USDC, -30_000_000), ledger.Leg(b, USDC, 30_000_000)],
        )
    async with ctx.db.session_scope(write=False) as session:
        balances = await ledger.wallet_balances(session, [alice, bob])
        assert (balances[alice].balance, balances[bob].balance) == (70_000_000, 30_000_000)
        assert await ledger.check_invariants(session) == []


async def test_unbalanced_entry_is_refused(api: Api, ctx) -> None:
    alice, bob = await two_wallets(api)
    async with ctx.db.session_scope() as session:
        a, b = await wallet_account(session, alice, "available"), await wallet_account(session, bob, "available")
        with pytest.raises(ledger.UnbalancedEntry):
            await ledger.post_entry(
                session,
                tenant_id=api.tenant_id,
                kind="bad",
                reference=None,
                at=ctx.clock.now(),
                legs=[ledger.Leg(a, USDC, -1), ledger.Leg(b, USDC, 2)],
            )


async def test_a_leg_in_the_wrong_currency_is_refused(api: Api, ctx) -> None:
    alice, _ = await two_wallets(api)
    other = ledger.currency_of("usdt", "polygon")
    async with ctx.db.session_scope() as session:
        chain = await ledger.system_account(
            session, tenant_id=api.tenant_id, currency=other, kind="chain", at=ctx.clock.now()
        )
        a = await wallet_account(session, alice, "available")
        with pytest.raises(ledger.UnbalancedEntry):
            await ledger.post_entry(
                session,
                tenant_id=api.tenant_id,
                kind="bad",
                reference=None,
                at=ctx.clock.now(),
                legs=[ledger.Leg(chain, other, -5), ledger.Leg(a, other, 5)],
            )
        await session.rollback()


async def test_overdraft_is_insufficient_funds_and_changes_nothing(api: Api, ctx) -> None:
    alice, bob = await two_wallets(api)
    async with ctx.db.session(write=True) as session:
        a, b = await wallet_account(session, alice, "available"), await wallet_account(session, bob, "available")
        with pytest.raises(ledger.InsufficientFunds):
            await ledger.post_entry(
                session,
                tenant_id=api.tenant_id,
                kind="transfer",
                reference=None,
                at=ctx.clock.now(),
                legs=[ledger.Leg(a, USDC, -1), ledger.Leg(b, USDC, 1)],
            )
        await session.rollback()
    async with ctx.db.session_scope(write=False) as session:
        balances = await ledger.wallet_balances(session, [alice, bob])
    assert balances[alice].balance == balances[bob].balance == 0


async def test_postings_are_append_only_in_the_database(api: Api, ctx) -> None:
    alice, _ = await two_wallets(api)
    now = ctx.clock.now()
    async with ctx.db.session_scope() as session:
        chain = await ledger.system_account(session, tenant_id=api.tenant_id, currency=USDC, kind="chain", at=now)
        a = await wallet_account(session, alice, "available")
        entry = await ledger.post_entry(
            session,
            tenant_id=api.tenant_id,
            kind="deposit",
            reference=None,
            at=now,
            legs=[ledger.Leg(chain, USDC, -5), ledger.Leg(a, USDC, 5)],
        )
    for statement in (
        f"UPDATE ledger_postings SET amount = 6 WHERE entry_id = {entry}",
        f"DELETE FROM ledger_postings WHERE entry_id = {entry}",
    ):
        async with ctx.db.session(write=True) as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
            await session.rollback()


async def test_a_wallet_account_cannot_go_negative_in_the_database(api: Api, ctx) -> None:
    alice, _ = await two_wallets(api)
    async with ctx.db.session(write=True) as session:
        a = await wallet_account(session, alice, "available")
        with pytest.raises(DBAPIError):
            await session.execute(text(f"UPDATE ledger_accounts SET balance = -1 WHERE id = {a}"))
        await session.rollback()


async def test_postgres_refuses_an_unbalanced_entry_written_around_the_service(api: Api, ctx, is_postgres) -> None:
    if not is_postgres:
        pytest.skip("the deferred sum-to-zero trigger is PostgreSQL's; SQLite relies on post_entry")
    alice, _ = await two_wallets(api)
    async with ctx.db.session(write=True) as session:
        a = await wallet_account(session, alice, "available")
        entry = await session.scalar(
            text("INSERT INTO ledger_entries (tenant_id, kind, created_at) VALUES (:t, 'raw', now()) RETURNING id"),
            {"t": api.tenant_id},
        )
        await session.execute(
            text("INSERT INTO ledger_postings (entry_id, account_id, currency, amount) VALUES (:e, :a, :c, 5)"),
            {"e": entry, "a": a, "c": USDC},
        )
        with pytest.raises(DBAPIError, match="does not sum to zero"):
            await session.commit()
