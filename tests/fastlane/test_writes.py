"""The fast lane's writes (oms/fastlane/writes.py) create and execute quotes exactly as the regular endpoints do.

It serves on PostgreSQL only, and only the successful request; every other request reaches the regular
endpoint untouched, which gives the answer (errors, replays) from one place.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from oms.app import fast_lane_services
from oms.auth import repository as keys
from oms.context import AppContext
from oms.fastlane import FastLane
from oms.fastlane import repository as fastlane_repository
from oms.kit.batch import Batcher
from oms.middleware import RequestContextMiddleware
from oms.responses import JSONResponse
from tests.support import Api, OffsetClock, create_customer, create_wallet, fund, ledger_is_sound, settle

BASE_URL = "http://oms.test/v0.9"
PASSED_ON = 299  # what the stand-in for the regular endpoints answers


@pytest.fixture(autouse=True)
def postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the fast lane serves on PostgreSQL only; on SQLite every request takes the regular endpoint")


@pytest.fixture
async def hot_only(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    """The hot path in front of a stand-in that answers 299: a request it passes on is plain to see."""

    async def regular_endpoints(scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"passedOn": scope["path"]}, status_code=PASSED_ON)(scope, receive, send)

    app = RequestContextMiddleware(
        FastLane(regular_endpoints, services=fast_lane_services(ctx)), max_body_bytes=1 << 20
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def funded(api: Api, ctx: AppContext, clock: OffsetClock) -> dict[str, Any]:
    """A customer whose wallet holds 10.00, and a second customer's wallet to pay."""
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    payee = await create_wallet(api, (await create_customer(api))["id"])
    await fund(api, wallet, "10.00")
    await settle(ctx, clock)
    return {"customer": customer, "wallet": wallet, "payee": payee}


@pytest.fixture
def one_batch(monkeypatch: pytest.MonkeyPatch, ctx: AppContext) -> Callable[[int], list[int]]:
    """Holds each of ``n`` executions at each step it batches (its read, then its write) until all ``n`` are
    there, so that they go out together; gives the list that records the size of every batch of executions
    written. The rate limits' counters (a Batcher too, on PostgreSQL) are not held."""
    sizes: list[int] = []
    counters = getattr(ctx.rate_limiting.counters, "batches", None)

    def arrange(n: int) -> list[int]:
        barrier = asyncio.Barrier(n)
        submit, write = Batcher.submit, fastlane_repository.execute_many

        async def gathered_submit(self: Batcher[Any, Any], item: Any) -> Any:
            if self is not counters:
                await barrier.wait()
            return await submit(self, item)

        async def recorded_write(connection: Any, executions: Any) -> list[bool]:
            sizes.append(len(executions))
            return await write(connection, executions)

        monkeypatch.setattr(Batcher, "submit", gathered_submit)
        monkeypatch.setattr(fastlane_repository, "execute_many", recorded_write)
        return sizes

    return arrange


def _quote_body(funded: dict[str, Any], amount: str = "4.00") -> dict[str, Any]:
    wallet = funded["wallet"]
    return {
        "customerId": funded["customer"]["id"],
        "source": {"walletId": wallet["id"], "asset": "usdc", "network": "polygon", "amount": amount},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": funded["payee"]["id"]}},
    }


def _post(client: httpx.AsyncClient, api: Api) -> Callable[..., Any]:
    async def post(path: str, body: Any, *, key: str | None = None, **headers: str) -> httpx.Response:
        sent = api.headers({"Idempotency-Key": key or str(uuid.uuid4()), **headers})
        return await client.post(path, json=body, headers=sent)

    return post


async def test_hot_path_creates_and_executes_a_quote_on_its_own(
    api: Api, ctx: AppContext, hot_only: httpx.AsyncClient, funded: dict[str, Any]
) -> None:
    post = _post(hot_only, api)
    offer = await post("/quotes", _quote_body(funded))
    assert offer.status_code == 201, offer.text
    executed = await post("/transactions", {"quoteId": offer.json()["id"], "metadata": {"order": "A-1"}})
    assert executed.status_code == 201, executed.text
    assert executed.json()["status"] == "processing" and executed.json()["metadata"] == {"order": "A-1"}
    balance = (await api.get(f"/wallets/{funded['wallet']['id']}/balance")).json()
    assert (balance["balance"], balance["available"]) == ("10.00", "6.00")
    assert (await api.get(f"/quotes/{offer.json()['id']}")).json()["status"] == "accepted"
    await ledger_is_sound(ctx, api)


