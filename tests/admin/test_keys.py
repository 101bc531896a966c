"""Tenants and API keys through the admin API (oms/admin/keys.py): an admin creates, changes and revokes, a
viewer reads; what an admin does to a key counts on /v0.9 from its next request on."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from oms.context import AppContext
from oms.kit.time import isoformat
from oms.models import ApiKey
from tests.admin.support import Person, bearer, make_operator, with_token
from tests.support import OffsetClock, assert_error


@pytest.fixture
async def admin(ctx: AppContext) -> Person:
    return await with_token(ctx, await make_operator(ctx, "admin"))


@pytest.fixture
async def tenant(admin_http: httpx.AsyncClient, admin: Person) -> dict[str, Any]:
    response = await admin_http.post("/tenants", json={"name": f"acme-{uuid.uuid4().hex[:8]}"}, headers=bearer(admin))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _new_key(admin_http: httpx.AsyncClient, admin: Person, tenant: dict[str, Any], **body: Any) -> Any:
    response = await admin_http.post("/api-keys", json={"tenantId": tenant["id"], **body}, headers=bearer(admin))
    assert response.status_code == 201, response.text
    return response.json()


async def _token(client: httpx.AsyncClient, created: dict[str, Any]) -> dict[str, str]:
    exchange = {"apiKey": created["apiKey"]["id"], "apiSecret": created["apiSecret"]}
    response = await client.post("/auth/token", json=exchange)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['accessToken']}"}


async def test_an_admin_creates_a_tenant_and_a_key_whose_secret_is_answered_once(
    admin_http: httpx.AsyncClient, client: httpx.AsyncClient, admin: Person, tenant: dict[str, Any]
) -> None:
    assert tenant["object"] == "tenant" and tenant["id"].startswith("ten_")
    created = await _new_key(admin_http, admin, tenant, scopes=["read"], expiresAt="2999-01-01T00:00:00Z")
    key = created["apiKey"]
    assert (key["tenantId"], key["mode"], key["scopes"], key["status"]) == (tenant["id"], "sandbox", ["read"], "active")
    assert key["expiresAt"] == "2999-01-01T00:00:00.000Z" and key["revokedAt"] is None
    headers = await _token(client, created)
    assert (await client.get("/customers", headers=headers)).status_code == 200
    refused = await client.post("/customers", json={}, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert_error(refused, 403, "insufficient_scope")
    read = await admin_http.get(f"/api-keys/{key['id']}", headers=bearer(admin))
    assert read.json() == key and created["apiSecret"] not in read.text
    listed = await admin_http.get("/tenants", params={"limit": 100}, headers=bearer(admin))
    assert tenant in listed.json()["data"]


async def test_a_key_is_full_unless_told(admin_http: httpx.AsyncClient, admin: Person, tenant: dict[str, Any]) -> None:
    key = (await _new_key(admin_http, admin, tenant))["apiKey"]
    assert key["scopes"] == ["read", "customers:write", "wallets:write", "money:write", "webhooks:write"]
    assert key["expiresAt"] is None


async def test_a_tenant_name_is_taken_once(
    admin_http: httpx.AsyncClient, admin: Person, tenant: dict[str, Any]
) -> None:
    response = await admin_http.post("/tenants", json={"name": tenant["name"]}, headers=bearer(admin))
    assert_error(response, 409, "tenant_exists")


async def test_a_key_for_no_tenant_or_with_unknown_scopes_is_refused(
    admin_http: httpx.AsyncClient, admin: Person, tenant: dict[str, Any]
) -> None:
    unknown = await admin_http.post("/api-keys", json={"tenantId": "ten_nope"}, headers=bearer(admin))
    assert_error(unknown, 404, "resource_missing")
    for body in ({"scopes": ["money:wirte"]}, {"scopes": []}, {"expiresAt": "2001-01-01T00:00:00Z"}):
        response = await admin_http.post("/api-keys", json={"tenantId": tenant["id"], **body}, headers=bearer(admin))
        assert response.status_code == 400, (body, response.text)


async def test_keys_are_listed_with_filters_and_cursors(
    admin_http: httpx.AsyncClient, ctx: AppContext, clock: OffsetClock, admin: Person, tenant: dict[str, Any]
) -> None:
    ids = [(await _new_key(admin_http, admin, tenant))["apiKey"]["id"] for _ in range(3)]
    await admin_http.post(f"/api-keys/{ids[0]}/revoke", headers=bearer(admin))
    async with ctx.db.session_scope() as session:
        await session.execute(update(ApiKey).where(ApiKey.id == ids[1]).values(expires_at=clock.now()))

    async def listed(**params: Any) -> Any:
        response = await admin_http.get("/api-keys", params={"tenantId": tenant["id"], **params}, headers=bearer(admin))
        assert response.status_code == 200, response.text
        return response.json()

    assert [key["id"] for key in (await listed())["data"]] == ids[::-1]  # newest first
    for status, expected in (("revoked", ids[0]), ("expired", ids[1]), ("active", ids[2])):
        [key] = (await listed(status=status))["data"]
        assert (key["id"], key["status"]) == (expected, status)
    first = await listed(limit=2)
    assert first["hasMore"] is True and [key["id"] for key in first["data"]] == [ids[2], ids[1]]
    rest = await listed(limit=2, startingAfter=first["nextCursor"])
    assert rest["hasMore"] is False and [key["id"] for key in rest["data"]] == [ids[0]]
    assert (await listed(mode="live"))["data"] == []


async def test_changing_a_keys_scopes_counts_from_its_next_request(
    admin_http: httpx.AsyncClient, client: httpx.AsyncClient, admin: Person, tenant: dict[str, Any]
) -> None:
    created = await _new_key(admin_http, admin, tenant)
    headers = await _token(client, created)
    assert (await client.get("/customers", headers=headers)).status_code == 200
    key_id = created["apiKey"]["id"]
    changed = await admin_http.patch(f"/api-keys/{key_id}", json={"scopes": ["customers:write"]}, headers=bearer(admin))
    assert changed.status_code == 200 and changed.json()["scopes"] == ["customers:write"]
    assert_error(await client.get("/customers", headers=headers), 403, "insufficient_scope")
    preset = await admin_http.patch(f"/api-keys/{key_id}", json={"scopes": ["read_only"]}, headers=bearer(admin))
    assert preset.json()["scopes"] == ["read"]
    assert (await client.get("/customers", headers=headers)).status_code == 200


async def test_revoking_a_key_stops_it_at_once(
    admin_http: httpx.AsyncClient, client: httpx.AsyncClient, admin: Person, tenant: dict[str, Any]
) -> None:
    created = await _new_key(admin_http, admin, tenant)
    headers = await _token(client, created)
    revoked = await admin_http.post(f"/api-keys/{created['apiKey']['id']}/revoke", headers=bearer(admin))
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert_error(await client.get("/customers", headers=headers), 401, "invalid_token")
    again = await admin_http.post(f"/api-keys/{created['apiKey']['id']}/revoke", headers=bearer(admin))
    assert again.json()["revokedAt"] == revoked.json()["revokedAt"]  # revoking again changes nothing
    assert_error(await admin_http.post("/api-keys/sk_sdbx_nope/revoke", headers=bearer(admin)), 404, "resource_missing")


async def test_a_viewer_reads_keys_but_cannot_make_change_or_revoke_them(
    admin_http: httpx.AsyncClient, ctx: AppContext, admin: Person, tenant: dict[str, Any]
) -> None:
    viewer = await with_token(ctx, await make_operator(ctx, "viewer"))
    key = (await _new_key(admin_http, admin, tenant))["apiKey"]
    assert (
        await admin_http.get("/api-keys", params={"tenantId": tenant["id"]}, headers=bearer(viewer))
    ).status_code == 200
    assert (await admin_http.get("/tenants", headers=bearer(viewer))).status_code == 200
    for method, path, body in (
        ("POST", "/tenants", {"name": "viewer-made"}),
        ("POST", "/api-keys", {"tenantId": tenant["id"]}),
        ("PATCH", f"/api-keys/{key['id']}", {"scopes": ["full"]}),
        ("POST", f"/api-keys/{key['id']}/revoke", {}),
    ):
        response = await admin_http.request(method, path, json=body, headers=bearer(viewer))
        assert_error(response, 403, "insufficient_role")


async def test_an_expiry_is_shown_and_counts(
    admin_http: httpx.AsyncClient, client: httpx.AsyncClient, clock: OffsetClock, admin: Person, tenant: dict[str, Any]
) -> None:
    expires = clock.now() + timedelta(minutes=5)
    created = await _new_key(admin_http, admin, tenant, expiresAt=isoformat(expires))
    headers = await _token(client, created)
    clock.advance(minutes=5)
    assert_error(await client.get("/customers", headers=headers), 401, "invalid_token")
    shown = await admin_http.get(f"/api-keys/{created['apiKey']['id']}", headers=bearer(admin))
    assert shown.json()["status"] == "expired"
