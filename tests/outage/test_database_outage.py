"""Database outages, through a real TCP proxy between the server and PostgreSQL (tests/outage/proxy.py):
refused connections and a frozen database are answered 503 ``service_unavailable`` with ``Retry-After`` within
the configured timeouts, on the regular endpoints and the hot lanes alike; a write whose client was answered
503 never commits, even when its COMMIT reaches the database after the answer; everything works again once
the database is back. PostgreSQL only: the proxy stands in front of a PostgreSQL server."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from tests.outage.proxy import FaultProxy
from tests.support import (
    POSTGRES_URL,
    Api,
    OffsetClock,
    assert_error,
    create_customer,
    create_wallet,
    fund,
    quote,
    settle,
)

# Short timeouts, so a frozen database is given up on within about two seconds.
TIMEOUTS = {
    "db_connect_timeout_seconds": 1.0,
    "db_pool_timeout_seconds": 1.0,
    "db_statement_timeout_seconds": 1.0,
    "db_lock_timeout_seconds": 0.5,
}
# The longest any answer may take while the database is out: the client-facing deadline and some slack for a
# loaded machine.
DEADLINE = TIMEOUTS["db_statement_timeout_seconds"] + 1.0 + 1.5


@pytest.fixture(autouse=True)
def postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the fault proxy stands between the server and PostgreSQL")


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    url = make_url(POSTGRES_URL)
    faulty = FaultProxy(url.host or "127.0.0.1", url.port or 5432)
    await faulty.start()
    yield faulty
    await faulty.close()


@pytest.fixture
async def outage_app(settings: Settings, clock: OffsetClock, proxy: FaultProxy) -> AsyncIterator[AppContext]:
    """The whole application (hot lanes included) on its own pools, reaching PostgreSQL only through the proxy."""
    url = make_url(POSTGRES_URL).set(host="127.0.0.1", port=proxy.port)
    proxied = settings.model_copy(
        update={"database_url": url.render_as_string(hide_password=False), "hot_reads": True, **TIMEOUTS}
    )
    context = AppContext.build(proxied, clock=clock)
    application = create_app(proxied, ctx=context)
    async with application.router.lifespan_context(application):
        yield application  # type: ignore[misc]


@pytest.fixture
async def http(outage_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=outage_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test") as client:
        yield client


@pytest.fixture
async def funded(api: Api, ctx: AppContext, clock: OffsetClock, http: httpx.AsyncClient) -> dict[str, Any]:
    """Made straight on the database: a customer whose wallet holds 10.00 and an open quote for 1.00 to a payee.
    Then the same tenant's client of the application behind the proxy."""
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    payee = await create_wallet(api, (await create_customer(api))["id"])
    await fund(api, wallet, "10.00")
    await settle(ctx, clock)
    offer = await quote(api, customer, wallet, to=payee, amount="1.00")
    assert offer.status_code == 201, offer.text
    proxied = httpx.AsyncClient(transport=http._transport, base_url="http://oms.test/v0.9")
    return {"api": Api(proxied, api.token, api.issued), "wallet": wallet, "quote": offer.json()}


async def _requests(funded: dict[str, Any]) -> dict[str, httpx.Response]:
    """One request of each kind: a hot read, a hot write, a regular read and write, and the token exchange,
    each timed; the answers keyed by what they are."""
    api: Api = funded["api"]
    answers: dict[str, httpx.Response] = {}
    calls = {
        "balance (hot read)": lambda: api.get(f"/wallets/{funded['wallet']['id']}/balance"),
        "execute (hot write)": lambda: api.post("/transactions", {"quoteId": funded["quote"]["id"]}),
        "customers (read)": lambda: api.get("/customers"),
        "customer (write)": lambda: api.post("/customers", {"externalId": f"outage-{uuid.uuid4().hex}"}),
        "token": lambda: api.client.post(
            "/auth/token", json={"apiKey": api.issued.key_id, "apiSecret": api.issued.secret}
        ),
    }
    for name, call in calls.items():
        started = time.monotonic()
        answers[name] = await call()
        elapsed = time.monotonic() - started
        assert elapsed < DEADLINE, f"{name} took {elapsed:.1f}s"
    return answers


