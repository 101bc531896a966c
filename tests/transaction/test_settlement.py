"""The one settlement (oms/transaction/settlement.py): a customer's transfer and funding's deliveries settle through
the same state machine, stamp their times on the tenant's clock, and send a reverted transfer again only after a
pause that doubles. Through the HTTP API, ending with the ledger invariants."""

from __future__ import annotations

import ast
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from oms.models import ChainSend
from oms.worker import settle_transactions
from tests.funding.support import advance, cash_in, customer_with_wallet, deposit, event_types, location
from tests.support import Api, OffsetClock, balance, fund, ledger_is_sound, quote, settle, settle_until_completed

EXTERNAL = "0x00000000000000000000000000000000000000bb"


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


async def sends_of(ctx, transaction_id: str, purpose: str | None = None) -> list[ChainSend]:  # type: ignore[no-untyped-def]
    async with ctx.db.session_scope(write=False) as session:
        statement = select(ChainSend).where(ChainSend.reference == transaction_id)
        if purpose is not None:
            statement = statement.where(ChainSend.purpose == purpose)
        return list((await session.execute(statement.order_by(ChainSend.created_at))).scalars())


async def funded(api: Api, ctx, clock: OffsetClock, amount: str = "50.00") -> tuple[dict[str, Any], dict[str, Any]]:  # type: ignore[no-untyped-def]
    customer, wallet = await customer_with_wallet(api)
    await fund(api, wallet, amount)
    await settle(ctx, clock, rounds=4)
    return customer, wallet


async def transfer(api: Api, customer: dict[str, Any], wallet: dict[str, Any], amount: str = "10.00") -> str:
    offer = await quote(api, customer, wallet, to=EXTERNAL, amount=amount)
    executed = await api.post("/transactions", {"quoteId": offer.json()["id"]})
    assert executed.status_code == 201, executed.text
    return str(executed.json()["id"])


async def transfer_and_delivery(api: Api, ctx, clock: OffsetClock) -> tuple[dict[str, Any], str, dict[str, Any], str]:  # type: ignore[no-untyped-def]
    """A funded customer's wallet, a transfer of 10.00 out of it and a cash-in of 40.00 delivered to it: the wallet,
    the transfer's id, the cash-in and the delivery's transaction id."""
    customer, wallet = await funded(api, ctx, clock)
    transfer_id = await transfer(api, customer, wallet)
    created = await cash_in(api, customer, wallet, await location(api, "CVS"))
    assert (await deposit(api, created, "40.00")).status_code == 200
    delivery_id = (await api.get(f"/cash-ins/{created['id']}")).json()["transactionId"]
    return wallet, transfer_id, created, delivery_id


async def until_final(ctx, clock: OffsetClock, *references: str) -> None:  # type: ignore[no-untyped-def]
    """Send, mine and watch, without settling, until every send of these transactions is final on chain."""
    for _ in range(20):
        sends = [send for reference in references for send in await sends_of(ctx, reference)]
        if sends and all(send.status in ("confirmed", "failed") for send in sends):
            return
        await ctx.sender.run_once()
        for chain in ctx.chains.all():
            await chain.mine(1)
        clock.advance(seconds=1)
    raise AssertionError("the sends did not become final")


async def test_a_transfer_and_a_funding_delivery_settle_in_one_pass_of_the_same_machine(
    api: Api, ctx, clock: OffsetClock
) -> None:
    wallet, transfer_id, created, delivery_id = await transfer_and_delivery(api, ctx, clock)
    await until_final(ctx, clock, transfer_id, delivery_id)

    assert await settle_transactions(ctx) == 2  # one pass applied both sends
    paid = (await api.get(f"/transactions/{transfer_id}")).json()
    assert (paid["status"], paid["subStatus"]) == ("processing", "collectingFee")  # its fee is swept on chain next
    delivered = (await api.get(f"/transactions/{delivery_id}")).json()
    assert (delivered["status"], delivered["subStatus"]) == ("completed", "settled")  # the fee was taken in dollars
    assert delivered["cashInId"] == created["id"] and delivered["source"]["asset"] == "usd"  # funding's extension
    assert (await api.get(f"/cash-ins/{created['id']}")).json()["status"] == "completed"  # its on-outcome hook
    assert [send.purpose for send in await sends_of(ctx, transfer_id)] == ["transfer", "fee"]

    await settle_until_completed(ctx, clock, api, transfer_id)
    assert await event_types(ctx, transfer_id) == [
        "transaction.cryptoToCrypto.processing",
        "transaction.cryptoToCrypto.completed",
    ]
    assert await event_types(ctx, delivery_id) == ["transaction.fiatToCrypto.processing",
                                                   "transaction.fiatToCrypto.completed"]  # fmt: skip
    # 50.00 in, 10.00 paid out, 40.00 cash less its fee (1.10) delivered
    assert await balance(api, wallet) == ("78.90", "78.90", "0.00")
    await ledger_is_sound(ctx, api)