async def test_hot_answers_are_the_regular_endpoints_answers(
    api: Api, hot_only: httpx.AsyncClient, funded: dict[str, Any]
) -> None:
    post = _post(hot_only, api)
    offer = await post("/quotes", _quote_body(funded), key="quote-1")
    executed = await post("/transactions", {"quoteId": offer.json()["id"]}, key="execute-1")
    assert (await api.get(f"/quotes/{offer.json()['id']}")).json() == {**offer.json(), "status": "accepted"}
    assert (await api.get(f"/transactions/{executed.json()['id']}")).json() == executed.json()
    # The stored answers are the regular endpoints' own: they replay them, byte for byte.
    for path, body, key, hot in (
        ("/quotes", _quote_body(funded), "quote-1", offer),
        ("/transactions", {"quoteId": offer.json()["id"]}, "execute-1", executed),
    ):
        replayed = await api.post(path, body, key=key)
        assert replayed.headers["idempotent-replayed"] == "true"
        assert (replayed.status_code, replayed.content) == (201, hot.content)
        # The hot write stored its request's id: the replay names it, and has its own.
        assert replayed.headers["original-request"] == hot.headers["request-id"] != replayed.headers["request-id"]


async def test_every_request_it_cannot_complete_passes_on_untouched(
    api: Api, ctx: AppContext, clock: OffsetClock, hot_only: httpx.AsyncClient, funded: dict[str, Any]
) -> None:
    post = _post(hot_only, api)
    executed_quote = (await api.post("/quotes", _quote_body(funded))).json()["id"]
    assert (await api.post("/transactions", {"quoteId": executed_quote})).status_code == 201
    too_much = (await api.post("/quotes", _quote_body(funded, amount="9.00"))).json()["id"]
    expiring = (await api.post("/quotes", _quote_body(funded, amount="1.00"))).json()["id"]
    await api.post("/quotes", _quote_body(funded), key="used")
    body = _quote_body(funded)
    cases: dict[str, Any] = {
        "no Idempotency-Key": hot_only.post("/quotes", json=body, headers=api.headers()),
        "no token": hot_only.post("/quotes", json=body, headers={"Idempotency-Key": "k"}),
        "a bad token": post("/quotes", body, Authorization="Bearer nonsense"),
        "a body the schema refuses": post("/quotes", {**body, "unexpected": 1}),
        "not JSON": post("/quotes", body, **{"Content-Type": "text/plain"}),
        "a query string": hot_only.post("/quotes?x=1", json=body, headers=api.headers({"Idempotency-Key": "q"})),
        "an unknown customer": post("/quotes", {**body, "customerId": "cst_" + "0" * 26}),
        "a rule that refuses": post("/quotes", _quote_body(funded, amount="0")),
        "a used Idempotency-Key": post("/quotes", body, key="used"),
        "an unknown quote": post("/transactions", {"quoteId": "qt_" + "0" * 26}),
        "an executed quote": post("/transactions", {"quoteId": executed_quote}),
        "too little money": post("/transactions", {"quoteId": too_much}),
    }
    clock.advance(seconds=301)
    cases["an expired quote"] = post("/transactions", {"quoteId": expiring})
    for case, request in cases.items():
        response = await request
        assert response.status_code == PASSED_ON, f"{case}: {response.status_code} {response.text}"
    balance = (await api.get(f"/wallets/{funded['wallet']['id']}/balance")).json()
    assert balance["available"] == "6.00"  # only the regular endpoint's execution held money
    await ledger_is_sound(ctx, api)
    async with ctx.db.session_scope() as session:
        assert await keys.revoke_key(session, api.issued.key_id, ctx.clock.now())
    assert (await post("/quotes", _quote_body(funded))).status_code == PASSED_ON  # a revoked key, at once


