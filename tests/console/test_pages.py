"""The console through HTTP, as a browser without JavaScript uses it, on the ``oms demo`` sandbox: every page for
every role, the login (with TOTP), the roles and the CSRF token on every form, the writes and their audit
records, and nothing shown that the admin API would not show."""

from __future__ import annotations

import time

import pyotp
import pytest

from oms.models.operator import OperatorRole
from oms.worker import reconcile
from tests.admin.support import make_operator
from tests.console.conftest import Sandbox
from tests.console.support import Console, enrolled_operator, page_error

ROLES: tuple[OperatorRole, ...] = ("viewer", "approver", "admin")


def pages(sandbox: Sandbox) -> dict[str, str]:
    """Every page, with a text each must show from the demo's data."""
    x, t = sandbox.extras, f"tenant={sandbox.extras.tenant_id}"
    return {
        f"/console?{t}": "Volume per day",
        f"/console/tenants?{t}": sandbox.summary.api_key,
        f"/console/customers?{t}": x.ada_id,
        f"/console/customers/{x.ada_id}?{t}": "Endorsements",
        f"/console/wallets?{t}": "0x",
        f"/console/transactions?{t}": x.settled_id,
        f"/console/transactions?{t}&status=failed": x.failed_id,
        f"/console/transactions/{x.settled_id}?{t}": "Settled: completed",
        f"/console/transactions/{x.failed_id}?{t}": "Failed: chain_transaction_failed",
        f"/console/transactions/{x.held_id}?{t}": "Awaiting a decision",
        "/console/approvals": x.review_id,
        f"/console/webhooks?{t}": x.webhook_id,
        f"/console/webhooks/{x.webhook_id}?{t}": x.delivery_id,
        f"/console/events?{t}": "transaction.cryptoToCrypto.completed",
        "/console/audit?action=cli+demo": "cli demo",
        "/console/reconciliation?run=now": "differences",
    }


async def logged_in(sandbox: Sandbox, console: Console, role: OperatorRole) -> None:
    response = await console.log_in(await make_operator(sandbox.ctx, role))
    assert response.status_code == 303, response.text


@pytest.mark.parametrize("role", ROLES)
async def test_every_page_renders_for_every_role_with_the_demo_data(
    sandbox: Sandbox, console: Console, role: OperatorRole
) -> None:
    await logged_in(sandbox, console, role)
    for path, shown in pages(sandbox).items():
        page = await console.get(path)
        assert page.status_code == 200, (path, page.text[:2000])
        assert shown in page.text, path
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert "<script" not in page.text


async def test_a_viewer_sees_no_form_it_may_not_post(sandbox: Sandbox, console: Console) -> None:
    await logged_in(sandbox, console, "viewer")
    approvals = await console.get("/console/approvals")
    assert "/approve" not in approvals.text
    webhook = await console.get(f"/console/webhooks/{sandbox.extras.webhook_id}?tenant={sandbox.extras.tenant_id}")
    assert "/retry" not in webhook.text


async def test_without_a_session_every_page_redirects_to_the_login(sandbox: Sandbox, console: Console) -> None:
    for path in pages(sandbox):
        response = await console.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/login?next=/console"), path
    posted = await console.post(f"/console/reviews/{sandbox.extras.review_id}/approve", {"reason": "x"}, csrf="x")
    assert (posted.status_code, posted.headers["location"]) == (303, "/console/login?next=/console")


async def test_the_login_goes_back_to_the_page_asked_for(sandbox: Sandbox, console: Console) -> None:
    asked = await console.get("/console/audit")
    login = await console.get(asked.headers["location"])
    assert 'name="next" value="/console/audit"' in login.text
    person = await make_operator(sandbox.ctx, "viewer")
    form = {"email": person.email, "password": person.password, "next": "/console/audit"}
    assert (await console.http.post("/console/login", data=form)).headers["location"] == "/console/audit"
    elsewhere = await console.http.post("/console/login", data={**form, "next": "https://evil.example/console"})
    assert elsewhere.headers["location"] == "/console"


