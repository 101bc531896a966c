"""Rate limits (README, "Rate limits"): per API key and per client address, per route family, answered 429
``rate_limit_error`` with ``Retry-After`` and the RateLimit headers of draft-ietf-httpapi-ratelimit-headers-11."""

from __future__ import annotations

import asyncio
import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.ratelimit.conftest import new_address
from tests.support import EXTERNAL, assert_error, create_key, execute, funded_wallet, new_api, quote

SERVICE_LIMIT = re.compile(r'"(?P<name>[a-z_]+-(?:key|address))";r=(?P<r>\d+);t=(?P<t>\d+)')


def service_limits(response: httpx.Response) -> dict[str, tuple[int, int]]:
    """The RateLimit header: each policy's available quota and seconds left in its window."""
    found = {m["name"]: (int(m["r"]), int(m["t"])) for m in SERVICE_LIMIT.finditer(response.headers["ratelimit"])}
    assert found, response.headers["ratelimit"]
    return found


def assert_rate_limited(response: httpx.Response, policy: str) -> None:
    error = assert_error(response, 429, "rate_limited")
    assert error["type"] == "rate_limit_error"
    assert f"'{policy}'" in error["message"]
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert service_limits(response)[policy][0] == 0
    # Retry-After is not earlier than the end of the exceeded window (the draft, section 6)
    assert int(response.headers["retry-after"]) >= service_limits(response)[policy][1]