async def test_a_quote_executed_concurrently_is_executed_once(
    api: Api, ctx: AppContext, hot_only: httpx.AsyncClient, funded: dict[str, Any]
) -> None:
    post = _post(hot_only, api)
    offer = (await post("/quotes", _quote_body(funded))).json()
    answers = await asyncio.gather(*(post("/transactions", {"quoteId": offer["id"]}) for _ in range(10)))
    assert sorted(response.status_code for response in answers) == [201] + [PASSED_ON] * 9
    balance = (await api.get(f"/wallets/{funded['wallet']['id']}/balance")).json()
    assert balance["available"] == "6.00"
    await ledger_is_sound(ctx, api)


async def test_concurrent_twins_with_one_key_write_once(
    api: Api, ctx: AppContext, hot_only: httpx.AsyncClient, funded: dict[str, Any]
) -> None:
    post = _post(hot_only, api)
    answers = await asyncio.gather(*(post("/quotes", _quote_body(funded), key="twin") for _ in range(10)))
    created = [response for response in answers if response.status_code == 201]
    assert len(created) == 1 and all(r.status_code == PASSED_ON for r in answers if r not in created)
    replayed = await api.post("/quotes", _quote_body(funded), key="twin")
    assert replayed.content == created[0].content
    await ledger_is_sound(ctx, api)