async def test_the_login_sets_secure_http_only_strict_cookies_for_the_console(
    sandbox: Sandbox, console: Console
) -> None:
    response = await console.log_in(await make_operator(sandbox.ctx, "viewer"))
    assert (response.status_code, response.headers["location"]) == (303, "/console")
    cookies = response.headers.get_list("set-cookie")
    assert {c.split("=", 1)[0] for c in cookies} == {"oms_console_session", "oms_console_csrf"}
    for cookie in cookies:
        for attribute in ("Secure", "HttpOnly", "SameSite=strict", "Path=/console"):
            assert attribute.lower() in cookie.lower()


async def test_a_wrong_password_shows_the_login_form_again_with_the_reason(sandbox: Sandbox, console: Console) -> None:
    person = await make_operator(sandbox.ctx, "viewer")
    person.password = "not the password at all"
    refused = await console.log_in(person)
    assert refused.status_code == 401
    assert "Invalid email or password." in refused.text and 'name="password"' in refused.text
    assert "oms_console_session" not in refused.headers.get("set-cookie", "")


async def test_an_enrolled_operator_logs_in_only_with_its_current_totp_code(sandbox: Sandbox, console: Console) -> None:
    person = await enrolled_operator(sandbox.ctx, "admin")
    without = await console.log_in(person)
    assert without.status_code == 401 and "A TOTP code is required" in without.text
    wrong = await console.log_in(person, "000000")
    assert wrong.status_code == 401 and "Invalid or already used TOTP code." in wrong.text
    assert person.totp_secret is not None
    next_code = pyotp.TOTP(person.totp_secret).at(time.time() + 30)  # the enrolment spent the current one
    accepted = await console.log_in(person, next_code)
    assert accepted.status_code == 303
    assert (await console.get("/console/audit")).status_code == 200


async def test_a_form_without_the_sessions_csrf_token_is_refused_and_recorded(
    sandbox: Sandbox, console: Console
) -> None:
    await logged_in(sandbox, console, "admin")
    missing = await console.post("/console/tenants", {"name": "no-token"}, csrf="")
    assert (missing.status_code, page_error(missing)) == (403, "csrf_token_missing")
    wrong = await console.post("/console/tenants", {"name": "no-token"}, csrf="not-the-token")
    assert (wrong.status_code, page_error(wrong)) == (403, "csrf_token_invalid")
    tenants = await console.get("/console/tenants")
    assert "no-token" not in tenants.text
    audit = await console.get("/console/audit", action="POST /console/tenants", outcome="failed")
    assert "csrf_token_invalid" in audit.text


WRITES = (
    ("/console/tenants", {"name": "viewer-made"}),
    ("/console/api-keys", {"tenant": "{tenant}", "scopes": "read"}),
    ("/console/customers/{customer}/status", {"status": "inactive"}),
    ("/console/reviews/{review}/approve", {"reason": "ok"}),
    ("/console/reviews/{review}/reject", {"reason": "no"}),
    ("/console/deposits/dep_01m99ca3v9ews8300h1w5h3xw4/release", {"reason": "ok"}),
    ("/console/webhooks/{webhook}/deliveries/{delivery}/retry", {"tenant": "{tenant}"}),
)


@pytest.mark.parametrize(("path", "form"), WRITES, ids=[w[0].rsplit("/", 1)[-1] for w in WRITES])
async def test_a_viewer_is_refused_every_write(
    sandbox: Sandbox, console: Console, path: str, form: dict[str, str]
) -> None:
    await logged_in(sandbox, console, "viewer")
    x = sandbox.extras
    ids = {"tenant": x.tenant_id, "customer": x.ada_id, "review": x.review_id, "webhook": x.webhook_id}
    ids["delivery"] = x.delivery_id
    refused = await console.post(path.format(**ids), {k: v.format(**ids) for k, v in form.items()})
    assert (refused.status_code, page_error(refused)) == (403, "insufficient_role")


