"""What the console's tests (and tools/console_screenshots.py) add to the ``oms demo`` sandbox, through the APIs as
people would: a policy that holds transfers above 100.00 for an approval and a transfer it held, and a webhook
whose receiver said 410 Gone (its delivery failed, the subscription was disabled), since fixed and re-enabled, so
that its failed delivery can be retried. ``wait`` lets the worker run (in-process rounds, or a real server's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from oms.demo import LoopbackReceiver


@dataclass
class Extras:
    tenant_id: str
    ada_id: str
    settled_id: str  # a transfer of the demo that settled
    failed_id: str  # the demo's transfer whose send reverted on chain
    held_id: str  # the transfer the policy held
    review_id: str
    webhook_id: str
    delivery_id: str  # the failed delivery


class _Calls:
    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http, self.headers, self.keys = http, headers, 0

    async def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = dict(self.headers)
        if method == "POST":
            self.keys += 1
            headers["Idempotency-Key"] = f"console-extras-{self.keys}"
        response = await self.http.request(method, path, json=body, headers=headers)
        assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


async def add_extras(
    api_http: httpx.AsyncClient,
    admin_http: httpx.AsyncClient,
    *,
    api_key: str,
    api_secret: str,
    operator_token: str,
    receiver: LoopbackReceiver,
    wait: Callable[[Callable[[], Awaitable[bool]]], Awaitable[None]],
) -> Extras:
    """``api_http`` is based at ``/v0.9``, ``admin_http`` at ``/admin/v1``; ``wait(done)`` runs the worker until
    ``done()``."""
    token = (await api_http.post("/auth/token", json={"apiKey": api_key, "apiSecret": api_secret})).json()
    api = _Calls(api_http, {"Authorization": f"Bearer {token['accessToken']}"})
    admin = _Calls(admin_http, {"Authorization": f"Bearer {operator_token}"})
    customers = (await api("GET", "/customers?limit=100"))["data"]
    ada = next(c for c in customers if c["email"] == "ada@example.com")
    grace = next(c for c in customers if c["email"] == "grace@example.com")
    tenant_id = (await admin("GET", "/tenants?limit=100"))["data"]
    tenant = next(t for t in tenant_id if t["name"] == "demo")["id"]
    transactions = (await api("GET", "/transactions?limit=100"))["data"]
    settled = next(t for t in transactions if t["status"] == "completed" and t["quoteId"] and t["source"]["walletId"])
    failed = next(t for t in transactions if t["status"] == "failed")

    url = await receiver.start()
    webhook = await api("POST", "/webhooks", {"url": url, "events": ["transaction.cryptoToCrypto.processing"]})
    await admin(
        "POST",
        f"/tenants/{tenant}/policies",
        {
            "name": "Transfers above 100.00 need an approval",
            "action": "requireApproval",
            "rules": {"maxAmountPerTransaction": "100.00"},
        },
    )
    quote = await api(
        "POST",
        "/quotes",
        {
            "customerId": ada["id"],
            "source": {"walletId": ada["wallets"][0]["id"], "asset": "usdc", "network": "polygon", "amount": "150.00"},
            "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": grace["wallets"][0]["id"]}},
        },
    )
    held = await api("POST", "/transactions", {"quoteId": quote["id"]})
    assert held["subStatus"] == "awaitingApproval", held

    async def delivery_failed() -> bool:
        listed = await api("GET", f"/webhooks/{webhook['id']}/deliveries?status=failed")
        return bool(listed["data"])

    await wait(delivery_failed)
    delivery = (await api("GET", f"/webhooks/{webhook['id']}/deliveries?status=failed"))["data"][0]
    receiver.status = 200  # the integrator fixed the endpoint, and enables the subscription again
    await api("PATCH", f"/webhooks/{webhook['id']}", {"enabled": True})
    review = (await admin("GET", f"/reviews?tenantId={tenant}&status=pending"))["data"][0]
    return Extras(
        tenant, ada["id"], settled["id"], failed["id"], held["id"], review["id"], webhook["id"], delivery["id"]
    )
