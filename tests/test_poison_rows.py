"""Poison rows in background jobs (docs/decisions.md, "Poison rows"): a send that cannot be signed or settled
is set aside while the others move on; a deposit-address transfer that cannot be routed is held while the
others are forwarded. The deposit scanner's poison rows are in tests/deposit/test_poison_rows.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from oms.chain.sender import new_send
from oms.kit.money import LEDGER_LIMIT
from oms.ledger import service as ledger
from oms.models import ChainSend, DepositAddressDeposit
from tests.deposit.test_poison_rows import POISON
from tests.funding.support import customer_with_wallet, event_types
from tests.support import (
    Api,
    OffsetClock,
    balance,
    fund,
    ledger_is_sound,
    quote,
    settle,
    settle_until_completed,
)


async def _poison_send(ctx, api: Api, wallet: dict[str, Any], **fields: Any) -> str:  # type: ignore[no-untyped-def]
    now = ctx.clock.now()
    send = new_send(
        tenant_id=api.tenant_id, purpose="transfer", reference="txn_01kdvdna00ej3vkzc4vq4x0h8c", chain="polygon",
        asset="usdc", from_address=wallet["address"], from_key_index=0, to_address=wallet["address"],
        amount=1, to_wallet_id=None, at=now - timedelta(seconds=5),
    )  # fmt: skip
    for name, value in fields.items():
        setattr(send, name, value)
    async with ctx.db.session_scope() as session:
        session.add(send)
    return send.id


async def _send(ctx, send_id: str) -> ChainSend:  # type: ignore[no-untyped-def]
    async with ctx.db.session_scope(write=False) as session:
        found = await session.get(ChainSend, send_id)
        assert found is not None
        return found


async def _transfer(api: Api, ctx, clock: OffsetClock) -> tuple[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    customer, source = await customer_with_wallet(api)
    _, target = await customer_with_wallet(api)
    await fund(api, source, "50.00")
    await settle(ctx, clock, rounds=4)
    offer = await quote(api, customer, source, to=target, amount="10.00")
    executed = await api.post("/transactions", {"quoteId": offer.json()["id"]})
    assert executed.status_code == 201, executed.text
    return executed.json()["id"], target


async def test_a_send_that_cannot_be_signed_is_set_aside_and_the_others_are_sent(
    api: Api, ctx, clock: OffsetClock
) -> None:
    _, wallet = await customer_with_wallet(api)
    poison = await _poison_send(ctx, api, wallet, to_address="0xnot-an-address")
    transaction_id, target = await _transfer(api, ctx, clock)
    await settle_until_completed(ctx, clock, api, transaction_id)
    assert (await api.get(f"/transactions/{transaction_id}")).json()["status"] == "completed"
    assert (await balance(api, target))[0] == "9.98"  # 10.00 less the test fees
    stuck = await _send(ctx, poison)
    # The signer refuses it (its key does not hold its address, it belongs to no transaction): set aside, with why.
    assert stuck.status == "queued" and (stuck.last_error or "").startswith("signing refused (key_mismatch)")
    assert stuck.next_check_at > clock.now()  # set aside for a while, not retried on every pass
    before = stuck.updated_at
    await ctx.sender.run_once()
    assert (await _send(ctx, poison)).updated_at == before


async def test_a_final_send_that_cannot_be_settled_is_set_aside_and_the_others_settle(
    api: Api, ctx, clock: OffsetClock
) -> None:
    _, wallet = await customer_with_wallet(api)
    poison = await _poison_send(ctx, api, wallet, status="confirmed")  # its transaction does not exist
    transaction_id, target = await _transfer(api, ctx, clock)
    await settle_until_completed(ctx, clock, api, transaction_id)
    assert (await api.get(f"/transactions/{transaction_id}")).json()["status"] == "completed"
    assert (await balance(api, target))[0] == "9.98"  # 10.00 less the test fees
    stuck = await _send(ctx, poison)
    assert not stuck.settled and stuck.last_error == f"LookupError: send {poison} has no transaction"
    assert stuck.next_check_at > clock.now()


async def _deposit_address(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    customer, wallet = await customer_with_wallet(api)
    body = {
        "source": {"asset": "usdc", "network": "polygon"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}},
    }
    opened = await api.post(f"/customers/{customer['id']}/deposit-addresses", body)
    assert opened.status_code == 201, opened.text
    return opened.json(), wallet


async def test_a_deposit_address_transfer_above_the_maximum_is_held_and_later_ones_are_forwarded(
    api: Api, other_api: Api, ctx, clock: OffsetClock
) -> None:
    poisoned, _ = await _deposit_address(api)
    address = poisoned["source"]["depositInstructions"]["address"]
    await ctx.chains.get("polygon").mint("usdc", address, POISON)
    healthy, wallet = await _deposit_address(other_api)
    simulated = await other_api.post(f"/deposit-addresses/{healthy['id']}/simulate", {"amount": {"value": "10.00"}})
    assert simulated.status_code == 200, simulated.text
    await settle(ctx, clock, rounds=12)
    assert (await balance(other_api, wallet))[0] == "9.98"  # forwarded, less the cryptoToCrypto fee
    async with ctx.db.session_scope(write=False) as session:
        rows = await session.execute(
            select(DepositAddressDeposit).where(DepositAddressDeposit.deposit_address_id == poisoned["id"])
        )
        held = [(d.status, d.hold_reason, d.amount, d.chain_amount, d.id) for d in rows.scalars()]
    assert [h[:4] for h in held] == [("held", "above_maximum", 0, str(POISON))]
    [announced] = await held_events(api)
    assert announced["data"]["object"] == {
        **announced["data"]["object"],
        "id": held[0][4],
        "object": "depositAddressTransfer",
        "depositAddressId": poisoned["id"],
        "status": "held",
        "holdReason": "above_maximum",
        "amount": "9223372036854.775807",  # exactly what arrived on chain
        "transactionId": None,
    }
    assert await held_events(other_api) == []


async def held_events(api: Api) -> list[dict[str, Any]]:
    listed = await api.get("/events", type="depositAddress.transferHeld")
    assert listed.status_code == 200, listed.text
    return list(listed.json()["data"])


async def test_a_deposit_address_transfer_that_cannot_be_routed_is_held_announced_and_the_others_forwarded(
    api: Api, other_api: Api, ctx, clock: OffsetClock
) -> None:
    poisoned, _ = await _deposit_address(api)
    async with ctx.db.session_scope() as session:  # the tenant's chain account already at the ledger's limit
        chain, clearing = [
            await ledger.system_account(
                session, tenant_id=api.tenant_id, currency="usdc:polygon", kind=kind, at=clock.now()
            )
            for kind in ("chain", "clearing")
        ]
        legs = ledger.transfer_legs("usdc:polygon", chain, clearing, LEDGER_LIMIT)
        await ledger.post_entry(
            session, tenant_id=api.tenant_id, kind="test", reference=None, legs=legs, at=clock.now()
        )
    subscribed = await api.post(
        "/webhooks", {"url": "http://127.0.0.1:9/in", "events": ["depositAddress.transferHeld"]}
    )
    assert subscribed.status_code == 201, subscribed.text
    refused = await api.post(f"/deposit-addresses/{poisoned['id']}/simulate", {"amount": {"value": "10.00"}})
    healthy, wallet = await _deposit_address(other_api)
    forwarded = await other_api.post(f"/deposit-addresses/{healthy['id']}/simulate", {"amount": {"value": "10.00"}})
    assert (refused.status_code, forwarded.status_code) == (200, 200)
    await settle(ctx, clock, rounds=12)
    assert (await balance(other_api, wallet))[0] == "9.98"
    [announced] = await held_events(api)
    transfer = announced["data"]["object"]
    assert (transfer["depositAddressId"], transfer["holdReason"], transfer["amount"]) == (
        poisoned["id"], "not_routed", "10.00"
    )  # fmt: skip
    assert (await api.get(f"/events/{announced['id']}")).json() == announced
    await ctx.webhook_delivery.deliver_all()  # delivered like any event (here to a closed port: an attempt)
    deliveries = (await api.get(f"/webhooks/{subscribed.json()['id']}/deliveries")).json()["data"]
    assert [(d["eventId"], d["attemptCount"]) for d in deliveries] == [(announced["id"], 1)]
    assert await held_events(other_api) == []
    async with ctx.db.session_scope(write=False) as session:
        assert await ledger.check_invariants(session) == []


async def _forwards(ctx, transaction_id: str) -> list[ChainSend]:  # type: ignore[no-untyped-def]
    async with ctx.db.session_scope(write=False) as session:
        statement = select(ChainSend).where(ChainSend.reference == transaction_id, ChainSend.purpose == "funding")
        return list((await session.execute(statement.order_by(ChainSend.created_at))).scalars())


async def test_a_forward_that_reverts_every_time_is_retried_with_pauses_then_given_up_and_the_queue_moves_on(
    api: Api, other_api: Api, ctx, clock: OffsetClock
) -> None:
    poisoned, wallet = await _deposit_address(api)
    healthy, other_wallet = await _deposit_address(other_api)
    for client, address in ((api, poisoned), (other_api, healthy)):
        simulated = await client.post(f"/deposit-addresses/{address['id']}/simulate", {"amount": {"value": "10.00"}})
        assert simulated.status_code == 200, simulated.text
    await settle(ctx, clock, rounds=3)  # final and routed: both forwards are queued
    async with ctx.db.session_scope(write=False) as session:
        rows = await session.execute(
            select(DepositAddressDeposit).where(DepositAddressDeposit.deposit_address_id == poisoned["id"])
        )
        [deposit] = rows.scalars()
    transaction_id = deposit.transaction_id
    assert transaction_id is not None
    chain = ctx.chains.get("polygon")
    for _ in range(40):  # every forward of this one reverts when mined (a token that refuses it, say)
        clock.advance(seconds=120)  # past any pause
        await ctx.sender.sign_queued()
        await ctx.sender.broadcast_signed()
        for send in await _forwards(ctx, transaction_id):
            if send.status == "broadcast":
                await chain.fail_when_mined(send.tx_hash)  # type: ignore[attr-defined]
        await settle(ctx, clock, rounds=4)
        waiting = [s for s in await _forwards(ctx, transaction_id) if s.status == "queued"]
        assert all(s.next_check_at > clock.now() for s in waiting)  # sent again after a pause, not at once
        if (await api.get(f"/transactions/{transaction_id}")).json()["status"] != "processing":
            break

    txn = (await api.get(f"/transactions/{transaction_id}")).json()
    assert (txn["status"], txn["subStatus"], txn["error"]["code"]) == ("failed", "chainTransactionFailed",
                                                                       "forward_failed")  # fmt: skip
    assert [s.status for s in await _forwards(ctx, transaction_id)] == ["failed"] * 5
    assert (await balance(api, wallet))[0] == "0.00"
    [announced] = await held_events(api)
    assert (announced["data"]["object"]["holdReason"], announced["data"]["object"]["id"]) == (
        "forward_failed", deposit.id
    )  # fmt: skip
    assert "transaction.cryptoToCrypto.failed" in await event_types(ctx, transaction_id)
    assert (await balance(other_api, other_wallet))[0] == "9.98"  # the other forward went out meanwhile
    async with ctx.db.session_scope(write=False) as session:
        assert await ledger.check_invariants(session) == []
    await ledger_is_sound(ctx, api)

    # The tokens are still at the address: reactivating it forwards them again (on a chain that takes it now).
    assert (await api.patch(f"/deposit-addresses/{poisoned['id']}", {"status": "paused"})).status_code == 200
    assert (await api.patch(f"/deposit-addresses/{poisoned['id']}", {"status": "active"})).status_code == 200
    await settle(ctx, clock, rounds=16)
    assert (await balance(api, wallet))[0] == "9.98"
    await ledger_is_sound(ctx, api)