async def test_an_approver_may_decide_but_not_administer(sandbox: Sandbox, console: Console) -> None:
    await logged_in(sandbox, console, "approver")
    refused = await console.post("/console/tenants", {"name": "approver-made"})
    assert (refused.status_code, page_error(refused)) == (403, "insufficient_role")
    unknown = await console.post("/console/reviews/rev_01m99ca3v9ews8300h1w5h3xw4/approve", {"reason": "ok"})
    assert (unknown.status_code, page_error(unknown)) == (404, "resource_missing")


async def test_an_admin_creates_a_tenant_and_a_key_whose_secret_is_shown_once(
    sandbox: Sandbox, console: Console
) -> None:
    await logged_in(sandbox, console, "admin")
    created = await console.post("/console/tenants", {"name": "console-made"})
    assert created.status_code == 303
    tenant_id = created.headers["location"].split("tenant=")[1].split("&")[0]
    key = await console.http.post(
        "/console/api-keys", data={"csrf": console.csrf, "tenant": tenant_id, "scopes": ["read", "money:write"]}
    )
    assert key.status_code == 201 and "sks_" in key.text
    listed = await console.get("/console/tenants", tenant=tenant_id)
    assert "read, money:write" in listed.text and "sks_" not in listed.text
    bad = await console.http.post("/console/api-keys", data={"csrf": console.csrf, "tenant": tenant_id, "scopes": "x"})
    assert (bad.status_code, page_error(bad)) == (400, "parameter_invalid")


async def test_an_approval_releases_the_held_transfer_and_is_audited(sandbox: Sandbox, console: Console) -> None:
    x = sandbox.extras
    await logged_in(sandbox, console, "approver")
    approved = await console.post(f"/console/reviews/{x.review_id}/approve", {"reason": "known customer"})
    assert (approved.status_code, approved.headers["location"]) == (303, "/console/approvals?notice=approved")
    decided = await console.get("/console/approvals", status="approved")
    assert x.review_id in decided.text
    timeline = await console.get(f"/console/transactions/{x.held_id}", tenant=x.tenant_id)
    assert "Review approved by op_" in timeline.text
    audit = await console.get("/console/audit", object=x.review_id)
    assert "POST /console/reviews/{review_id}/approve" in audit.text and "succeeded" in audit.text
    again = await console.post(f"/console/reviews/{x.review_id}/approve", {"reason": "twice"})
    assert again.status_code == 409


async def test_an_admin_retries_a_failed_delivery_and_it_is_audited(sandbox: Sandbox, console: Console) -> None:
    x = sandbox.extras
    await logged_in(sandbox, console, "admin")
    retried = await console.post(
        f"/console/webhooks/{x.webhook_id}/deliveries/{x.delivery_id}/retry", {"tenant": x.tenant_id}
    )
    assert retried.status_code == 303 and "notice=retried" in retried.headers["location"]
    pending = await console.get(f"/console/webhooks/{x.webhook_id}", tenant=x.tenant_id, status="pending")
    assert x.delivery_id in pending.text
    audit = await console.get("/console/audit", object=x.delivery_id)
    assert "POST /console/webhooks/{webhook_id}/deliveries/{delivery_id}/retry" in audit.text


async def test_an_admin_changes_a_customers_status_through_the_admin_apis_rule(
    sandbox: Sandbox, console: Console
) -> None:
    x = sandbox.extras
    await logged_in(sandbox, console, "admin")
    customers = await console.get("/console/customers", tenant=x.tenant_id, q="katherine@example.com")
    customer_id = customers.text.split("/console/customers/")[1].split("?")[0]
    changed = await console.post(f"/console/customers/{customer_id}/status", {"status": "inactive"})
    assert changed.status_code == 303
    shown = await console.get(f"/console/customers/{customer_id}", tenant=x.tenant_id)
    assert "status-inactive" in shown.text
    invalid = await console.post(f"/console/customers/{customer_id}/status", {"status": "asleep"})
    assert (invalid.status_code, page_error(invalid)) == (400, "parameter_invalid")