async def test_a_failure_inside_the_hot_path_passes_on_with_nothing_written(
    api: Api, ctx: AppContext, hot_only: httpx.AsyncClient, funded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    post = _post(hot_only, api)
    offer = (await post("/quotes", _quote_body(funded))).json()

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug in the lane")

    monkeypatch.setattr(ctx.transactions, "plan", broken)
    assert (await post("/transactions", {"quoteId": offer["id"]})).status_code == PASSED_ON
    assert (await api.get(f"/quotes/{offer['id']}")).json()["status"] == "open"
    assert (await api.get(f"/wallets/{funded['wallet']['id']}/balance")).json()["available"] == "10.00"


async def test_executions_written_together_are_each_judged_on_their_own(
    api: Api, ctx: AppContext, hot_only: httpx.AsyncClient, funded: dict[str, Any], one_batch: Any
) -> None:
    post = _post(hot_only, api)
    offers = [(await post("/quotes", _quote_body(funded))).json()["id"] for _ in range(3)]
    sizes = one_batch(4)
    # 3 quotes of 4.00 from 10.00, the first one twice: two fit, the third is short, the repeat is executed.
    answers = await asyncio.gather(*(post("/transactions", {"quoteId": quote}) for quote in [*offers, offers[0]]))
    assert sizes == [4, 1, 1, 1, 1]  # 12.00 from 10.00 overdraws: the schema refuses, each is written alone
    executed = [response.json()["quoteId"] for response in answers if response.status_code == 201]
    assert len(executed) == 2 and len(set(executed)) == 2
    assert sorted(response.status_code for response in answers) == [201, 201, PASSED_ON, PASSED_ON]
    assert (await api.get(f"/wallets/{funded['wallet']['id']}/balance")).json()["available"] == "2.00"
    statuses = [(await api.get(f"/quotes/{quote}")).json()["status"] for quote in offers]
    assert sorted(statuses) == ["accepted", "accepted", "open"]
    await ledger_is_sound(ctx, api)


async def test_a_batch_the_database_refuses_writes_nothing_and_each_request_passes_on(
    api: Api, ctx: AppContext, hot_only: httpx.AsyncClient, funded: dict[str, Any], one_batch: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    post = _post(hot_only, api)
    offers = [(await post("/quotes", _quote_body(funded, amount="1.00"))).json()["id"] for _ in range(3)]
    plan = ctx.transactions.plan

    def one_unwritable(*args: Any, **kwargs: Any) -> Any:
        execution = plan(*args, **kwargs)
        if execution.transaction.quote_id == offers[1]:
            execution.transaction.sender_customer_id = "cst_" + "0" * 26  # no such customer: a foreign key fails
        return execution

    monkeypatch.setattr(ctx.transactions, "plan", one_unwritable)
    sizes = one_batch(3)
    answers = await asyncio.gather(*(post("/transactions", {"quoteId": quote}) for quote in offers))
    assert sizes == [3]
    assert [response.status_code for response in answers] == [PASSED_ON] * 3
    assert [(await api.get(f"/quotes/{quote}")).json()["status"] for quote in offers] == ["open"] * 3
    assert (await api.get(f"/wallets/{funded['wallet']['id']}/balance")).json()["available"] == "10.00"
    await ledger_is_sound(ctx, api)


async def test_a_batch_skips_a_quote_locked_elsewhere_instead_of_waiting_for_it(
    api: Api, hot_only: httpx.AsyncClient, funded: dict[str, Any], one_batch: Any, ctx: AppContext
) -> None:
    """Waiting for the quote while holding the accounts of the batch's earlier executions could close a cycle
    with the twin that holds it (quote, then accounts): the batch passes that execution on instead."""
    post = _post(hot_only, api)
    first, second = [(await post("/quotes", _quote_body(funded, amount="1.00"))).json()["id"] for _ in range(2)]
    assert ctx.db.hot_pool is not None
    async with ctx.db.hot_pool.acquire() as twin, twin.transaction():
        await twin.execute("SELECT 1 FROM quotes WHERE id = $1 FOR UPDATE", second)
        one_batch(2)
        executions = asyncio.gather(*(post("/transactions", {"quoteId": quote}) for quote in (first, second)))
        answers = await asyncio.wait_for(executions, timeout=10)
        assert [response.status_code for response in answers] == [201, PASSED_ON]
        await twin.execute("SET LOCAL lock_timeout = '2s'")  # the batch has committed: its accounts are free
        await twin.execute("SELECT 1 FROM ledger_accounts WHERE wallet_id = $1 FOR UPDATE", funded["wallet"]["id"])
    assert (await api.get(f"/quotes/{second}")).json()["status"] == "open"
    assert (await api.get(f"/wallets/{funded['wallet']['id']}/balance")).json()["available"] == "9.00"


async def test_an_overdraft_in_a_batch_is_refused_alone_and_judged_again_by_the_endpoint(
    api: Api, ctx: AppContext, funded: dict[str, Any], one_batch: Any
) -> None:
    """Of 6.00, 6.00 and 3.00 from 10.00 written together, the schema refuses the batch (an overdraft); written
    again one by one, the second 6.00 is refused alone and the endpoint answers it: the outcome is the
    one-by-one outcome."""
    offers = [
        (await api.post("/quotes", _quote_body(funded, amount))).json()["id"] for amount in ("6.00", "6.00", "3.00")
    ]
    sizes = one_batch(3)
    answers = await asyncio.gather(*(api.post("/transactions", {"quoteId": quote}) for quote in offers))
    assert sizes == [3, 1, 1, 1]
    assert sorted(response.status_code for response in answers) == [201, 201, 422]
    assert answers[2].status_code == 201  # the 3.00 fits whatever the order
    short = next(response for response in answers if response.status_code == 422)
    assert short.json()["error"]["code"] == "insufficient_funds"
    assert (await api.get(f"/wallets/{funded['wallet']['id']}/balance")).json()["available"] == "1.00"
    await ledger_is_sound(ctx, api)


async def test_a_refused_batch_keeps_its_connection_and_the_lane_goes_on(
    api: Api, ctx: AppContext, hot_only: httpx.AsyncClient, funded: dict[str, Any], one_batch: Any
) -> None:
    """The schema's refusal is an answer, not a broken connection: the pool keeps its connections, and the
    next batch is written in one statement again."""
    post = _post(hot_only, api)
    offers = [(await post("/quotes", _quote_body(funded, amount="3.00"))).json()["id"] for _ in range(5)]
    assert ctx.db.hot_pool is not None
    before = ctx.db.hot_pool.get_size()
    sizes = one_batch(5)
    answers = await asyncio.gather(*(post("/transactions", {"quoteId": quote}) for quote in offers))
    assert sorted(response.status_code for response in answers) == [201, 201, 201, PASSED_ON, PASSED_ON]
    assert sizes == [5, 1, 1, 1, 1, 1] and ctx.db.hot_pool.get_size() >= before
    assert (await api.get(f"/wallets/{funded['wallet']['id']}/balance")).json()["available"] == "1.00"
    await ledger_is_sound(ctx, api)
