"""Records the OpenAPI document's examples (``oms/openapi_examples.json``) from a real sandbox server.

Every operation is called once, with the request its example shows, on a fresh SQLite database; its real
answer becomes the response example. Credentials and secrets are replaced by placeholders. Run it by hand
when a schema changes, then review the diff:

    .venv/bin/python -m tests.openapi_examples
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx

from oms import API_PREFIX
from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from tests.funding.support import NYC, review
from tests.support import FULL_IDENTITY, OffsetClock, create_key, fresh_database, sandbox_settings, settle

OUT = Path(__file__).resolve().parents[1] / "oms" / "openapi_examples.json"
PLACEHOLDERS = {
    "apiKey": "sk_sdbx_01m87v8qfee6qskjsdnb6e6q68",
    "apiSecret": "sks_dwJfME1HiHA6jStmNzO3cq4IU4cPNSgrdg_WYhOwR48",
    "accessToken": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzay4uLiJ9.c2lnbmF0dXJl",
    "secret": "whsec_" + "5f" * 32,
    "url": "https://example.com/oms/webhooks",  # recorded with a loopback receiver: no name resolves offline
}


class Recorder:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.examples: dict[str, dict[str, Any]] = {}

    async def __call__(
        self, method: str, template: str, body: Any = None, *, query: dict[str, Any] | None = None, **ids: str
    ) -> Any:
        headers = {"Idempotency-Key": str(uuid.uuid4())} if method == "POST" and template != "/auth/token" else {}
        response = await self.http.request(method, template.format(**ids), json=body, params=query, headers=headers)
        assert response.status_code < 300, (method, template, response.text)
        example: dict[str, Any] = {"responses": {str(response.status_code): _placeholders(response.json())}}
        if body is not None:
            example["request"] = _placeholders(body)
        if ids or query:
            example["parameters"] = {**ids, **(query or {})}
        self.examples[f"{method.lower()} {API_PREFIX}{template}"] = example
        return response.json()


def _placeholders(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: PLACEHOLDERS.get(k, _placeholders(v)) if k in PLACEHOLDERS else _placeholders(v)
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [_placeholders(item) for item in value]
    return value


async def record(settings: Settings) -> dict[str, dict[str, Any]]:
    clock = OffsetClock()
    ctx = AppContext.build(settings, clock=clock)
    app = create_app(settings, ctx=ctx)
    async with app.router.lifespan_context(app):
        issued = await create_key(ctx, tenant="acme")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://oms.test{API_PREFIX}") as http:
            call = Recorder(http)
            token = await call("POST", "/auth/token", {"apiKey": issued.key_id, "apiSecret": issued.secret})
            http.headers["Authorization"] = f"Bearer {token['accessToken']}"
            await _scenario(call, ctx, clock)
            return call.examples


async def _scenario(call: Recorder, ctx: AppContext, clock: OffsetClock) -> None:
    usdc = {"asset": "usdc", "network": "polygon"}
    customer = await call("POST", "/customers", {**FULL_IDENTITY, "externalId": "user-4711"})
    await review(ctx)
    cid = customer["id"]
    await call("GET", "/customers", query={"limit": 10})
    await call("GET", "/customers/{customer_id}", customer_id=cid)
    await call("PATCH", "/customers/{customer_id}", {"metadata": {"tier": "gold"}}, customer_id=cid)
    wallet = await call("POST", "/customers/{customer_id}/wallets", {"asset": "usdc", "chain": "polygon"},
                        customer_id=cid)  # fmt: skip
    wid = wallet["id"]
    await call("GET", "/customers/{customer_id}/wallets", customer_id=cid)
    await call("POST", "/sandbox/fund", {"address": wallet["address"], "amount": "100.00", **usdc})
    await settle(ctx, clock)
    await call("GET", "/wallets/{wallet_id}/balance", wallet_id=wid)
    payee = await call("POST", "/customers", {})
    payee_wallet = await call("POST", "/customers/{customer_id}/wallets", {"asset": "usdc", "chain": "polygon"},
                              customer_id=payee["id"])  # fmt: skip
    quote = await call("POST", "/quotes", {
        "customerId": cid,
        "source": {"walletId": wid, **usdc, "amount": "30.00"},
        "destination": {**usdc, "wallet": {"id": payee_wallet["id"]}},
    })  # fmt: skip
    await call("GET", "/quotes/{quote_id}", quote_id=quote["id"])
    transaction = await call("POST", "/transactions", {"quoteId": quote["id"], "metadata": {"orderId": "A-1001"}})
    await settle(ctx, clock)
    await call("GET", "/transactions", query={"limit": 10})
    await call("GET", "/transactions/{transaction_id}", transaction_id=transaction["id"])
    await call("GET", "/customers/{customer_id}/transactions", customer_id=cid)
    await _webhooks(call)
    events = await call("GET", "/events", query={"limit": 3})
    await call("GET", "/events/{event_id}", event_id=events["data"][0]["id"])
    await _funding(call, cid, wid, usdc)
    await call("GET", "/sandbox/clock")
    await call("POST", "/sandbox/clock/advance", {"seconds": 3600})


async def _webhooks(call: Recorder) -> None:
    webhook = await call("POST", "/webhooks", {"url": "http://127.0.0.1:9/oms/webhooks",
                                               "events": ["transaction.*", "wallet.*"]})  # fmt: skip
    whk = webhook["id"]
    await call("GET", "/webhooks")
    await call("GET", "/webhooks/{webhook_id}", webhook_id=whk)
    await call("PATCH", "/webhooks/{webhook_id}", {"events": ["transaction.*"]}, webhook_id=whk)
    await call("POST", "/webhooks/{webhook_id}/rotate-secret", {"previousSecretExpiresIn": 86400}, webhook_id=whk)
    delivery = await call("POST", "/webhooks/{webhook_id}/test", webhook_id=whk)
    await call("GET", "/webhooks/{webhook_id}/deliveries", webhook_id=whk)
    await call("GET", "/webhooks/{webhook_id}/deliveries/{delivery_id}", webhook_id=whk, delivery_id=delivery["id"])
    await call("DELETE", "/webhooks/{webhook_id}", webhook_id=whk)


async def _funding(call: Recorder, cid: str, wid: str, usdc: dict[str, str]) -> None:
    into_wallet = {**usdc, "wallet": {"id": wid}}
    places = await call("GET", "/cash-locations", query={"provider": "greendot", "radius": 10, "limit": 2, **NYC})
    place = places["data"][0]
    cash_in = await call("POST", "/cash-ins", {
        "customerId": cid, "source": {"asset": "usd", "network": "cash", "indicatedAmount": "100.00"},
        "destination": into_wallet,
        "cash": {"locationId": place["id"], "locationReference": place["locationReference"]},
    })  # fmt: skip
    await call("GET", "/cash-ins", query={"limit": 10})
    await call("GET", "/cash-ins/{cash_in_id}", cash_in_id=cash_in["id"])
    refreshed = await call("POST", "/cash-ins/{cash_in_id}/refresh", cash_in_id=cash_in["id"])
    code = refreshed["depositInstructions"]["code"]
    scan = {"accountNumber": code, "accountReferenceNumber": "store-1/lane-2", "amount": "100.00"}
    authorised = await call("POST", "/cash-ins/simulate/barcode-auth", scan)
    commit = {**scan, "originalConfirmationId": authorised["confirmationId"]}
    await call("POST", "/cash-ins/simulate/auth-commit", commit)
    account = await call("POST", "/customers/{customer_id}/virtual-accounts", {
        "source": {"asset": "usd", "network": "usBank"}, "destination": into_wallet, "label": "Payroll",
    }, customer_id=cid)  # fmt: skip
    vid = account["id"]
    await call("GET", "/customers/{customer_id}/virtual-accounts", customer_id=cid)
    await call("GET", "/virtual-accounts/{virtual_account_id}", virtual_account_id=vid)
    await call("PATCH", "/virtual-accounts/{virtual_account_id}", {"label": "Payroll (ACH)"}, virtual_account_id=vid)
    await call("POST", "/virtual-accounts/{virtual_account_id}/simulate", {"rail": "ach_in", "amount": "250.00"},
               virtual_account_id=vid)  # fmt: skip
    await call("DELETE", "/virtual-accounts/{virtual_account_id}", virtual_account_id=vid)
    address = await call("POST", "/customers/{customer_id}/deposit-addresses",
                         {"source": usdc, "destination": into_wallet, "label": "Exchange withdrawals"},
                         customer_id=cid)  # fmt: skip
    did = address["id"]
    await call("GET", "/customers/{customer_id}/deposit-addresses", customer_id=cid)
    await call("GET", "/deposit-addresses/{deposit_address_id}", deposit_address_id=did)
    await call("PATCH", "/deposit-addresses/{deposit_address_id}", {"status": "paused"}, deposit_address_id=did)
    await call("PATCH", "/deposit-addresses/{deposit_address_id}", {"status": "active"}, deposit_address_id=did)
    await call("POST", "/deposit-addresses/{deposit_address_id}/simulate", {"amount": {"value": "25.00"}},
               deposit_address_id=did)  # fmt: skip
    await call("DELETE", "/deposit-addresses/{deposit_address_id}", deposit_address_id=did)


def main() -> None:
    with tempfile.TemporaryDirectory() as directory, fresh_database(Path(directory)) as database:
        settings = sandbox_settings(Path(directory), database)
        examples = asyncio.run(record(settings))
    text = json.dumps(dict(sorted(examples.items())), indent=2, ensure_ascii=False) + "\n"
    OUT.write_text(re.sub(r"[ \t]+\n", "\n", text))
    print(f"{len(examples)} operations recorded in {OUT}")


if __name__ == "__main__":
    main()
