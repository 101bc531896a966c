"""Pagination: the iterators follow the cursors over every page, forwards (newest first) and backwards (from a
cursor towards the newest), nothing skipped or repeated, on the async and the sync client."""

from __future__ import annotations

import asyncio

from client_support import GatewayProxy
from conftest import QUICK, Server

from oms.auth.service import IssuedKey
from oms_client import OMS, AsyncOMS

COUNT = 250


async def test_250_customers_forwards_and_backwards(
    gateway: GatewayProxy, oms_server: Server, issued: IssuedKey
) -> None:
    async with AsyncOMS(gateway.url, issued.key_id, issued.secret, retry=QUICK) as oms:
        created = [(await oms.create_customer({})).id for _ in range(COUNT)]

        forwards = [customer.id async for customer in oms.iter_customers(limit=100)]
        assert sorted(forwards) == sorted(created) and len(set(forwards)) == COUNT
        assert len(gateway.to("GET", "/customers")) == 3  # 100 + 100 + 50

        oldest = forwards[-1]
        backwards = [customer.id async for customer in oms.iter_customers(limit=100, ending_before=oldest)]
        assert backwards == forwards[::-1][1:]  # everything newer than the oldest, oldest first

        middle = forwards[120]
        after = [customer.id async for customer in oms.iter_customers(limit=7, starting_after=middle)]
        assert after == forwards[121:]

    def walk() -> list[str]:
        with OMS(oms_server.url, issued.key_id, issued.secret) as client:
            return [customer.id for customer in client.iter_customers(limit=64)]

    assert await asyncio.to_thread(walk) == forwards


async def test_an_empty_list_is_an_empty_iteration(oms: AsyncOMS) -> None:
    customer = await oms.create_customer({})
    assert [wallet async for wallet in oms.iter_wallets(customer.id)] == []
    assert [t async for t in oms.iter_transactions(customer_id=customer.id, status="completed")] == []