async def test_a_key_over_its_read_limit_is_429_with_retry_after_and_the_ratelimit_headers(limited) -> None:
    server = await limited(rate_limit_read_per_key="3/minute")
    async with server.client() as http:
        api = await new_api(http, server.ctx)
        answers = [await api.get("/customers") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [service_limits(answer)["read-key"][0] for answer in answers] == [2, 1, 0, 0]
    assert_rate_limited(answers[3], "read-key")
    assert answers[0].headers["ratelimit-policy"] == '"read-key";q=3;w=60, "read-address";q=600000;w=60'


async def test_another_key_from_the_same_address_has_its_own_key_limit(limited) -> None:
    server = await limited(rate_limit_read_per_key="2/minute")
    async with server.client() as http:
        first, second = await new_api(http, server.ctx), await new_api(http, server.ctx)
        assert [(await first.get("/customers")).status_code for _ in range(3)] == [200, 200, 429]
        assert (await second.get("/customers")).status_code == 200


async def test_an_address_over_its_limit_is_429_whatever_key_it_uses(limited) -> None:
    server = await limited(rate_limit_read_per_address="3/minute")
    address = new_address()
    async with server.client(address) as http:
        statuses = [(await (await new_api(http, server.ctx)).get("/customers")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    async with server.client(new_address()) as elsewhere:
        assert (await (await new_api(elsewhere, server.ctx)).get("/customers")).status_code == 200


async def test_a_request_without_a_valid_key_counts_against_its_address_only(limited) -> None:
    server = await limited(rate_limit_read_per_address="2/minute")
    async with server.client() as http:
        first = await http.get("/customers", headers={"Authorization": "Bearer not-a-token"})
        second = await http.get("/customers")
        third = await http.get("/customers")
    assert_error(first, 401, "invalid_token")
    assert set(service_limits(first)) == {"read-address"}
    assert first.headers["ratelimit-policy"] == '"read-address";q=2;w=60'
    assert second.status_code == 401
    assert_rate_limited(third, "read-address")


async def test_each_family_counts_apart(limited) -> None:
    server = await limited(rate_limit_write_per_key="1/minute", rate_limit_read_per_key="2/minute")
    async with server.client() as http:
        api = await new_api(http, server.ctx)
        assert (await api.post("/customers", {})).status_code == 201
        assert_rate_limited(await api.post("/customers", {}), "write-key")
        assert (await api.get("/customers")).status_code == 200  # reads have their own limit
        assert set(service_limits(await api.get("/customers"))) == {"read-key", "read-address"}
        assert_rate_limited(await api.get("/customers"), "read-key")


async def test_token_exchanges_are_limited_per_key_even_with_the_right_secret(limited) -> None:
    server = await limited(rate_limit_auth_per_key="2/minute")
    issued = await create_key(server.ctx)
    body = {"apiKey": issued.key_id, "apiSecret": issued.secret}
    async with server.client() as http:
        answers = [await http.post("/auth/token", json=body) for _ in range(3)]
        other = await create_key(server.ctx)
        assert (await http.post("/auth/token", json={"apiKey": other.key_id, "apiSecret": other.secret})).is_success
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert_rate_limited(answers[2], "auth-key")
    assert set(service_limits(answers[0])) == {"auth-key", "auth-address"}


async def test_token_exchanges_are_limited_per_address(limited) -> None:
    server = await limited(rate_limit_auth_per_address="2/minute")
    async with server.client() as http:
        statuses = []
        for _ in range(3):
            issued = await create_key(server.ctx)
            body = {"apiKey": issued.key_id, "apiSecret": issued.secret}
            statuses.append((await http.post("/auth/token", json=body)).status_code)
    assert statuses == [200, 200, 429]


async def test_the_fast_lanes_balance_reads_quotes_and_executions_are_limited(limited) -> None:
    # On PostgreSQL the fast lane answers these successes before the endpoints: the limits come before it.
    server = await limited(rate_limit_read_per_key="2/minute", rate_limit_write_per_key="5/minute")
    async with server.client() as http:
        api = await new_api(http, server.ctx)
        customer, wallet = await funded_wallet(api, server.ctx, server.clock)  # writes 1-3
        reads = [await api.get(f"/wallets/{wallet['id']}/balance") for _ in range(3)]
        first = await quote(api, customer, wallet, to=EXTERNAL, amount="1.00")  # write 4
        executed = await execute(api, first.json()["id"])  # write 5
        over = await quote(api, customer, wallet, to=EXTERNAL, amount="1.00")
    assert [answer.status_code for answer in reads] == [200, 200, 429]
    assert_rate_limited(reads[2], "read-key")
    assert (first.status_code, executed.status_code) == (201, 201)
    assert service_limits(executed)["write-key"][0] == 0
    assert_rate_limited(over, "write-key")


async def test_with_limits_off_nothing_is_ever_429_and_no_ratelimit_header_is_sent(limited) -> None:
    server = await limited(rate_limits=False, rate_limit_read_per_key="1/minute", rate_limit_auth_per_key="1/minute")
    async with server.client() as http:
        api = await new_api(http, server.ctx)
        answers = [await api.get("/customers") for _ in range(5)]
    assert {answer.status_code for answer in answers} == {200}
    assert "ratelimit" not in answers[0].headers and "ratelimit-policy" not in answers[0].headers


async def test_the_probes_are_not_limited(limited) -> None:
    server = await limited(rate_limit_read_per_address="1/minute")
    async with server.client() as http:
        answers = [await http.get("http://oms.test/healthz") for _ in range(3)]
    assert {answer.status_code for answer in answers} == {200}
    assert "ratelimit" not in answers[0].headers


async def test_behind_a_trusted_proxy_the_forwarded_address_is_limited(limited) -> None:
    server = await limited(rate_limit_read_per_address="1/minute", trusted_proxies="10.0.0.0/8")
    client_a, client_b = new_address(), new_address()
    async with server.client("10.1.2.3") as proxy:
        through = [
            await proxy.get("/customers", headers={"X-Forwarded-For": f"{client}, 10.9.9.9"})
            for client in (client_a, client_b, client_a)
        ]
        # A client cannot pose as another by adding its own X-Forwarded-For in front of the proxy's
        spoofed = await proxy.get("/customers", headers={"X-Forwarded-For": f"{new_address()}, {client_a}"})
    assert [answer.status_code for answer in through] == [401, 401, 429]
    assert spoofed.status_code == 429
    async with server.client(new_address()) as direct:  # not a trusted proxy: its header is ignored
        first = await direct.get("/customers", headers={"X-Forwarded-For": client_b})
        assert first.status_code == 401


async def test_a_store_that_never_answers_is_given_up_on_and_left_alone_for_a_while(limited) -> None:
    """A frozen store (here a listener on loopback that accepts and never speaks, where Redis should be): the
    first request waits for it no longer than the store's timeout and passes uncounted; the next ones, within
    the retry period, do not touch it at all."""
    connections: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    frozen = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = frozen.sockets[0].getsockname()[1]
    try:
        server = await limited(
            rate_limit_storage=f"redis://127.0.0.1:{port}",
            rate_limit_read_per_key="1/minute",
            rate_limit_store_timeout_seconds=0.2,
            rate_limit_store_retry_seconds=60,
        )
        async with server.client() as http:
            api = await new_api(http, server.ctx)
            first = await api.get("/customers")
            reached = len(connections)
            later = [await api.get("/customers") for _ in range(3)]
        assert reached >= 1
        assert {answer.status_code for answer in [first, *later]} == {200}  # over "1/minute", yet not counted
        assert "ratelimit" not in first.headers
        assert len(connections) == reached
    finally:
        for writer in connections:
            writer.close()
        frozen.close()
        await frozen.wait_closed()


async def test_refusals_are_counted_in_the_metrics_by_family(limited) -> None:
    server = await limited(rate_limit_read_per_key="1/minute")
    async with server.client("127.0.0.1") as http:
        api = await new_api(http, server.ctx)

        async def refused() -> float:
            text = (await http.get("http://oms.test/metrics")).text
            return sum(
                sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "oms_rate_limit_refusals_total"
                and sample.labels == {"family": "read", "reason": "limit"}
            )

        before = await refused()
        assert [(await api.get("/customers")).status_code for _ in range(3)] == [200, 429, 429]
        assert await refused() == before + 2
