"""Policies made through the admin API, for the policies' tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Api


async def create_policy(
    admin_http: httpx.AsyncClient, admin: dict[str, str], api: Api, rules: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    body = {"name": "test policy", "rules": rules, **fields}
    created = await admin_http.post(f"/tenants/{api.tenant_id}/policies", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def advance(api: Api, seconds: int) -> None:
    """Move the tenant's sandbox test clock forward."""
    moved = await api.post("/sandbox/clock/advance", {"seconds": seconds})
    assert moved.status_code == 200, moved.text
