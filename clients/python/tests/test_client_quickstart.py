"""The seed quickstart written with the client (sync), then a complete money flow (async): fund, quote, and a
transaction to completion, against a real server on loopback."""

from __future__ import annotations

import ast
import asyncio
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from conftest import QUICK, Server

from oms.auth.service import IssuedKey
from oms_client import OMS, AsyncOMS, models
from tests.support import settle


def quickstart(url: str, api_key: str, api_secret: str) -> tuple[models.Customer, models.Wallet, models.Balance]:
    """The quickstart's four calls, exactly as the README shows them."""
    with OMS(url, api_key, api_secret) as oms:
        customer = oms.create_customer({}, idempotency_key=f"cst-wallet-quickstart-{uuid.uuid4()}")
        wallet = oms.create_wallet(customer.id, {"asset": "usdc", "chain": "polygon"})
        return customer, wallet, oms.get_wallet_balance(wallet.id)


async def test_the_quickstart_with_the_sync_client(oms_server: Server, issued: IssuedKey) -> None:
    customer, wallet, balance = await asyncio.to_thread(quickstart, oms_server.url, issued.key_id, issued.secret)
    assert customer.id.startswith("cst_") and customer.object == "customer"
    assert {e.name for e in customer.endorsements} >= {"basic", "cryptoCustody"}
    assert wallet.customer_id == customer.id and wallet.address.startswith("0x")
    assert (wallet.asset, wallet.chain, wallet.status) == ("usdc", "polygon", "active")
    assert (balance.wallet_id, balance.balance, balance.available) == (wallet.id, "0.00", "0.00")


README = Path(__file__).resolve().parents[3] / "README.md"


def readme_lines() -> str:
    """The Python block of README.md's "Python client" section."""
    section = README.read_text().split("\n## Python client\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


async def test_the_readmes_five_statements_run_as_written(oms_server: Server, issued: IssuedKey) -> None:
    code = readme_lines()
    assert len(ast.parse(code).body) == 5
    code = code.replace("http://127.0.0.1:8080/v0.9", oms_server.url)
    code = re.sub(r'"sk_sdbx_\w+"', f'"{issued.key_id}"', code)
    code = re.sub(r'"sks_[\w-]+"', f'"{issued.secret}"', code)
    printed: list[tuple[Any, ...]] = []
    await asyncio.to_thread(exec, code, {"print": lambda *values: printed.append(values)})
    assert printed == [("0.00",)]


async def settled(oms: AsyncOMS, server: Server, transaction_id: str) -> models.Transaction:
    """The transaction once the server's worker pipeline has completed it (round by round, at most 20)."""
    for _ in range(20):
        transaction = await oms.get_transaction(transaction_id)
        if transaction.status == "completed":
            return transaction
        await settle(server.ctx, server.clock, rounds=1)
    raise AssertionError(f"{transaction_id} is still {transaction.status}")


async def test_a_complete_money_flow_with_the_async_client(oms_server: Server, issued: IssuedKey) -> None:
    async with AsyncOMS(oms_server.url, issued.key_id, issued.secret, retry=QUICK) as oms:
        payer = await oms.create_customer({"externalId": "payer"})
        wallet = await oms.create_wallet(payer.id, {"asset": "usdc", "chain": "polygon"})
        payee = await oms.create_customer({})
        payee_wallet = await oms.create_wallet(payee.id, models.WalletCreate(asset="usdc", chain="polygon"))

        funding = await oms.fund({"address": wallet.address, "amount": "100.00"})
        assert funding.status == "submitted"
        await settle(oms_server.ctx, oms_server.clock)
        assert (await oms.get_wallet_balance(wallet.id)).balance == "100.00"

        quote = await oms.create_quote(
            {
                "customerId": payer.id,
                "source": {"walletId": wallet.id, "asset": "usdc", "network": "polygon", "amount": "30.00"},
                "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": payee_wallet.id}},
            }
        )
        assert quote.id == (await oms.get_quote(quote.id)).id
        transaction = await oms.create_transaction({"quoteId": quote.id})
        done = await settled(oms, oms_server, transaction.id)

        assert done.quote_id == quote.id
        received = Decimal((await oms.get_wallet_balance(payee_wallet.id)).balance)
        assert received == Decimal(quote.destination.amount_net)
        assert Decimal((await oms.get_wallet_balance(wallet.id)).balance) == Decimal("70.00")
        assert [t.id async for t in oms.iter_customer_transactions(payer.id)] == [transaction.id]
