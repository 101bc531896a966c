"""Lockout of sign-ins (oms/ratelimit/lockout.py): after repeated failures of a key (or an address) every
attempt is refused 429 ``locked_out`` until the lockout ends, the right secret too; each further lockout lasts
twice as long, up to a cap; a success resets the key. On the app's clock, moved by the test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from oms.auth.service import IssuedKey
from oms.kit.ids import new_id
from tests.admin.support import make_operator
from tests.ratelimit.conftest import Limited, new_address
from tests.support import assert_error, create_key

LOCKOUT = {"lockout_failures": 3, "lockout_seconds": 60, "lockout_max_seconds": 200}
ADMIN = "https://oms.test/admin/v1"


@pytest.fixture
async def server(limited: Callable[..., Awaitable[Limited]]) -> Limited:
    """A server with ``LOCKOUT``'s settings."""
    return await limited(**LOCKOUT)


@pytest.fixture
async def issued(server: Limited) -> IssuedKey:
    """A key of a new tenant on ``server``."""
    return await create_key(server.ctx)


async def sign_in(http: httpx.AsyncClient, key: str, secret: str) -> httpx.Response:
    return await http.post("/auth/token", json={"apiKey": key, "apiSecret": secret})


def assert_locked_out(response: httpx.Response, seconds: int) -> None:
    error = assert_error(response, 429, "locked_out")
    assert error["type"] == "rate_limit_error"
    assert int(response.headers["retry-after"]) == seconds, response.headers["retry-after"]


async def fail(http: httpx.AsyncClient, key: str, times: int) -> None:
    for _ in range(times):
        assert_error(await sign_in(http, key, "sks_wrong"), 401, "invalid_api_key")


async def test_after_the_failures_a_key_is_locked_out_even_for_the_right_secret(
    server: Limited, issued: IssuedKey
) -> None:
    async with server.client() as http:
        await fail(http, issued.key_id, 3)
        assert_locked_out(await sign_in(http, issued.key_id, issued.secret), 60)
        assert_locked_out(await sign_in(http, issued.key_id, "sks_wrong"), 60)
    async with server.client() as elsewhere:  # the key is locked, from any address
        assert_locked_out(await sign_in(elsewhere, issued.key_id, issued.secret), 60)


async def test_a_lockout_ends_on_the_clock(server: Limited, issued: IssuedKey) -> None:
    async with server.client() as http:
        await fail(http, issued.key_id, 3)
        server.clock.advance(seconds=45)
        assert_locked_out(await sign_in(http, issued.key_id, issued.secret), 15)
        server.clock.advance(seconds=15)
        assert (await sign_in(http, issued.key_id, issued.secret)).status_code == 200


async def test_each_further_lockout_doubles_up_to_the_cap(server: Limited, issued: IssuedKey) -> None:
    async with server.client() as http:
        for expected in (60, 120, 200, 200):  # 240 is over the cap of 200
            await fail(http, issued.key_id, 3)
            assert_locked_out(await sign_in(http, issued.key_id, issued.secret), expected)
            server.clock.advance(seconds=expected)


async def test_a_success_resets_the_failures_and_the_doubling(server: Limited, issued: IssuedKey) -> None:
    async with server.client() as http:
        await fail(http, issued.key_id, 3)
        server.clock.advance(seconds=60)
        await fail(http, issued.key_id, 2)
        assert (await sign_in(http, issued.key_id, issued.secret)).status_code == 200
        await fail(http, issued.key_id, 2)  # counted afresh: two are not three
        assert (await sign_in(http, issued.key_id, issued.secret)).status_code == 200
        await fail(http, issued.key_id, 3)
        assert_locked_out(await sign_in(http, issued.key_id, issued.secret), 60)  # not 120: the level was reset


async def test_an_unknown_key_is_locked_out_exactly_like_an_existing_one(server: Limited, issued: IssuedKey) -> None:
    async with server.client() as http:
        answers = {}
        for key in (issued.key_id, new_id("sk_sdbx")):  # a key no other test names (its failures count too)
            await fail(http, key, 3)
            answers[key] = await sign_in(http, key, "sks_wrong")
    known, unknown = (answer.json()["error"] for answer in answers.values())
    assert {**known, "requestId": None} == {**unknown, "requestId": None}
    assert [answer.headers["retry-after"] for answer in answers.values()] == ["60", "60"]


async def test_an_address_is_locked_out_after_its_own_threshold_of_failures_with_any_keys(limited) -> None:
    server = await limited(**LOCKOUT, lockout_address_failures=4)
    issued = await create_key(server.ctx)
    address = new_address()
    async with server.client(address) as http:
        for attempt in range(4):
            await fail(http, f"sk_sdbx_guess{attempt}", 1)
        assert_locked_out(await sign_in(http, issued.key_id, issued.secret), 60)
    async with server.client(new_address()) as elsewhere:
        assert (await sign_in(elsewhere, issued.key_id, issued.secret)).status_code == 200


async def test_failures_of_one_key_do_not_lock_out_another(server: Limited) -> None:
    first, second = await create_key(server.ctx), await create_key(server.ctx)
    async with server.client() as http:
        await fail(http, first.key_id, 3)
        assert (await sign_in(http, second.key_id, second.secret)).status_code == 200


async def test_operator_login_is_locked_out_per_email_and_then_refuses_the_right_password(server: Limited) -> None:
    person = await make_operator(server.ctx, "viewer")
    async with server.client(base_url=ADMIN) as http:
        for _ in range(3):
            wrong = await http.post("/session", json={"email": person.email, "password": "not the password at all"})
            assert_error(wrong, 401, "invalid_credentials")
        locked = await http.post("/session", json={"email": person.email.upper(), "password": person.password})
        assert_locked_out(locked, 60)
        assert locked.headers["ratelimit-policy"] == '"admin_login-address";q=60;w=60'
        server.clock.advance(seconds=60)
        assert (
            await http.post("/session", json={"email": person.email, "password": person.password})
        ).status_code == 201


async def test_an_operator_login_resets_its_emails_failures(server: Limited) -> None:
    person = await make_operator(server.ctx, "viewer")
    wrong = {"email": person.email, "password": "not the password at all"}
    right = {"email": person.email, "password": person.password}
    async with server.client(base_url=ADMIN) as http:
        for _ in range(2):
            assert_error(await http.post("/session", json=wrong), 401, "invalid_credentials")
        assert (await http.post("/session", json=right)).status_code == 201
        for _ in range(2):  # counted afresh: two are not three
            assert_error(await http.post("/session", json=wrong), 401, "invalid_credentials")
        assert (await http.post("/session", json=right)).status_code == 201
