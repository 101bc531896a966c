"""Browser sessions: log-in with password (and TOTP once enrolled), the cookie, CSRF, expiry, log-out."""

from __future__ import annotations

import pyotp

from oms.context import AppContext
from tests.admin.support import Browser, make_operator
from tests.support import OffsetClock, assert_error


async def test_a_login_sets_a_secure_http_only_strict_cookie_for_admin_paths(browser: Browser, ctx: AppContext) -> None:
    person = await make_operator(ctx, "viewer")
    response = await browser.log_in(person)
    assert response.status_code == 201, response.text
    cookie = response.headers["set-cookie"]
    for attribute in ("Secure", "HttpOnly", "SameSite=strict", "Path=/admin"):
        assert attribute.lower() in cookie.lower()
    body = response.json()
    assert body["operator"]["email"] == person.email and body["csrfToken"]
    me = await browser.get("/me")
    assert me.status_code == 200 and me.json()["id"] == person.id and me.json()["role"] == "viewer"


async def test_a_wrong_password_or_unknown_email_is_one_answer(browser: Browser, ctx: AppContext) -> None:
    person = await make_operator(ctx, "viewer")
    wrong = await browser.http.post("/session", json={"email": person.email, "password": "not the password at all"})
    assert_error(wrong, 401, "invalid_credentials")
    unknown = await browser.http.post("/session", json={"email": "nobody@example.com", "password": person.password})
    assert_error(unknown, 401, "invalid_credentials")
    assert_error(await browser.get("/me"), 401, "missing_credentials")


async def test_an_operator_without_a_password_cannot_log_in(browser: Browser, ctx: AppContext) -> None:
    person = await make_operator(ctx, "admin", password=False)
    assert_error(await browser.log_in(person), 401, "invalid_credentials")


async def test_an_unsafe_request_without_the_csrf_token_is_refused(browser: Browser, ctx: AppContext) -> None:
    person = await make_operator(ctx, "admin")
    await browser.log_in(person)
    csrf = browser.csrf
    browser.csrf = None
    assert_error(await browser.post("/tokens", {"name": "ci"}), 403, "csrf_token_missing")
    browser.csrf = "not-the-token"
    assert_error(await browser.post("/tokens", {"name": "ci"}), 403, "csrf_token_invalid")
    browser.csrf = csrf
    assert (await browser.post("/tokens", {"name": "ci"})).status_code == 201
    browser.csrf = None
    assert (await browser.get("/tokens")).status_code == 200  # a read needs none


async def test_logging_out_ends_the_session(browser: Browser, ctx: AppContext) -> None:
    person = await make_operator(ctx, "viewer")
    await browser.log_in(person)
    cookie = browser.http.cookies.get("oms_admin_session")
    assert (await browser.delete("/session")).status_code == 204
    assert_error(await browser.get("/me"), 401, "missing_credentials")
    browser.http.cookies.set("oms_admin_session", cookie or "", domain="oms.test", path="/admin")
    assert_error(await browser.get("/me"), 401, "invalid_session")  # the old cookie, replayed


async def test_an_idle_session_expires(browser: Browser, ctx: AppContext, clock: OffsetClock) -> None:
    person = await make_operator(ctx, "viewer")
    await browser.log_in(person)
    idle = ctx.settings.admin_session_idle_seconds
    clock.advance(seconds=idle - 5)
    assert (await browser.get("/me")).status_code == 200  # activity: the idle limit starts again from here
    clock.advance(seconds=idle - 5)
    assert (await browser.get("/me")).status_code == 200
    clock.advance(seconds=idle + 1)
    assert_error(await browser.get("/me"), 401, "session_expired")


async def test_an_active_session_ends_at_its_absolute_limit(
    browser: Browser, ctx: AppContext, clock: OffsetClock
) -> None:
    person = await make_operator(ctx, "viewer")
    await browser.log_in(person)
    step = ctx.settings.admin_session_idle_seconds / 2
    elapsed = 0.0
    while elapsed + step < ctx.settings.admin_session_absolute_seconds:
        clock.advance(seconds=step)
        elapsed += step
        assert (await browser.get("/me")).status_code == 200
    clock.advance(seconds=ctx.settings.admin_session_absolute_seconds - elapsed)
    assert_error(await browser.get("/me"), 401, "session_expired")


async def test_totp_enrolment_then_every_login_needs_a_fresh_code(
    browser: Browser, ctx: AppContext, clock: OffsetClock
) -> None:
    # The clock stands still but for the test's steps: every code it computes is of the step the server is in.
    with clock.held():
        person = await make_operator(ctx, "viewer")
        await browser.log_in(person)
        uri = (await browser.post("/me/totp")).json()["provisioningUri"]
        secret = pyotp.parse_uri(uri).secret
        assert (await browser.get("/me")).json()["totpEnrolled"] is False  # not until confirmed
        assert_error(await browser.post("/me/totp/confirm", {"code": "000000"}), 400, "invalid_totp_code", "code")
        confirmed = await browser.post("/me/totp/confirm", {"code": pyotp.TOTP(secret).at(clock.now())})
        assert confirmed.status_code == 200 and confirmed.json()["totpEnrolled"] is True
        assert "provisioningUri" not in confirmed.text and secret not in (await browser.get("/me")).text
        assert_error(await browser.post("/me/totp"), 409, "totp_already_enrolled")
        await browser.delete("/session")

        assert_error(await browser.log_in(person), 401, "totp_required")
        clock.advance(seconds=30)
        code = pyotp.TOTP(secret).at(clock.now())
        assert (await browser.log_in(person, code)).status_code == 201
        assert_error(await browser.log_in(person, code), 401, "invalid_totp_code")  # a code is accepted once
        clock.advance(seconds=30)
        previous_step = pyotp.TOTP(secret).at(clock.now(), counter_offset=-1)  # already used: the one above
        assert_error(await browser.log_in(person, previous_step), 401, "invalid_totp_code")
        next_step = pyotp.TOTP(secret).at(clock.now(), counter_offset=1)  # one step ahead: a clock's drift
        assert (await browser.log_in(person, next_step)).status_code == 201
        clock.advance(seconds=30)
        too_far = pyotp.TOTP(secret).at(clock.now(), counter_offset=3)
        assert_error(await browser.log_in(person, too_far), 401, "invalid_totp_code")
