"""``oms demo``: a believable sandbox to look at, made the way an integrator would make it.

Every record is made through the OMS API itself, in this process (the application on an in-memory transport):
the same validation, services, ledger, idempotency and audit records as any client's requests, under a key of
its own tenant (``demo``). The worker's jobs run between the steps, a sandbox block each round, until the money
has settled. What it leaves:

- customers: Ada Lovelace and Grace Hopper (identified, approved by the sandbox reviewer), Katherine Johnson
  (with partial data: pending), and Charles Reject (rejected by review);
- a USDC wallet each for Ada, Grace and a quickstart-style customer, funded on the sandbox chain;
- transfers between them that settled, and one whose send reverted on chain (failed, its hold released);
- a cash-in paid at a store, a wire to a virtual account, tokens to a deposit address;
- a webhook to a receiver this command runs while it works (every event delivered once), disabled at the end
  because the receiver is gone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import httpx

from oms import API_PREFIX, worker
from oms.app import create_app
from oms.chain.port import dev_controls
from oms.context import AppContext

TENANT = "demo"
ROUNDS = 60  # worker rounds (each a sandbox block) a step may wait to settle, at most


class DemoFailed(RuntimeError):
    """A request of the demo was refused (the sandbox is not empty, or not a sandbox)."""


@dataclass
class Summary:
    tenant_id: str = ""
    api_key: str = ""
    api_secret: str = field(default="", repr=False)
    customers: int = 0
    wallets: int = 0
    transactions: dict[str, int] = field(default_factory=dict)
    deliveries: int = 0


IDENTITY = {
    "birthDate": "1990-12-10",
    "nationality": "US",
    "signedAgreement": True,
    "residentialAddress": {
        "line1": "1 Main St",
        "city": "Springfield",
        "state": "IL",
        "country": "US",
        "zipCode": "62701",
    },
    "identifyingInformation": [{"type": "ssn", "issuingCountry": "US", "number": "123-45-6789"}],
}


class LoopbackReceiver:
    """A webhook receiver on loopback (the demo's own subscription's): answers ``status`` to every delivery (200
    unless told; a test may change it as it goes) and counts them."""

    def __init__(self, status: int = 200, path: str = "/oms/webhooks") -> None:
        self.status = status
        self.received = 0
        self._path = path
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}{self._path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            self.received += 1
            reason = HTTPStatus(self.status).phrase.encode()
            writer.write(b"HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n" % (self.status, reason))
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class _Client:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self._http = http
        self._token = token
        self._keys = 0

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}"}
        if method == "POST":
            self._keys += 1
            headers["Idempotency-Key"] = f"demo-{self._keys:03d}"
        response = await self._http.request(method, path, json=body, headers=headers)
        if response.status_code >= 400:
            error = response.json().get("error", {})
            raise DemoFailed(f"{method} {path}: {response.status_code} {error.get('code')}: {error.get('message')}")
        return dict(response.json())


async def seed(ctx: AppContext) -> Summary:
    """Fill the sandbox (its ``demo`` tenant) and return what was made."""
    from oms.audit import service as audit
    from oms.auth import repository

    summary = Summary()
    async with ctx.db.session_scope() as session:
        if await repository.get_tenant_by_name(session, TENANT) is not None:
            raise DemoFailed(f"this sandbox has a '{TENANT}' tenant already: `oms sandbox reset` first for a new one")
        issued = await ctx.auth.create_key(session, tenant_name=TENANT, mode=ctx.settings.mode)
        entry = ctx.audit.entry(audit.cli_actor(), "cli demo", tenant_id=issued.tenant_id, object_id=issued.key_id)
        await audit.record(session, entry)
        summary.tenant_id, summary.api_key, summary.api_secret = issued.tenant_id, issued.key_id, issued.secret
    app = create_app(ctx.settings, ctx=ctx)
    receiver = LoopbackReceiver()
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=f"http://oms.demo{API_PREFIX}") as http,
    ):
        exchanged = await http.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})
        api = _Client(http, exchanged.json()["accessToken"])
        url = await receiver.start()
        try:
            await _story(ctx, api, url, summary)
        finally:
            await receiver.stop()
        summary.deliveries = receiver.received
    return summary


async def _story(ctx: AppContext, api: _Client, webhook_url: str, summary: Summary) -> None:
    webhook = await api.call("POST", "/webhooks", {"url": webhook_url, "events": []})

    async def customer(body: dict[str, Any]) -> dict[str, Any]:
        summary.customers += 1
        return await api.call("POST", "/customers", body)

    ada = await customer({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", **IDENTITY})
    grace = await customer({"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.com", **IDENTITY})
    await customer({"firstName": "Katherine", "lastName": "Johnson", "email": "katherine@example.com"})
    await customer({"firstName": "Charles", "lastName": "Reject", "email": "charles@example.com", **IDENTITY})
    quick = await customer({})

    async def approved(customer_id: str) -> bool:
        endorsements = (await api.call("GET", f"/customers/{customer_id}"))["endorsements"]
        return all(e["status"] == "active" for e in endorsements)

    await _until(ctx, lambda: _all(approved(ada["id"]), approved(grace["id"])))

    async def wallet(owner: dict[str, Any]) -> dict[str, Any]:
        summary.wallets += 1
        return await api.call("POST", f"/customers/{owner['id']}/wallets", {"asset": "usdc", "chain": "polygon"})

    ada_wallet, grace_wallet, quick_wallet = await wallet(ada), await wallet(grace), await wallet(quick)
    for target, amount in ((ada_wallet, "500.00"), (grace_wallet, "250.00"), (quick_wallet, "75.00")):
        await api.call("POST", "/sandbox/fund", {"address": target["address"], "amount": amount})

    async def balance_is(target: dict[str, Any], amount: str) -> bool:
        return bool((await api.call("GET", f"/wallets/{target['id']}/balance"))["balance"] == amount)

    await _until(ctx, lambda: _all(balance_is(ada_wallet, "500.00"), balance_is(quick_wallet, "75.00")))

    async def transfer(source: dict[str, Any], owner: dict[str, Any], to: dict[str, Any], amount: str) -> str:
        quote = await api.call(
            "POST",
            "/quotes",
            {
                "customerId": owner["id"],
                "source": {"walletId": source["id"], "asset": "usdc", "network": "polygon", "amount": amount},
                "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": to["id"]}},
            },
        )
        return str((await api.call("POST", "/transactions", {"quoteId": quote["id"]}))["id"])

    settled = [
        await transfer(ada_wallet, ada, grace_wallet, "42.50"),
        await transfer(grace_wallet, grace, ada_wallet, "18.00"),
        await transfer(quick_wallet, quick, ada_wallet, "12.25"),
    ]
    reverted = await transfer(ada_wallet, ada, quick_wallet, "9.99")
    await _revert_when_mined(ctx, reverted)

    destination = {"asset": "usdc", "network": "polygon", "wallet": {"id": ada_wallet["id"]}}
    place = await api.call("GET", "/cash-locations?provider=greendot&latitude=40.7128&longitude=-74.0060&limit=1")
    cash_in = await api.call(
        "POST",
        "/cash-ins",
        {"customerId": ada["id"], "destination": destination, "cash": {"locationId": place["data"][0]["id"]}},
    )
    code = cash_in["depositInstructions"]["code"]
    scan = {"accountNumber": code, "accountReferenceNumber": "store-7", "amount": "120.00"}
    authorised = await api.call("POST", "/cash-ins/simulate/barcode-auth", scan)
    await api.call(
        "POST", "/cash-ins/simulate/auth-commit", {**scan, "originalConfirmationId": authorised["confirmationId"]}
    )
    account = await api.call("POST", f"/customers/{ada['id']}/virtual-accounts", {"destination": destination})
    wire = {"rail": "wire_in", "amount": "1000.00", "senderName": "Analytical Engines Ltd"}
    await api.call("POST", f"/virtual-accounts/{account['id']}/simulate", wire)
    address = await api.call(
        "POST",
        f"/customers/{ada['id']}/deposit-addresses",
        {"source": {"asset": "usdc", "network": "polygon"}, "destination": destination},
    )
    await api.call("POST", f"/deposit-addresses/{address['id']}/simulate", {"amount": {"value": "64.00"}})

    async def finished() -> bool:
        listed = (await api.call("GET", "/transactions?limit=100"))["data"]
        return len(listed) >= len(settled) + 4 and all(t["status"] != "processing" for t in listed)

    await _until(ctx, finished)
    await _until(ctx, lambda: _no_pending_deliveries(api, webhook["id"]))
    await api.call("PATCH", f"/webhooks/{webhook['id']}", {"enabled": False})
    for item in (await api.call("GET", "/transactions?limit=100"))["data"]:
        summary.transactions[item["status"]] = summary.transactions.get(item["status"], 0) + 1


async def _all(*checks: Awaitable[bool]) -> bool:
    return all([await check for check in checks])


async def _no_pending_deliveries(api: _Client, webhook_id: str) -> bool:
    pending = await api.call("GET", f"/webhooks/{webhook_id}/deliveries?status=pending&limit=1")
    return not pending["data"]


async def _revert_when_mined(ctx: AppContext, transaction_id: str) -> None:
    """Sign and broadcast the transaction's send now, and have the sandbox chain revert it when mined."""
    from sqlalchemy import select

    from oms.models import ChainSend

    await ctx.sender.sign_queued()
    await ctx.sender.broadcast_signed()
    async with ctx.db.session_scope(write=False) as session:
        sends = (await session.execute(select(ChainSend).where(ChainSend.reference == transaction_id))).scalars()
        hashes = [send.tx_hash for send in sends if send.tx_hash]
    chain: Any = dev_controls(ctx.chains.get("polygon"))
    for tx_hash in hashes:
        await chain.fail_when_mined(tx_hash)


async def _until(ctx: AppContext, done: Callable[[], Awaitable[bool]]) -> None:
    """Run the worker's jobs round after round (each mines a sandbox block) until ``done``."""
    for _ in range(ROUNDS):
        if await done():
            return
        await worker.run_once(ctx)
    raise DemoFailed("the sandbox did not settle in time: " + json.dumps(getattr(done, "__name__", "a step")))