async def test_a_customer_is_found_by_email_without_showing_it(sandbox: Sandbox, console: Console) -> None:
    await logged_in(sandbox, console, "viewer")
    found = await console.get("/console/customers", tenant=sandbox.extras.tenant_id, q="ada@example.com")
    assert sandbox.extras.ada_id in found.text and found.text.count("/console/customers/cst_") == 1
    assert "ada@example.com" not in found.text.replace('value="ada@example.com"', "")
    by_id = await console.get("/console/customers", tenant=sandbox.extras.tenant_id, q=sandbox.extras.ada_id)
    assert by_id.text.count("/console/customers/cst_") == 1
    nobody = await console.get(
        "/console/customers", tenant=sandbox.extras.tenant_id, q="cst_01m99ca3v9ews8300h1w5h3xw4"
    )
    assert nobody.status_code == 200 and "No customer found." in nobody.text


async def test_no_page_shows_personal_data_or_a_secret(sandbox: Sandbox, console: Console) -> None:
    await logged_in(sandbox, console, "admin")
    session = console.http.cookies.get("oms_console_session") or ""
    forbidden = ["Lovelace", "Hopper", "grace@example.com", "123-45-6789", "1990-12-10", "1 Main St", "Springfield"]
    forbidden += [sandbox.summary.api_secret, "whsec_", session]
    for path in pages(sandbox):
        text = (await console.get(path)).text
        for value in forbidden:
            assert value not in text, (path, value)


async def test_logging_out_ends_the_session(sandbox: Sandbox, console: Console) -> None:
    await logged_in(sandbox, console, "viewer")
    cookie = console.http.cookies.get("oms_console_session") or ""
    out = await console.post("/console/logout")
    assert (out.status_code, out.headers["location"]) == (303, "/console/login?notice=logged_out")
    console.http.cookies.set("oms_console_session", cookie, domain="oms.test", path="/console")
    assert (await console.get("/console/audit")).status_code == 303  # the old cookie, replayed


async def test_an_unknown_page_is_a_404_page_after_the_login(sandbox: Sandbox, console: Console) -> None:
    assert (await console.get("/console/nowhere")).status_code == 303
    await logged_in(sandbox, console, "viewer")
    missing = await console.get("/console/nowhere/at/all")
    assert (missing.status_code, page_error(missing)) == (404, "unrecognized_request_url")
    assert (await console.get("/console/")).headers["location"] == "/console"
    assert (await console.get("/console/static/console.css")).headers["content-type"].startswith("text/css")


async def test_a_bad_filter_is_a_400_page(sandbox: Sandbox, console: Console) -> None:
    await logged_in(sandbox, console, "viewer")
    bad = await console.get("/console/transactions", status="lost")
    assert (bad.status_code, page_error(bad)) == (400, "parameter_invalid")
    unknown = await console.get("/console/transactions", colour="blue")
    assert (unknown.status_code, page_error(unknown)) == (400, "unknown_parameter")
    missing = await console.get("/console/customers", tenant="ten_01m99ca3v9ews8300h1w5h3xw4")
    assert (missing.status_code, page_error(missing)) == (404, "resource_missing")


async def test_the_reconciliation_page_shows_the_workers_last_run(sandbox: Sandbox, console: Console) -> None:
    await reconcile(sandbox.ctx)  # the worker's job, in another process as far as the console knows
    await logged_in(sandbox, console, "viewer")
    page = await console.get("/console/reconciliation")
    assert page.status_code == 200 and "by the worker" in page.text
    assert 'id="differences">0<' in page.text  # the demo's ledger agrees with its chain