def _all_unavailable(answers: dict[str, httpx.Response]) -> None:
    for name, response in answers.items():
        error = assert_error(response, 503, "service_unavailable")
        assert error["type"] == "api_error", name
        assert int(response.headers["retry-after"]) > 0, name


async def _committed(ctx: AppContext, statement: str, **params: Any) -> int:
    """Counted straight in the database, not through the proxy."""
    async with ctx.db.session_scope(write=False) as session:
        return int(await session.scalar(text(statement), params) or 0)


async def _recovers(funded: dict[str, Any]) -> None:
    api: Api = funded["api"]
    assert (await api.get(f"/wallets/{funded['wallet']['id']}/balance")).status_code == 200
    assert (await api.get("/customers")).status_code == 200
    assert (await api.post("/customers", {})).status_code == 201
    executed = await api.post("/transactions", {"quoteId": funded["quote"]["id"]})
    assert executed.status_code == 201, executed.text


async def test_refused_database_is_503_with_retry_after_and_recovers(
    funded: dict[str, Any], proxy: FaultProxy, http: httpx.AsyncClient
) -> None:
    await proxy.refuse()
    _all_unavailable(await _requests(funded))
    await proxy.restore()
    await _recovers(funded)


async def test_frozen_database_is_503_within_the_timeout_and_commits_nothing(
    funded: dict[str, Any], proxy: FaultProxy, ctx: AppContext
) -> None:
    tenant = funded["api"].tenant_id
    customers = await _committed(ctx, "SELECT count(*) FROM customers WHERE tenant_id = :t", t=tenant)
    proxy.freeze()
    _all_unavailable(await _requests(funded))
    proxy.thaw()  # what the frozen network held reaches the database now, after every client was answered
    await _settle_down()
    assert await _committed(ctx, "SELECT count(*) FROM customers WHERE tenant_id = :t", t=tenant) == customers
    assert await _committed(ctx, "SELECT count(*) FROM transactions WHERE quote_id = :q", q=funded["quote"]["id"]) == 0
    await _recovers(funded)


@pytest.mark.parametrize("lane", ["hot write", "regular write"])
async def test_commit_held_up_until_after_the_503_never_commits(
    lane: str, funded: dict[str, Any], proxy: FaultProxy, ctx: AppContext
) -> None:
    """The hardest case: every statement of the write ran, and only its COMMIT is held in the network until
    the client has its 503. PostgreSQL must have ended the transaction before the COMMIT arrives."""
    api: Api = funded["api"]
    external_id = f"held-{uuid.uuid4().hex}"
    proxy.freeze_on(b"COMMIT")
    started = time.monotonic()
    if lane == "hot write":
        response = await api.post("/transactions", {"quoteId": funded["quote"]["id"]})
    else:
        response = await api.post("/customers", {"externalId": external_id})
    assert time.monotonic() - started < DEADLINE
    assert_error(response, 503, "service_unavailable")
    proxy.thaw()
    await _settle_down()
    assert await _committed(ctx, "SELECT count(*) FROM transactions WHERE quote_id = :q", q=funded["quote"]["id"]) == 0
    assert await _committed(ctx, "SELECT count(*) FROM customers WHERE external_id = :e", e=external_id) == 0
    await _recovers(funded)


async def test_readyz_is_503_while_the_database_is_out_and_healthz_stays_200(
    funded: dict[str, Any], proxy: FaultProxy, http: httpx.AsyncClient
) -> None:
    assert (await http.get("/readyz")).status_code == 200
    for outage in ("refused", "frozen"):
        if outage == "refused":
            await proxy.refuse()
        else:
            proxy.freeze()
        started = time.monotonic()
        ready = await http.get("/readyz")
        assert time.monotonic() - started < DEADLINE, outage
        assert ready.status_code == 503, (outage, ready.text)
        assert int(ready.headers["retry-after"]) > 0
        assert ready.json()["checks"]["database"]["ok"] is False
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        await proxy.restore()
        assert (await http.get("/readyz")).status_code == 200


async def _settle_down() -> None:
    """Give the database the time to run whatever it was sent late (it would commit within this)."""
    import asyncio

    await asyncio.sleep(1.5)
