"""Deposit addresses: custody-derived addresses whose incoming tokens are forwarded to a wallet, less the fee."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import select

from oms.models import ChainSend, CustodyKey, DepositAddressDeposit
from tests.funding.support import customer_with_wallet, event_types, settle_funding
from tests.support import Api, OffsetClock, assert_error, balance, create_customer, fields, ledger_is_sound


async def open_address(api: Api, customer: dict[str, Any], wallet: dict[str, Any], **extra: Any) -> Any:
    body = {
        "source": {"asset": "usdc", "network": "polygon"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}},
        **extra,
    }
    return await api.post(f"/customers/{customer['id']}/deposit-addresses", body)


async def new_address(api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    customer, wallet = await customer_with_wallet(api)
    response = await open_address(api, customer, wallet, label="savings")
    assert response.status_code == 201, response.text
    return customer, wallet, response.json()


async def simulate(api: Api, address: dict[str, Any], value: str) -> Any:
    return await api.post(f"/deposit-addresses/{address['id']}/simulate", {"amount": {"value": value}})


async def test_a_simulation_takes_the_amount_as_a_string_too_and_refuses_another_currency(
    api: Api, ctx, clock: OffsetClock
) -> None:
    _, wallet, address = await new_address(api)
    path = f"/deposit-addresses/{address['id']}/simulate"
    response = await api.post(path, {"amount": "20.00"})  # as the virtual accounts' simulation takes it
    assert response.status_code == 200, response.text
    assert response.json()["amount"] == {"value": "20.00", "currency": "usdc"}
    named = await api.post(path, {"amount": {"value": "5.00", "currency": "USDC"}})
    assert named.status_code == 200, named.text
    assert_error(await api.post(path, {"amount": {"value": "5.00", "currency": "usdt"}}), 400, "invalid_currency",
                 param="amount.currency")  # fmt: skip
    assert_error(await api.post(path, {"amount": "5.0000001"}), 400, "invalid_amount", param="amount")
    assert_error(await api.post(path, {"amount": {"value": "5.0000001"}}), 400, "invalid_amount", param="amount.value")
    await settle_funding(ctx, clock)
    assert (await balance(api, wallet))[0] != "0.00"


async def held(ctx, address_id: str) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    async with ctx.db.session_scope(write=False) as session:
        rows = await session.execute(
            select(DepositAddressDeposit.status, DepositAddressDeposit.hold_reason).where(
                DepositAddressDeposit.deposit_address_id == address_id
            )
        )
        return [(row[0], row[1]) for row in rows]


async def test_a_deposit_address_is_derived_by_custody(api: Api, ctx) -> None:
    customer, wallet, created = await new_address(api)
    address = fields(created)
    assert address.id.startswith("da_") and address.status == "active" and address.transactionType == "cryptoToCrypto"
    deposit_to = address.source.depositInstructions.address
    assert deposit_to == to_checksum_address(deposit_to) and deposit_to != wallet["address"]
    assert (address.source.asset, address.source.network) == ("usdc", "polygon")
    assert address.destination.wallet.id == wallet["id"] and address.label == "savings"
    async with ctx.db.session_scope(write=False) as session:
        key = (await session.execute(select(CustodyKey).where(CustodyKey.address == deposit_to))).scalar_one()
    assert key.purpose == "deposit_address"
    assert (await api.get(f"/deposit-addresses/{address.id}")).json() == created
    listed = fields((await api.get(f"/customers/{customer['id']}/deposit-addresses")).json())
    assert [a.id for a in listed.data] == [address.id]


async def test_tokens_sent_to_the_address_are_forwarded_less_the_fee(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet, address = await new_address(api)
    response = await simulate(api, address, "50.00")
    assert response.status_code == 200, response.text
    result = fields(response.json())
    assert (result.amount.value, result.amount.currency, result.network, result.status) == (
        "50.00",
        "usdc",
        "polygon",
        "submitted",
    )
    assert result.depositAddressId == address["id"] and result.transactionHash.startswith("0x")

    await settle_funding(ctx, clock)
    listed = (await api.get(f"/customers/{customer['id']}/transactions")).json()["data"]
    assert len(listed) == 1
    txn = fields(listed[0])
    assert txn.type == "cryptoToCrypto" and txn.status == "completed" and txn.depositAddressId == address["id"]
    # the cryptoToCrypto schedule of the test server: 0.1 % + 0.01 = 0.06
    assert (txn.source.amountGross, txn.source.feesDeducted.oms, txn.destination.amountNet) == (
        "50.00",
        "0.06",
        "49.94",
    )
    assert listed[0]["source"]["txHash"] == result.transactionHash
    assert listed[0]["source"]["blockchainAddress"] == address["source"]["depositInstructions"]["address"]
    assert await balance(api, wallet) == ("49.94", "49.94", "0.00")
    assert await event_types(ctx, txn.id) == [
        "transaction.cryptoToCrypto.processing",
        "transaction.cryptoToCrypto.completed",
    ]
    await ledger_is_sound(ctx, api)  # the fee went on chain to the treasury, which the reconciler checks


async def test_a_paused_address_holds_deposits_until_reactivated(api: Api, ctx, clock: OffsetClock) -> None:
    _, wallet, address = await new_address(api)
    paused = await api.patch(f"/deposit-addresses/{address['id']}", {"status": "paused"})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert (await simulate(api, address, "10.00")).status_code == 200  # a chain cannot refuse a transfer
    await settle_funding(ctx, clock)
    assert await held(ctx, address["id"]) == [("held", "paused")]
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")
    await ledger_is_sound(ctx, api)

    assert (await api.patch(f"/deposit-addresses/{address['id']}", {"status": "active"})).json()["status"] == "active"
    await settle_funding(ctx, clock)
    assert await held(ctx, address["id"]) == [("routed", None)]
    assert await balance(api, wallet) == ("9.98", "9.98", "0.00")
    await ledger_is_sound(ctx, api)


async def test_a_deleted_address_stays_readable(api: Api) -> None:
    customer, _, address = await new_address(api)
    deleted = await api.client.delete(f"/deposit-addresses/{address['id']}", headers=api.headers())
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    assert_error(await api.patch(f"/deposit-addresses/{address['id']}", {"status": "active"}), 409,
                 "deposit_address_deleted")  # fmt: skip
    assert (await api.get(f"/customers/{customer['id']}/deposit-addresses")).json()["data"] == []


async def test_a_deposit_address_needs_crypto_custody(api: Api) -> None:
    usd_only = await create_customer(api, endorsements=["usd"])
    _, wallet = await customer_with_wallet(api)
    assert_error(await open_address(api, usd_only, wallet), 403, "endorsement_required")


async def test_the_address_forwards_the_same_asset_on_the_same_network(api: Api) -> None:
    customer, wallet = await customer_with_wallet(api)
    body = {
        "source": {"asset": "usdt", "network": "polygon"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}},
    }
    assert_error(await api.post(f"/customers/{customer['id']}/deposit-addresses", body), 400, "unsupported_pair",
                 param="destination.asset")  # fmt: skip
    body["source"] = {"asset": "usdc", "network": "solana"}
    assert_error(await api.post(f"/customers/{customer['id']}/deposit-addresses", body), 400, "unsupported_pair")
    _, _, address = await new_address(api)
    assert_error(await simulate(api, address, "0.0000001"), 400, "invalid_amount", param="amount.value")


async def test_a_forward_that_fails_on_chain_is_sent_again(api: Api, ctx, clock: OffsetClock) -> None:
    _, wallet, address = await new_address(api)
    assert (await simulate(api, address, "20.00")).status_code == 200
    for _ in range(3):  # the deposit becomes final and is routed: the forward is queued
        await settle_funding(ctx, clock, rounds=1)
    async with ctx.db.session_scope(write=False) as session:
        routed = (
            await session.execute(
                select(DepositAddressDeposit).where(DepositAddressDeposit.deposit_address_id == address["id"])
            )
        ).scalar_one()
    assert routed.status == "routed" and routed.transaction_id
    await ctx.sender.sign_queued()
    await ctx.sender.broadcast_signed()
    async with ctx.db.session_scope(write=False) as session:
        send = (
            await session.execute(select(ChainSend).where(ChainSend.reference == routed.transaction_id))
        ).scalar_one()
    await ctx.chains.get("polygon").fail_when_mined(send.tx_hash)  # type: ignore[attr-defined]
    await settle_funding(ctx, clock, rounds=6)
    waiting = (await api.get(f"/transactions/{routed.transaction_id}")).json()
    assert (waiting["status"], waiting["subStatus"]) == ("processing", "retrying")  # sent again after a pause
    clock.advance(seconds=10)
    await settle_funding(ctx, clock, rounds=16)
    txn = (await api.get(f"/transactions/{routed.transaction_id}")).json()
    assert txn["status"] == "completed"  # the tokens were still at the address: sent again, then delivered
    assert await balance(api, wallet) == ("19.97", "19.97", "0.00")
    await ledger_is_sound(ctx, api)
