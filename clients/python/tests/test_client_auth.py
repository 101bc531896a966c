"""The bearer token: exchanged from the key and secret on first use, refreshed before it expires, and once on
a 401 (the server's clock moved past its expiry), without the caller noticing; one exchange for many
concurrent calls; a wrong secret is an AuthenticationError, not retried."""

from __future__ import annotations

import asyncio

import pytest
from client_support import GatewayProxy
from conftest import QUICK, Server

from oms.auth.service import IssuedKey
from oms_client import OMS, AsyncOMS, AuthenticationError


class Clock:
    """The client's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def calls(gateway: GatewayProxy) -> list[tuple[str, str, int | None]]:
    return [(e.method, e.path.split("?")[0].removeprefix("/v0.9"), e.status) for e in gateway.exchanges]


async def test_an_expired_token_is_refreshed_on_the_401_without_the_caller_noticing(
    gateway: GatewayProxy, oms_server: Server, issued: IssuedKey
) -> None:
    async with AsyncOMS(gateway.url, issued.key_id, issued.secret, retry=QUICK) as oms:
        await oms.list_customers()
        oms_server.clock.advance(seconds=oms_server.settings.token_ttl_seconds + 1)  # the server's clock
        customer = await oms.create_customer({})
        assert customer.id.startswith("cst_")
    assert calls(gateway) == [
        ("POST", "/auth/token", 200),
        ("GET", "/customers", 200),
        ("POST", "/customers", 401),
        ("POST", "/auth/token", 200),
        ("POST", "/customers", 201),
    ]
    first, second = gateway.to("POST", "/customers")
    assert first.idempotency_key == second.idempotency_key
    assert first.authorization != second.authorization


async def test_the_token_is_refreshed_before_it_expires(gateway: GatewayProxy, issued: IssuedKey) -> None:
    clock = Clock()
    async with AsyncOMS(gateway.url, issued.key_id, issued.secret, retry=QUICK, clock=clock) as oms:
        await oms.list_customers()
        clock.now += 3600 - 120  # two minutes before the hour's token expires: kept
        await oms.list_customers()
        clock.now += 61  # within the minute's margin: replaced first
        await oms.list_customers()
    assert calls(gateway) == [
        ("POST", "/auth/token", 200),
        ("GET", "/customers", 200),
        ("GET", "/customers", 200),
        ("POST", "/auth/token", 200),
        ("GET", "/customers", 200),
    ]


async def test_concurrent_calls_share_one_exchange_and_one_refresh(
    gateway: GatewayProxy, oms_server: Server, issued: IssuedKey
) -> None:
    async with AsyncOMS(gateway.url, issued.key_id, issued.secret, retry=QUICK) as oms:
        await asyncio.gather(*(oms.get_clock() for _ in range(8)))
        assert len(gateway.to("POST", "/auth/token")) == 1
        oms_server.clock.advance(seconds=oms_server.settings.token_ttl_seconds + 1)
        await asyncio.gather(*(oms.get_clock() for _ in range(8)))
    assert len(gateway.to("POST", "/auth/token")) == 2
    assert [e.status for e in gateway.to("GET", "/sandbox/clock")].count(200) == 16


async def test_threads_sharing_the_sync_client_share_one_exchange(gateway: GatewayProxy, issued: IssuedKey) -> None:
    with OMS(gateway.url, issued.key_id, issued.secret, retry=QUICK) as oms:
        await asyncio.gather(*(asyncio.to_thread(oms.get_clock) for _ in range(6)))
    assert len(gateway.to("POST", "/auth/token")) == 1
    assert [e.status for e in gateway.to("GET", "/sandbox/clock")] == [200] * 6


async def test_a_wrong_secret_is_an_authentication_error_and_not_retried(
    gateway: GatewayProxy, issued: IssuedKey
) -> None:
    async with AsyncOMS(gateway.url, issued.key_id, "sks_wrong", retry=QUICK) as oms:
        with pytest.raises(AuthenticationError) as raised:
            await oms.list_customers()
    assert raised.value.status == 401 and raised.value.code and raised.value.request_id
    assert "sks_wrong" not in str(raised.value) and "sks_wrong" not in repr(oms)
    assert calls(gateway) == [("POST", "/auth/token", 401)]
