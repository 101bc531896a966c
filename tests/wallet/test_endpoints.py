"""Custodial wallets and balances (each answer's shape is checked against its schema by tests/contract.py)."""

from __future__ import annotations

from eth_utils import is_checksum_address

from oms.ledger import service as ledger
from tests.support import Api, assert_error, create_customer, create_wallet


async def test_provisioned_wallet_has_a_checksummed_address(api: Api) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    assert wallet["id"].startswith("wlt_") and wallet["customerId"] == customer["id"]
    assert is_checksum_address(wallet["address"])
    assert (wallet["asset"], wallet["chain"], wallet["status"], wallet["type"]) == (
        "usdc",
        "polygon",
        "active",
        "internal",
    )
    assert wallet["assetIdentity"] == {
        "chain": "polygon",
        "protocol": "evm",
        "tokenId": "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
    }


async def test_each_wallet_gets_its_own_address(api: Api) -> None:
    customer = await create_customer(api)
    usdc = await create_wallet(api, customer["id"], "usdc", "polygon")
    usdt = await create_wallet(api, customer["id"], "usdt", "polygon")
    assert usdc["address"] != usdt["address"]


async def test_second_wallet_for_same_asset_and_chain_is_409(api: Api) -> None:
    customer = await create_customer(api)
    await create_wallet(api, customer["id"])
    response = await api.post(f"/customers/{customer['id']}/wallets", {"asset": "usdc", "chain": "polygon"})
    assert_error(response, 409, "wallet_exists")


async def test_replayed_create_returns_the_first_wallet(api: Api) -> None:
    customer = await create_customer(api)
    path = f"/customers/{customer['id']}/wallets"
    first = await api.post(path, {"asset": "usdc", "chain": "polygon"}, key="wlt-1")
    again = await api.post(path, {"asset": "usdc", "chain": "polygon"}, key="wlt-1")
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


async def test_wallet_needs_the_crypto_custody_endorsement(api: Api) -> None:
    customer = await create_customer(api, firstName="Pending")
    response = await api.post(f"/customers/{customer['id']}/wallets", {"asset": "usdc", "chain": "polygon"})
    assert_error(response, 403, "endorsement_required")


async def test_wallet_for_a_customer_without_that_endorsement_requested_is_403(api: Api) -> None:
    customer = await create_customer(api, endorsements=["usd"])
    response = await api.post(f"/customers/{customer['id']}/wallets", {"asset": "usdc", "chain": "polygon"})
    assert_error(response, 403, "endorsement_required")


async def test_unsupported_asset_or_chain_is_400_naming_it(api: Api) -> None:
    customer = await create_customer(api)
    path = f"/customers/{customer['id']}/wallets"
    assert_error(await api.post(path, {"asset": "doge", "chain": "polygon"}), 400, "unsupported_asset", param="asset")
    assert_error(await api.post(path, {"asset": "usdc", "chain": "solana"}), 400, "unsupported_chain", param="chain")
    assert_error(await api.post(path, {"asset": "usdc"}), 400, "parameter_missing", param="chain")


async def test_wallet_for_unknown_customer_is_404(api: Api) -> None:
    response = await api.post(
        "/customers/cst_01h455vb4pex5vsknk084sn02q/wallets", {"asset": "usdc", "chain": "polygon"}
    )
    assert_error(response, 404, "resource_missing")


async def test_list_wallets_of_a_customer(api: Api) -> None:
    customer = await create_customer(api)
    assert (await api.get(f"/customers/{customer['id']}/wallets")).json()["data"] == []
    wallet = await create_wallet(api, customer["id"])
    listed = (await api.get(f"/customers/{customer['id']}/wallets")).json()
    assert listed["data"] == [wallet] and listed["hasMore"] is False


async def test_customer_embeds_a_summary_of_its_wallets(api: Api) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    fetched = (await api.get(f"/customers/{customer['id']}")).json()
    assert fetched["wallets"] == [
        {
            "id": wallet["id"],
            "type": "custodial",
            "address": wallet["address"],
            "network": "polygon",
            "asset": "usdc",
            "balance": "0.00",
            "estimatedValueUsd": "0.00",
            "createdAt": wallet["createdAt"],
        }
    ]


async def test_new_wallet_balance_is_zero(api: Api) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    balance = (await api.get(f"/wallets/{wallet['id']}/balance")).json()
    assert balance == {
        "object": "balance",
        "walletId": wallet["id"],
        "asset": "usdc",
        "chain": "polygon",
        "balance": "0.00",
        "available": "0.00",
        "pending": "0.00",
        "estimatedBalance": {"currencyCode": "USD", "amount": "0.00"},
    }


async def test_balance_is_read_from_the_ledger(api: Api, ctx) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    currency = ledger.currency_of("usdc", "polygon")
    async with ctx.db.session_scope() as session:
        accounts = {kind: account for kind, account in await _wallet_accounts(session, wallet["id"])}
        chain = await ledger.system_account(
            session, tenant_id=api.tenant_id, currency=currency, kind="chain", at=ctx.clock.now()
        )
        await ledger.post_entry(
            session,
            tenant_id=api.tenant_id,
            kind="test.deposit",
            reference=None,
            at=ctx.clock.now(),
            legs=[ledger.Leg(chain, currency, -12_500_000), ledger.Leg(accounts["available"], currency, 12_500_000)],
        )
        await ledger.post_entry(
            session,
            tenant_id=api.tenant_id,
            kind="test.hold",
            reference=None,
            at=ctx.clock.now(),
            legs=[
                ledger.Leg(accounts["available"], currency, -2_000_000),
                ledger.Leg(accounts["held"], currency, 2_000_000),
            ],
        )
    balance = (await api.get(f"/wallets/{wallet['id']}/balance")).json()
    assert (balance["balance"], balance["available"], balance["pending"]) == ("12.50", "10.50", "0.00")


async def test_estimated_balance_in_an_unsupported_currency_is_400(api: Api) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    response = await api.get(f"/wallets/{wallet['id']}/balance", estimatedBalanceCurrencyCode="XYZ")
    assert_error(response, 400, "unsupported_currency", param="estimatedBalanceCurrencyCode")


async def test_balance_of_unknown_wallet_is_404(api: Api) -> None:
    assert_error(await api.get("/wallets/wlt_01h455vb4pex5vsknk084sn02q/balance"), 404, "resource_missing")


async def _wallet_accounts(session, wallet_id: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from oms.models import LedgerAccount

    rows = await session.execute(
        select(LedgerAccount.kind, LedgerAccount.id).where(LedgerAccount.wallet_id == wallet_id)
    )
    return list(rows.all())
