"""Set-up through the one-time link: the password is the operator's; TOTP enrolment, required in live mode."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from oms.app import create_app
from oms.config import Mode, Settings
from oms.context import AppContext
from oms.models import Operator
from tests.admin.conftest import ADMIN_BASE
from tests.admin.support import PASSWORD, Browser, bearer, make_operator, with_token
from tests.support import OffsetClock, assert_error


def token_of(url: str) -> str:
    found = re.fullmatch(r"https?://[^/]+/admin/v1/setup#token=(ost_[A-Za-z0-9_-]+)", url)
    assert found, url
    return found[1]


async def test_an_admin_creates_an_operator_who_sets_the_password_through_the_link(
    admin_http: httpx.AsyncClient, browser: Browser, ctx: AppContext
) -> None:
    admin = await with_token(ctx, await make_operator(ctx, "admin"))
    created = await admin_http.post("/operators", json={"email": "New.Person@Example.com", "role": "viewer"},
                                    headers=bearer(admin))  # fmt: skip
    assert created.status_code == 201, created.text
    operator = created.json()["operator"]
    assert operator["email"].startswith("new.person@") and operator["passwordSet"] is False
    token = token_of(created.json()["setupUrl"])
    assert_error(await admin_http.post("/setup", json={"token": token, "password": "short"}), 400, "password_too_short")
    done = await admin_http.post("/setup", json={"token": token, "password": PASSWORD})
    assert done.status_code == 200 and done.json()["passwordSet"] is True
    assert_error(
        await admin_http.post("/setup", json={"token": token, "password": PASSWORD}), 401, "invalid_setup_token"
    )
    login = await browser.http.post("/session", json={"email": "NEW.person@example.com", "password": PASSWORD})
    assert login.status_code == 201
    again = await admin_http.post("/operators", json={"email": "new.person@example.com", "role": "admin"},
                                  headers=bearer(admin))  # fmt: skip
    assert_error(again, 409, "operator_exists", "email")


async def test_a_setup_link_expires(admin_http: httpx.AsyncClient, ctx: AppContext, clock: OffsetClock) -> None:
    async with ctx.db.session_scope() as session:
        _, link = await ctx.operators.create(session, "late-starter@example.com", "viewer")
    clock.advance(seconds=ctx.settings.admin_setup_link_seconds + 1)
    response = await admin_http.post("/setup", json={"token": link.token, "password": PASSWORD})
    assert_error(response, 401, "invalid_setup_token")


async def test_a_new_setup_link_replaces_the_old_one(admin_http: httpx.AsyncClient, ctx: AppContext) -> None:
    admin = await with_token(ctx, await make_operator(ctx, "admin"))
    async with ctx.db.session_scope() as session:
        operator, first = await ctx.operators.create(session, "forgetful@example.com", "viewer")
    second = await admin_http.post(f"/operators/{operator.id}/setup-link", headers=bearer(admin))
    assert second.status_code == 200
    assert_error(await admin_http.post("/setup", json={"token": first.token, "password": PASSWORD}), 401,
                 "invalid_setup_token")  # fmt: skip
    done = await admin_http.post("/setup", json={"token": token_of(second.json()["setupUrl"]), "password": PASSWORD})
    assert done.status_code == 200


async def test_totp_can_be_enrolled_during_setup(admin_http: httpx.AsyncClient, browser: Browser, ctx: AppContext,
                                                 clock: OffsetClock) -> None:  # fmt: skip
    async with ctx.db.session_scope() as session:
        _, link = await ctx.operators.create(session, "careful@example.com", "approver")
    uri = (await admin_http.post("/setup/totp", json={"token": link.token})).json()["provisioningUri"]
    secret = pyotp.parse_uri(uri).secret
    wrong = await admin_http.post("/setup", json={"token": link.token, "password": PASSWORD, "totpCode": "123456"})
    assert_error(wrong, 400, "invalid_totp_code", "totpCode")
    code = pyotp.TOTP(secret).at(clock.now())
    done = await admin_http.post("/setup", json={"token": link.token, "password": PASSWORD, "totpCode": code})
    assert done.status_code == 200 and done.json()["totpEnrolled"] is True
    body = {"email": "careful@example.com", "password": PASSWORD}
    assert_error(await browser.http.post("/session", json=body), 401, "totp_required")
    clock.advance(seconds=30)
    body["totpCode"] = pyotp.TOTP(secret).at(clock.now())
    assert (await browser.http.post("/session", json=body)).status_code == 201


async def test_a_changed_hash_parameter_rehashes_the_password_at_login(browser: Browser, ctx: AppContext) -> None:
    person = await make_operator(ctx, "viewer", password=False)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    async with ctx.db.session_scope() as session:
        await session.execute(
            update(Operator).where(Operator.id == person.id).values(password_hash=weak.hash(PASSWORD))
        )
    assert (await browser.log_in(person)).status_code == 201
    async with ctx.db.session_scope(write=False) as session:
        stored = (await session.get(Operator, person.id)).password_hash  # type: ignore[union-attr]
    assert stored is not None and not PasswordHasher().check_needs_rehash(stored)
    assert PasswordHasher().verify(stored, PASSWORD)


# --- live mode: a second factor is required -----------------------------------------------------------------


@pytest.fixture
async def live(
    settings: Settings, ctx: AppContext, clock: OffsetClock
) -> AsyncIterator[tuple[httpx.AsyncClient, AppContext]]:
    """A live-mode server on the same database (operators are the server's, not a tenant's), and its context."""
    live = settings.model_copy(update={"mode": Mode.live, "hot_reads": False})
    live_ctx = AppContext.build(live, clock=clock, db=ctx.db)
    app = create_app(live, ctx=live_ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ADMIN_BASE) as http:
        yield http, live_ctx


async def test_live_mode_setup_requires_a_confirmed_totp(
    live: tuple[httpx.AsyncClient, AppContext], clock: OffsetClock
) -> None:
    live_http, ctx = live
    async with ctx.db.session_scope() as session:
        _, link = await ctx.operators.create(session, "live-operator@example.com", "admin")
    refused = await live_http.post("/setup", json={"token": link.token, "password": PASSWORD})
    assert_error(refused, 422, "totp_enrollment_required", "totpCode")
    uri = (await live_http.post("/setup/totp", json={"token": link.token})).json()["provisioningUri"]
    code = pyotp.TOTP(pyotp.parse_uri(uri).secret).at(clock.now())
    done = await live_http.post("/setup", json={"token": link.token, "password": PASSWORD, "totpCode": code})
    assert done.status_code == 200 and done.json()["totpEnrolled"] is True


async def test_live_mode_refuses_a_login_without_totp_until_enrolled(
    live: tuple[httpx.AsyncClient, AppContext], clock: OffsetClock
) -> None:
    live_http, ctx = live
    person = await make_operator(ctx, "viewer")  # a password, no second factor (e.g. created before, or reset)
    body = {"email": person.email, "password": PASSWORD}
    assert_error(await live_http.post("/session", json=body), 403, "totp_enrollment_required")
    async with ctx.db.session_scope() as session:
        link = await ctx.operators.reset_totp(session, person.id)
    assert link is not None  # in live mode, the way back in
    uri = (await live_http.post("/setup/totp", json={"token": link.token})).json()["provisioningUri"]
    secret = pyotp.parse_uri(uri).secret
    code = pyotp.TOTP(secret).at(clock.now())
    assert (await live_http.post("/setup", json={"token": link.token, "totpCode": code})).status_code == 200
    clock.advance(seconds=30)
    login = await live_http.post("/session", json={**body, "totpCode": pyotp.TOTP(secret).at(clock.now())})
    assert login.status_code == 201


async def test_the_setup_link_opens_a_page_that_sends_no_secret_anywhere(admin_http: httpx.AsyncClient) -> None:
    page = await admin_http.get("/setup")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'sha256-" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert 'fetch(path, {method: "POST"' in page.text  # the documented POST /admin/v1/setup(/totp), same origin
