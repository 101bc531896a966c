"""What the admin API administers: operators (never the last admin away), tokens, customers' status, webhooks'
complianceOnly flag."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from oms.app import create_app
from oms.context import AppContext
from oms.kit.ids import new_id
from tests.admin.conftest import ADMIN_BASE
from tests.admin.support import Browser, bearer, make_operator, with_token
from tests.audit.support import records
from tests.support import Api, OffsetClock, assert_error, create_customer, fresh_database, sandbox_settings


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    with fresh_database(tmp_path) as found:
        yield found


@pytest.fixture
async def alone(own_database: dict[str, str], tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, AppContext]]:
    """A server of its own, whose only operators are the test's: the last admin is then known."""
    settings = sandbox_settings(tmp_path / "data", own_database)
    ctx = AppContext.build(settings)
    app = create_app(settings, ctx=ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ADMIN_BASE) as http:
        yield http, ctx
    await ctx.close()


async def test_the_last_active_admin_can_be_neither_demoted_nor_disabled(
    alone: tuple[httpx.AsyncClient, AppContext],
) -> None:
    http, ctx = alone
    first = await with_token(ctx, await make_operator(ctx, "admin"))
    assert_error(await http.patch(f"/operators/{first.id}", json={"role": "approver"}, headers=bearer(first)), 409,
                 "last_admin")  # fmt: skip
    assert_error(await http.patch(f"/operators/{first.id}", json={"status": "disabled"}, headers=bearer(first)), 409,
                 "last_admin")  # fmt: skip
    second = await make_operator(ctx, "viewer")
    assert (
        await http.patch(f"/operators/{second.id}", json={"role": "admin"}, headers=bearer(first))
    ).status_code == 200
    demoted = await http.patch(f"/operators/{first.id}", json={"role": "viewer"}, headers=bearer(first))
    assert demoted.status_code == 200 and demoted.json()["role"] == "viewer"
    listed = (await http.get("/operators", headers=bearer(first))).json()["data"]
    assert {(o["id"], o["role"]) for o in listed} == {(first.id, "viewer"), (second.id, "admin")}


async def test_an_operator_token_is_shown_once_and_works_until_revoked(
    browser: Browser, admin_http: httpx.AsyncClient, ctx: AppContext
) -> None:
    person = await make_operator(ctx, "approver")
    await browser.log_in(person)
    created = await browser.post("/tokens", {"name": "deploy bot"})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("oat_") and created.json()["status"] == "active"
    listed = await browser.get("/tokens")
    assert token not in listed.text and [t["id"] for t in listed.json()["data"]] == [created.json()["id"]]
    headers = {"Authorization": f"Bearer {token}"}
    me = await admin_http.get("/me", headers=headers)
    assert me.status_code == 200 and me.json()["id"] == person.id
    assert (await admin_http.post("/me/totp", headers=headers)).status_code == 200  # no CSRF with a token
    revoked = await browser.delete(f"/tokens/{created.json()['id']}")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert_error(await admin_http.get("/me", headers=headers), 401, "invalid_operator_token")


async def test_an_operator_token_expires(admin_http: httpx.AsyncClient, ctx: AppContext, clock: OffsetClock) -> None:
    person = await with_token(ctx, await make_operator(ctx, "viewer"))
    created = await admin_http.post("/tokens", json={"name": "short", "expiresIn": 600}, headers=bearer(person))
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    assert (await admin_http.get("/me", headers=headers)).status_code == 200
    clock.advance(seconds=601)
    assert_error(await admin_http.get("/me", headers=headers), 401, "invalid_operator_token")


async def test_an_operator_cannot_revoke_another_ones_token_but_an_admin_can(
    admin_http: httpx.AsyncClient, ctx: AppContext
) -> None:
    owner = await with_token(ctx, await make_operator(ctx, "viewer"))
    other = await with_token(ctx, await make_operator(ctx, "approver"))
    admin = await with_token(ctx, await make_operator(ctx, "admin"))
    token_id = (await admin_http.get("/tokens", headers=bearer(owner))).json()["data"][0]["id"]
    assert_error(await admin_http.delete(f"/tokens/{token_id}", headers=bearer(other)), 404, "resource_missing")
    assert (await admin_http.delete(f"/tokens/{token_id}", headers=bearer(admin))).status_code == 200
    assert_error(await admin_http.get("/me", headers=bearer(owner)), 401, "invalid_operator_token")


async def test_an_admin_deactivates_and_reactivates_a_customer(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext
) -> None:
    admin = await with_token(ctx, await make_operator(ctx, "admin"))
    customer = await create_customer(api)
    url = f"/customers/{customer['id']}/status"
    answer = await admin_http.put(url, json={"status": "inactive"}, headers=bearer(admin))
    assert answer.json() == {
        "id": customer["id"],
        "object": "customer",
        "tenantId": api.tenant_id,
        "status": "inactive",
    }
    assert (await api.get(f"/customers/{customer['id']}")).json()["status"] == "inactive"
    wallet = await api.post(f"/customers/{customer['id']}/wallets", {"asset": "usdc", "chain": "polygon"})
    assert_error(wallet, 403, "customer_inactive")
    assert (await admin_http.put(url, json={"status": "active"}, headers=bearer(admin))).status_code == 200
    assert (await api.get(f"/customers/{customer['id']}")).json()["status"] == "active"
    missing = await admin_http.put(f"/customers/{new_id('cst')}/status", json={"status": "active"},
                                   headers=bearer(admin))  # fmt: skip
    assert_error(missing, 404, "resource_missing")


async def test_only_the_admin_api_sets_a_webhooks_compliance_only_flag(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext
) -> None:
    admin = await with_token(ctx, await make_operator(ctx, "admin"))
    webhook = (await api.post("/webhooks", {"url": "http://127.0.0.1:9/hook"})).json()
    assert webhook["complianceOnly"] is False
    tenant_try = await api.patch(f"/webhooks/{webhook['id']}", {"complianceOnly": True})
    assert_error(tenant_try, 400, "unknown_parameter", "complianceOnly")
    set_on = await admin_http.patch(f"/webhooks/{webhook['id']}", json={"complianceOnly": True}, headers=bearer(admin))
    assert set_on.status_code == 200, set_on.text
    assert set_on.json()["complianceOnly"] is True and set_on.json()["tenantId"] == api.tenant_id
    assert "secret" not in set_on.json()
    assert (await api.get(f"/webhooks/{webhook['id']}")).json()["complianceOnly"] is True
    missing = await admin_http.patch(f"/webhooks/{new_id('whk')}", json={"complianceOnly": True},
                                     headers=bearer(admin))  # fmt: skip
    assert_error(missing, 404, "resource_missing")


async def test_admin_requests_are_recorded_with_the_operator_as_actor(
    admin_http: httpx.AsyncClient, api: Api, ctx: AppContext
) -> None:
    admin = await with_token(ctx, await make_operator(ctx, "admin"))
    customer = await create_customer(api)
    await admin_http.put(f"/customers/{customer['id']}/status", json={"status": "inactive"}, headers=bearer(admin))
    [_, deactivated] = await records(ctx, object_id=customer["id"])
    assert deactivated["actor"] == {"kind": "operator", "id": admin.id}
    assert deactivated["action"] == "PUT /admin/v1/customers/{customer_id}/status"
    assert deactivated["tenantId"] == api.tenant_id
