"""GET /metrics (README, "Metrics"): the Prometheus exposition of requests by route template and status, of
queue depths read from the database at the scrape, answered only to the allowed addresses or with the token;
and, with several API processes, one sum of all their counts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from oms.config import Settings
from oms.context import AppContext
from tests.support import (
    Api,
    OffsetClock,
    assert_error,
    create_customer,
    create_wallet,
    execute,
    free_port,
    funded_wallet,
    process_env,
    quote,
    wait_until_serving,
)

Labels = dict[str, str]


def samples(text: str, name: str) -> list[tuple[Labels, float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 when there is none)."""
    return sum(found for have, found in samples(text, name) if labels.items() <= have.items())


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("http://oms.test/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


REQUESTS = "oms_http_request_duration_seconds_count"


async def test_requests_are_counted_by_method_route_template_and_status(api: Api, client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    customer = await create_customer(api)
    await api.get(f"/customers/{customer['id']}")
    await api.get("/customers/cst_01m97835x6ex6rtpr02zy0kce0")  # no such customer: 404, same template
    after = await scrape(client)

    def counted(method: str, route: str, status: str) -> float:
        labels = {"method": method, "route": route, "status": status}
        return value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels)

    assert counted("POST", "/v0.9/customers", "201") == 1
    assert counted("GET", "/v0.9/customers/{customer_id}", "200") == 1
    assert counted("GET", "/v0.9/customers/{customer_id}", "404") == 1
    # the path itself (its id) is never a label
    assert not [labels for labels, _ in samples(after, REQUESTS) if customer["id"] in labels["route"]]


async def test_the_fast_lanes_answers_are_counted_under_their_endpoints_templates(
    api: Api, ctx: AppContext, clock: OffsetClock, client: httpx.AsyncClient
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    payee = await create_wallet(api, (await create_customer(api))["id"])
    before = await scrape(client)
    assert (await api.get(f"/wallets/{wallet['id']}/balance")).status_code == 200
    offer = await quote(api, customer, wallet, to=payee, amount="1.00")
    assert (await execute(api, offer.json()["id"])).status_code == 201
    after = await scrape(client)
    for method, route, status in [
        ("GET", "/v0.9/wallets/{wallet_id}/balance", "200"),
        ("POST", "/v0.9/quotes", "201"),
        ("POST", "/v0.9/transactions", "201"),
    ]:
        labels = {"method": method, "route": route, "status": status}
        assert value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels) == 1, route


async def test_a_path_that_matches_no_route_is_counted_as_other(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    await client.get("http://oms.test/no/such/path/0123456789")
    after = await scrape(client)
    labels = {"method": "GET", "route": "other", "status": "404"}
    assert value(after, REQUESTS, **labels) - value(before, REQUESTS, **labels) == 1
    assert not [labels for labels, _ in samples(after, REQUESTS) if "0123456789" in labels["route"]]


async def test_queue_depths_and_ages_are_read_from_the_database_at_each_scrape(
    api: Api, ctx: AppContext, clock: OffsetClock, client: httpx.AsyncClient
) -> None:
    customer, wallet = await funded_wallet(api, ctx, clock)
    payee = await create_wallet(api, (await create_customer(api))["id"])
    before = await scrape(client)
    offer = await quote(api, customer, wallet, to=payee, amount="1.00")
    assert (await execute(api, offer.json()["id"])).status_code == 201
    after = await scrape(client)
    queued = {"queue": "chain_sends", "status": "queued"}
    assert value(after, "oms_queue_depth", **queued) == value(before, "oms_queue_depth", **queued) + 1
    assert value(after, "oms_queue_oldest_age_seconds", **queued) >= 0
    assert value(after, "oms_scrape_source_up", source="database") == 1
    for source in ("chain:polygon", "chain:ethereum"):
        assert value(after, "oms_scrape_source_up", source=source) == 1
    assert samples(after, "oms_webhook_delivery_lag_seconds")
    assert samples(after, "oms_sends_awaiting_confirmations")


async def test_database_pools_are_counted(client: httpx.AsyncClient, ctx: AppContext) -> None:
    ctx.metrics.count_pools()
    text = await scrape(client)
    assert samples(text, "oms_db_pool_connections")
    assert {labels["pool"] for labels, _ in samples(text, "oms_db_pool_connections")} >= {"orm"}


async def test_metrics_are_refused_to_an_address_not_allowed(app: Any) -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as outside:
        response = await outside.get("/metrics")
    assert_error(response, 403, "metrics_not_allowed")


async def test_metrics_are_answered_anywhere_with_the_token_and_refused_with_a_wrong_one(
    settings: Settings, clock: OffsetClock
) -> None:
    from oms.app import create_app

    configured = settings.model_copy(update={"metrics_token": "scrape-me-0123456789abcdef", "embedded_worker": False})
    context = AppContext.build(configured, clock=clock)
    application = create_app(configured, ctx=context)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as outside:
            right = await outside.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789abcdef"})
            wrong = await outside.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert right.status_code == 200
    assert value(right.text, "oms_scrape_source_up", source="database") == 1
    assert_error(wrong, 401, "invalid_token")


async def test_several_api_processes_answer_one_sum_of_their_counts(settings: Settings, tmp_path: Path) -> None:
    if settings.is_sqlite:
        pytest.skip("several API processes need PostgreSQL")
    port = free_port()
    environment = {**process_env(settings), "OMS_HOST": "127.0.0.1", "OMS_PORT": str(port), "OMS_WORKERS": "2"}
    environment["OMS_METRICS_DIR"] = str(tmp_path)
    server = subprocess.Popen([sys.executable, "-m", "oms", "serve"], env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_until_serving(f"{base}/healthz", attempts=600)
        for _ in range(40):  # a connection each: the kernel spreads them over both workers
            async with httpx.AsyncClient(timeout=30) as http:
                assert (await http.get(f"{base}/healthz")).status_code == 200
        async with httpx.AsyncClient(timeout=30) as http:
            text = (await http.get(f"{base}/metrics")).text
    finally:
        server.terminate()
        server.wait(timeout=30)
    answered_by = {path.name.rsplit("_", 1)[-1] for path in tmp_path.glob("histogram_*.db")}
    assert len(answered_by) == 2, answered_by  # both workers counted
    probes = value(text, REQUESTS, method="GET", route="/healthz", status="200")
    assert probes >= 40  # wait_until_serving's own successful probe(s) too
    assert probes <= 40 + 2