async def test_settlement_stamps_updated_and_completed_on_the_tenants_clock(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await funded(api, ctx, clock)
    await advance(api, hours=2)
    transfer_id = await transfer(api, customer, wallet)
    created = await cash_in(api, customer, wallet, await location(api, "CVS"))
    assert (await deposit(api, created, "40.00")).status_code == 200
    delivery_id = (await api.get(f"/cash-ins/{created['id']}")).json()["transactionId"]
    await settle_until_completed(ctx, clock, api, transfer_id)
    await settle_until_completed(ctx, clock, api, delivery_id)

    sandbox_clock = (await api.get("/sandbox/clock")).json()
    tenant_now, system_now = parse(sandbox_clock["now"]), parse(sandbox_clock["systemNow"])
    for transaction_id in (transfer_id, delivery_id):
        done = (await api.get(f"/transactions/{transaction_id}")).json()
        assert done["status"] == "completed" and done["updatedAt"] == done["completedAt"]
        assert system_now + timedelta(hours=1) < parse(done["completedAt"]) <= tenant_now, done
        events = (await api.get("/events", type=f"transaction.{done['type']}.completed")).json()["data"]
        [announced] = [event for event in events if event["data"]["object"]["id"] == transaction_id]
        assert parse(announced["createdAt"]) <= system_now  # an event's own time is the server's (system work)
    await ledger_is_sound(ctx, api)


async def test_an_execution_is_created_on_the_tenants_clock_never_before_its_quote(
    api: Api, ctx, clock: OffsetClock
) -> None:
    customer, wallet = await funded(api, ctx, clock)
    await advance(api, hours=2)
    offer = (await quote(api, customer, wallet, to=EXTERNAL, amount="1.00")).json()
    executed = (await api.post("/transactions", {"quoteId": offer["id"]})).json()
    system_now = parse((await api.get("/sandbox/clock")).json()["systemNow"])
    assert parse(executed["createdAt"]) >= parse(offer["createdAt"]) > system_now + timedelta(hours=1)
    assert executed["updatedAt"] == executed["createdAt"]
    accepted = (await api.get(f"/quotes/{offer['id']}")).json()
    assert accepted["status"] == "accepted"
    await ledger_is_sound(ctx, api)


async def test_a_reverted_fee_sweep_is_sent_again_after_a_pause_that_doubles(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await funded(api, ctx, clock)
    transfer_id = await transfer(api, customer, wallet)
    for _ in range(10):  # the principal is delivered: the fee sweep is queued
        if (await api.get(f"/transactions/{transfer_id}")).json()["subStatus"] == "collectingFee":
            break
        await settle(ctx, clock, rounds=1)
    chain = ctx.chains.get("polygon")
    for pause in (10, 20):
        await ctx.sender.sign_queued()
        await ctx.sender.broadcast_signed()
        [sweep] = [send for send in await sends_of(ctx, transfer_id, "fee") if send.status == "broadcast"]
        await chain.fail_when_mined(sweep.tx_hash)  # type: ignore[attr-defined]
        await settle(ctx, clock, rounds=5)
        fees = await sends_of(ctx, transfer_id, "fee")
        assert [send.status for send in fees][-2:] == ["failed", "queued"]
        assert fees[-1].next_check_at - fees[-1].created_at == timedelta(seconds=pause)  # not at once
        waiting = (await api.get(f"/transactions/{transfer_id}")).json()
        assert (waiting["status"], waiting["subStatus"]) == ("processing", "collectingFee")
        clock.advance(seconds=pause)
    await settle_until_completed(ctx, clock, api, transfer_id)
    assert [send.status for send in await sends_of(ctx, transfer_id, "fee")] == ["failed", "failed", "confirmed"]
    assert (await api.get(f"/transactions/{transfer_id}")).json()["status"] == "completed"
    assert await balance(api, wallet) == ("40.00", "40.00", "0.00")  # 10.00 (its fee included) paid once
    await ledger_is_sound(ctx, api)


async def test_a_reverted_transfer_is_not_sent_again_and_a_reverted_delivery_is_reversed(
    api: Api, ctx, clock: OffsetClock
) -> None:
    wallet, transfer_id, created, delivery_id = await transfer_and_delivery(api, ctx, clock)
    await ctx.sender.sign_queued()
    await ctx.sender.broadcast_signed()
    for reference in (transfer_id, delivery_id):
        [send] = await sends_of(ctx, reference)
        await ctx.chains.get("polygon").fail_when_mined(send.tx_hash)  # type: ignore[attr-defined]
    await settle(ctx, clock)
    for reference in (transfer_id, delivery_id):
        failed = (await api.get(f"/transactions/{reference}")).json()
        assert (failed["status"], failed["subStatus"]) == ("failed", "chainTransactionFailed")
        assert failed["error"]["code"] == "chain_transaction_failed" and failed["completedAt"] is None
        assert [send.status for send in await sends_of(ctx, reference)] == ["failed"]  # given up at once
    assert (await api.get(f"/cash-ins/{created['id']}")).json()["status"] == "failed"
    assert await balance(api, wallet) == ("50.00", "50.00", "0.00")  # the hold released, nothing delivered
    await ledger_is_sound(ctx, api)


def test_transaction_imports_nothing_of_funding() -> None:
    """Funding plugs into transactions through oms/transaction/ports.py, registered by oms/context.py."""
    package = Path(__file__).parents[2] / "oms" / "transaction"
    imported = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add((source.name, node.module))
            elif isinstance(node, ast.Import):
                imported |= {(source.name, alias.name) for alias in node.names}
    assert [pair for pair in sorted(imported) if pair[1].startswith("oms.funding")] == []
