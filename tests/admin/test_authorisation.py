"""Who may call what on /admin/v1, for every route of the admin OpenAPI document (so a new route cannot escape):
each declares its role (``x-oms-role``); without credentials it is 401, with a lower role 403, with its own
role neither. Tenants' credentials are refused everywhere; a disabled operator at once."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from oms.context import AppContext
from oms.kit.ids import new_id
from oms.models.operator import ROLES
from tests.admin.support import Browser, Person, bearer, make_operator, with_token
from tests.support import Api, assert_error

# The ways in: the only operations without a role.
PUBLIC = {("POST", "/admin/v1/session"), ("POST", "/admin/v1/setup"), ("POST", "/admin/v1/setup/totp")}
UNKNOWN_ID = new_id("x")  # of no other test: the audit log's tests look records up by object id


async def operations(http: httpx.AsyncClient) -> list[tuple[str, str, dict[str, Any]]]:
    document = (await http.get("/openapi.json")).json()
    return [(method.upper(), path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


async def guarded(http: httpx.AsyncClient) -> list[tuple[str, str, str]]:
    """Every operation that declares a role, with it."""
    found = [(method, path, op["x-oms-role"]) for method, path, op in await operations(http)]
    return [(method, path, declared) for method, path, declared in found if declared != "none"]


async def call(http: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    url = re.sub(r"\{[^}]+\}", UNKNOWN_ID, path).removeprefix("/admin/v1")
    body = None if method in {"GET", "DELETE"} else {}
    return await http.request(method, url, json=body, headers=headers)


async def test_every_admin_route_declares_a_role(admin_http: httpx.AsyncClient) -> None:
    found = await operations(admin_http)
    assert found, "the admin document lists its operations"
    for method, path, operation in found:
        role = operation.get("x-oms-role")
        assert role in {"none", *ROLES}, (method, path)
        assert (role == "none") == ((method, path) in PUBLIC), (method, path)
        if role != "none":
            assert operation["security"] == [{"operatorSession": []}, {"operatorToken": []}]


@pytest.fixture(scope="module")
def people() -> dict[str, Person]:
    return {}


async def person_of(ctx: AppContext, people: dict[str, Person], role: str) -> Person:
    if role not in people:
        people[role] = await with_token(ctx, await make_operator(ctx, role))  # type: ignore[arg-type]
    return people[role]


async def test_without_credentials_every_non_public_route_is_401(admin_http: httpx.AsyncClient) -> None:
    for method, path, _ in await guarded(admin_http):
        assert_error(await call(admin_http, method, path, {}), 401, "missing_credentials")


async def test_a_role_below_the_declared_one_is_403(
    admin_http: httpx.AsyncClient, ctx: AppContext, people: dict[str, Person]
) -> None:
    for method, path, declared in await guarded(admin_http):
        for lower in ROLES[: ROLES.index(declared)]:
            response = await call(admin_http, method, path, bearer(await person_of(ctx, people, lower)))
            assert_error(response, 403, "insufficient_role")


async def test_the_declared_role_passes_authorisation(
    admin_http: httpx.AsyncClient, ctx: AppContext, people: dict[str, Person]
) -> None:
    for method, path, declared in await guarded(admin_http):
        for role in ROLES[ROLES.index(declared) :]:
            response = await call(admin_http, method, path, bearer(await person_of(ctx, people, role)))
            assert response.status_code not in {401, 403}, (method, path, role, response.text)


async def test_a_tenants_token_or_api_key_is_refused(admin_http: httpx.AsyncClient, api: Api) -> None:
    for credential in (api.token, api.issued.secret, api.issued.key_id):
        response = await admin_http.get("/operators", headers={"Authorization": f"Bearer {credential}"})
        assert_error(response, 401, "invalid_operator_token")


async def test_a_viewer_cannot_write(browser: Browser, ctx: AppContext) -> None:
    viewer = await make_operator(ctx, "viewer")
    await browser.log_in(viewer)
    assert (await browser.get("/operators")).status_code == 200
    response = await browser.post("/operators", {"email": "new@example.com", "role": "viewer"})
    assert_error(response, 403, "insufficient_role")
    assert_error(await browser.patch(f"/operators/{viewer.id}", {"role": "admin"}), 403, "insufficient_role")


async def test_a_disabled_operator_is_refused_at_once(
    browser: Browser, admin_http: httpx.AsyncClient, ctx: AppContext
) -> None:
    admin = await with_token(ctx, await make_operator(ctx, "admin"))
    target = await with_token(ctx, await make_operator(ctx, "approver"))
    await browser.log_in(target)
    assert (await browser.get("/me")).status_code == 200
    assert (await admin_http.get("/me", headers=bearer(target))).status_code == 200
    disabled = await admin_http.patch(f"/operators/{target.id}", json={"status": "disabled"}, headers=bearer(admin))
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert_error(await browser.get("/me"), 401, "invalid_session")
    assert_error(await admin_http.get("/me", headers=bearer(target)), 401, "invalid_operator_token")
    assert_error(await browser.log_in(target), 401, "invalid_credentials")


async def test_a_role_change_applies_to_the_next_request(admin_http: httpx.AsyncClient, ctx: AppContext) -> None:
    admin = await with_token(ctx, await make_operator(ctx, "admin"))
    other = await with_token(ctx, await make_operator(ctx, "admin"))
    assert (await admin_http.post("/operators", json={"email": f"x{other.id}@example.com", "role": "viewer"},
                                  headers=bearer(other))).status_code == 201  # fmt: skip
    await admin_http.patch(f"/operators/{other.id}", json={"role": "viewer"}, headers=bearer(admin))
    response = await admin_http.post(
        "/operators", json={"email": "y@example.com", "role": "viewer"}, headers=bearer(other)
    )
    assert_error(response, 403, "insufficient_role")


async def test_the_admin_api_has_its_own_document(client: httpx.AsyncClient, admin_http: httpx.AsyncClient) -> None:
    oms = (await client.get("/openapi.json")).json()
    assert not [path for path in oms["paths"] if path.startswith("/admin")]
    admin = (await admin_http.get("/openapi.json")).json()
    assert admin["info"]["title"] == "OMS admin API"
    assert all(path.startswith("/admin/v1/") for path in admin["paths"])
    assert (await admin_http.get("/docs")).status_code == 200


async def test_a_wrong_method_names_the_admin_routes_methods(admin_http: httpx.AsyncClient) -> None:
    response = await admin_http.put("/session", json={})
    assert_error(response, 405, "http_error")
    assert response.headers["allow"] == "DELETE, POST"
