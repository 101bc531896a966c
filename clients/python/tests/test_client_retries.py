"""Safe retries: one Idempotency-Key per call, kept across the client's own retries, so an answer lost after
the server committed is replayed and not executed twice; 429 and 503 are retried after their Retry-After;
connection failures with exponential backoff, a bounded number of times; a 422 is never retried."""

from __future__ import annotations

import asyncio
import socket
import uuid

import httpx
import pytest
from client_support import GatewayProxy, customers_locked, waiting_for_customers
from conftest import QUICK, Server

from oms.auth.service import IssuedKey
from oms_client import (
    OMS,
    APIConnectionError,
    APIError,
    AsyncOMS,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    UnprocessableError,
)


class Sleeps(list[float]):
    """Records each wait the client asks for (the waits still happen)."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
        await asyncio.sleep(seconds)


def client(url: str, issued: IssuedKey, sleeps: Sleeps | None = None) -> AsyncOMS:
    return AsyncOMS(url, issued.key_id, issued.secret, retry=QUICK, sleep=asyncio.sleep if sleeps is None else sleeps)


async def count_customers(oms: AsyncOMS, external_id: str) -> int:
    return len([c async for c in oms.iter_customers(external_id=external_id)])


async def test_an_answer_lost_after_the_commit_is_replayed_under_the_same_key(
    gateway: GatewayProxy, oms_server: Server, issued: IssuedKey
) -> None:
    external_id = f"lost-{uuid.uuid4()}"
    async with client(gateway.url, issued) as oms:
        await oms.list_customers()  # signed in, so only the POSTs below go through the gateway's drops
        gateway.drop_answers(2)
        customer = await oms.create_customer({"externalId": external_id})
        tries = gateway.to("POST", "/customers")
        assert [(t.upstream_status, t.status) for t in tries] == [(201, None), (201, None), (201, 201)]
        assert len({t.idempotency_key for t in tries}) == 1 and tries[0].idempotency_key
        assert customer.external_id == external_id
        assert await count_customers(oms, external_id) == 1  # exactly one effect


async def test_the_callers_idempotency_key_is_the_one_sent_on_every_try(
    gateway: GatewayProxy, issued: IssuedKey
) -> None:
    async with client(gateway.url, issued) as oms:
        await oms.list_customers()
        gateway.drop_answers(1)
        first = await oms.create_customer({}, idempotency_key="cst-mine-1")
        again = await oms.create_customer({}, idempotency_key="cst-mine-1")
        assert first.id == again.id
        assert {t.idempotency_key for t in gateway.to("POST", "/customers")} == {"cst-mine-1"}
        # Each call without a key gets its own: two calls, two customers.
        other, another = await oms.create_customer({}), await oms.create_customer({})
        assert other.id != another.id
        keys = [t.idempotency_key for t in gateway.to("POST", "/customers")[-2:]]
        assert len(set(keys)) == 2


async def test_a_503_of_a_held_database_lock_is_retried_after_its_retry_after(
    gateway: GatewayProxy, oms_server: Server, issued: IssuedKey
) -> None:
    sleeps = Sleeps()
    external_id = f"locked-{uuid.uuid4()}"
    async with client(gateway.url, issued, sleeps) as oms:
        await oms.list_customers()
        async with customers_locked(oms_server.settings) as release:

            async def release_on_503(status: int) -> None:
                if status == 503:
                    await release()

            gateway.on_answer = release_on_503
            customer = await oms.create_customer({"externalId": external_id})
        tries = gateway.to("POST", "/customers")
        assert [t.status for t in tries] == [503, 201]
        assert tries[0].idempotency_key == tries[1].idempotency_key
        assert sleeps == [2.0]  # the server's Retry-After, not the policy's 0.05 s backoff
        assert customer.external_id == external_id
        assert await count_customers(oms, external_id) == 1


async def test_a_409_idempotency_key_in_use_is_retried_until_the_first_request_answers(
    gateway: GatewayProxy, oms_server: Server, issued: IssuedKey, is_postgres: bool
) -> None:
    if not is_postgres:
        pytest.skip("SQLite serialises the two requests instead of answering 409")
    body, key = {"externalId": f"twice-{uuid.uuid4()}"}, f"cst-{uuid.uuid4()}"
    async with client(gateway.url, issued) as oms, httpx.AsyncClient(base_url=oms_server.url) as http:
        await oms.list_customers()
        async with customers_locked(oms_server.settings) as release:
            token = (await http.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})).json()
            headers = {"Authorization": f"Bearer {token['accessToken']}", "Idempotency-Key": key}
            first = asyncio.create_task(http.post("/customers", json=body, headers=headers))
            await waiting_for_customers(oms_server.settings)  # the first request holds the key

            async def release_on_409(status: int) -> None:
                if status == 409:
                    await release()

            gateway.on_answer = release_on_409
            customer = await oms.create_customer(body, idempotency_key=key)
        assert (await first).status_code == 201
        assert [t.status for t in gateway.to("POST", "/customers")] == [409, 201]
        assert customer.id == (await first).json()["id"]
        assert await count_customers(oms, body["externalId"]) == 1


async def test_a_429_is_retried_after_its_retry_after(gateway: GatewayProxy, issued: IssuedKey) -> None:
    sleeps = Sleeps()
    async with client(gateway.url, issued, sleeps) as oms:
        await oms.list_customers()
        gateway.answer_with(429, retry_after=0.3, times=2)
        customer = await oms.create_customer({})
        tries = gateway.to("POST", "/customers")
        assert [t.status for t in tries] == [429, 429, 201]
        assert len({t.idempotency_key for t in tries}) == 1
        assert sleeps == [0.3, 0.3]
        assert customer.id.startswith("cst_")


async def test_retries_are_bounded_and_the_last_error_is_raised(gateway: GatewayProxy, issued: IssuedKey) -> None:
    sleeps = Sleeps()
    async with client(gateway.url, issued, sleeps) as oms:
        await oms.list_customers()
        gateway.answer_with(429, retry_after=0, times=QUICK.max_attempts)
        with pytest.raises(RateLimitError) as raised:
            await oms.list_customers()
        assert raised.value.status == 429 and raised.value.retry_after == 0
        assert len(gateway.to("GET", "/customers")) == 1 + QUICK.max_attempts
        assert len(sleeps) == QUICK.max_attempts - 1


async def test_a_retry_after_beyond_the_policys_limit_is_not_waited_for(
    gateway: GatewayProxy, issued: IssuedKey
) -> None:
    sleeps = Sleeps()
    async with client(gateway.url, issued, sleeps) as oms:
        await oms.list_customers()
        gateway.answer_with(503, retry_after=3600)
        with pytest.raises(APIError) as raised:
            await oms.create_customer({})
        assert raised.value.retry_after == 3600 and sleeps == []


async def test_a_422_is_not_retried(gateway: GatewayProxy, issued: IssuedKey) -> None:
    async with client(gateway.url, issued) as oms:
        customer = await oms.create_customer({})
        wallet = await oms.create_wallet(customer.id, {"asset": "usdc", "chain": "polygon"})
        payee = await oms.create_wallet((await oms.create_customer({})).id, {"asset": "usdc", "chain": "polygon"})
        quote = await oms.create_quote(
            {
                "customerId": customer.id,
                "source": {"walletId": wallet.id, "asset": "usdc", "network": "polygon", "amount": "5.00"},
                "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": payee.id}},
            }
        )
        with pytest.raises(UnprocessableError) as raised:
            await oms.create_transaction({"quoteId": quote.id})  # the wallet holds nothing
        assert raised.value.status == 422 and raised.value.code
        assert [t.status for t in gateway.to("POST", "/transactions")] == [422]


async def test_other_4xx_are_not_retried(gateway: GatewayProxy, issued: IssuedKey) -> None:
    async with client(gateway.url, issued) as oms:
        await oms.create_customer({}, idempotency_key="cst-reused")
        with pytest.raises(UnprocessableError) as reused:
            await oms.create_customer({"externalId": "a different body"}, idempotency_key="cst-reused")
        assert reused.value.code == "idempotency_key_reused"
        with pytest.raises(InvalidRequestError):
            await oms.list_customers(starting_after="cst_unknown")
        with pytest.raises(NotFoundError):
            await oms.get_customer("cst_unknown")
        assert [t.status for t in gateway.to("POST", "/customers")] == [201, 422]
        assert [t.status for t in gateway.to("GET", "/customers")] == [400]
        assert [t.status for t in gateway.to("GET", "/customers/cst_unknown")] == [404]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_refused_connections_are_retried_with_growing_backoff_then_raised(issued: IssuedKey) -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=1.0, jitter=0)
    url = f"http://127.0.0.1:{closed_port()}/v0.9"
    async with AsyncOMS(url, issued.key_id, issued.secret, retry=policy, sleep=sleeps) as oms:
        with pytest.raises(APIConnectionError):
            await oms.list_customers()
    assert sleeps == [0.01, 0.02, 0.04]


def test_the_sync_client_retries_the_same_way(issued: IssuedKey) -> None:
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.01, jitter=0)
    url = f"http://127.0.0.1:{closed_port()}/v0.9"
    with (
        OMS(url, issued.key_id, issued.secret, retry=policy, sleep=waits.append) as oms,
        pytest.raises(APIConnectionError),
    ):
        oms.create_customer({})
    assert waits == [0.01, 0.02]


async def test_a_sync_call_whose_answer_is_lost_is_replayed(
    gateway: GatewayProxy, oms_server: Server, issued: IssuedKey
) -> None:
    external_id = f"sync-lost-{uuid.uuid4()}"

    def create() -> str:
        with OMS(gateway.url, issued.key_id, issued.secret, retry=QUICK) as oms:
            oms.get_clock()
            gateway.drop_answers(1)
            return oms.create_customer({"externalId": external_id}).id

    created = await asyncio.to_thread(create)
    tries = gateway.to("POST", "/customers")
    assert [t.status for t in tries] == [None, 201] and tries[0].idempotency_key == tries[1].idempotency_key
    async with client(oms_server.url, issued) as oms:
        assert [c.id async for c in oms.iter_customers(external_id=external_id)] == [created]
