"""Factories and helpers shared by the tests: plain functions, no magic."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import secrets
import socket
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from oms.auth.scopes import FULL
from oms.auth.service import IssuedKey
from oms.config import Mode, Settings
from oms.context import AppContext
from oms.db import normalise_url
from oms.kit.logging import configure_logging
from oms.kit.time import truncate
from oms.migrations.runner import upgrade
from oms.worker import settle_transactions

POSTGRES_URL = os.environ.get("OMS_TEST_DATABASE_URL", "")


def _postgres(statement: str) -> None:
    async def run() -> None:
        engine = create_async_engine(normalise_url(POSTGRES_URL))
        async with engine.begin() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run())


@contextmanager
def fresh_database(directory: Path, *, migrate: bool = True) -> Iterator[dict[str, str]]:
    """A new database: a schema of OMS_TEST_DATABASE_URL (PostgreSQL) or an SQLite file in ``directory``,
    migrated unless told not to. Yields its ``url`` and ``schema``; call it outside the event loop."""
    if not POSTGRES_URL:
        url = f"sqlite+aiosqlite:///{directory / 'oms.db'}"
        if migrate:
            upgrade(url)
        yield {"url": url, "schema": ""}
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    _postgres(f'CREATE SCHEMA "{schema}"')
    try:
        if migrate:
            upgrade(POSTGRES_URL, schema=schema)
        yield {"url": POSTGRES_URL, "schema": schema}
    finally:
        _postgres(f'DROP SCHEMA "{schema}" CASCADE')


def sandbox_settings(data_dir: Path, database: dict[str, str]) -> Settings:
    """The settings every test server runs with: a sandbox on ``database`` (from ``fresh_database``), fresh
    keys, no embedded worker, instant KYC, and non-zero fees, so that every money test exercises the fee
    arithmetic and the on-chain fee sweep."""
    return Settings(
        mode=Mode.sandbox,
        data_dir=data_dir,
        database_url=database["url"],
        database_schema=database["schema"],
        secret_key=secrets.token_hex(32),
        custody_kek=secrets.token_hex(32),
        signer="in-process",  # the suite signs in its own process; tests/signer run `oms signer` itself
        embedded_worker=False,
        sandbox_kyc_delay_seconds=0,
        fee_crypto_to_crypto_rate=Decimal("0.001"),
        fee_crypto_to_crypto_fixed=Decimal("0.01"),
    )


def free_port() -> int:
    """A loopback port nothing listens on (for a server process a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def own_postgres_database() -> Iterator[str]:
    """A new, migrated PostgreSQL database of its own on OMS_TEST_DATABASE_URL's server (its URL): for tests that
    read database-wide statistics (``pg_stat_database``), which other runs sharing a database would disturb.
    Call it outside the event loop."""
    name = f"oms_test_{uuid.uuid4().hex[:12]}"
    server = make_url(POSTGRES_URL)
    _on_server(f'CREATE DATABASE "{name}"')
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        _on_server(f'DROP DATABASE "{name}" WITH (FORCE)')


def _on_server(statement: str) -> None:
    """A statement that cannot run inside a transaction (CREATE/DROP DATABASE), on the test server."""

    async def run() -> None:
        engine = create_async_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run())


async def wait_until_serving(url: str, *, attempts: int = 200) -> None:
    """Poll ``url`` until a server answers it 200 (a freshly started ``oms serve``)."""
    async with httpx.AsyncClient() as http:
        for _ in range(attempts):
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"no server answered {url}")


def process_env(settings: Settings, clock: OffsetClock | None = None) -> dict[str, str]:
    """The environment under which an ``oms`` child process sees exactly these settings (and clock)."""
    env = {**os.environ, "OMS_LOG_LEVEL": "WARNING"}
    for name, value in settings.model_dump().items():
        if value is not None and name not in {"log_level"}:
            env[f"OMS_{name.upper()}"] = str(value.value if hasattr(value, "value") else value)
    env["OMS_EMBEDDED_WORKER"] = "false"
    if clock is not None:
        env["OMS_SANDBOX_CLOCK_OFFSET_SECONDS"] = str(clock.offset.total_seconds() + 1)
    return env


class OffsetClock:
    """Real time plus an offset that tests can move forward; ``held()`` stops it for a test that needs time to
    move only when it says so."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self._held_at: datetime | None = None

    def now(self) -> datetime:
        if self._held_at is not None:
            return self._held_at
        return truncate(datetime.now(UTC) + self.offset)

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)
        if self._held_at is not None:
            self._held_at = truncate(self._held_at + timedelta(**delta))

    @contextmanager
    def held(self) -> Iterator[OffsetClock]:
        """Within it, the time stands still but for ``advance``; after it, real time plus the offset again
        (never earlier than the held time: the real time went on meanwhile)."""
        self._held_at = self.now()
        try:
            yield self
        finally:
            self._held_at = None


async def create_key(
    ctx: AppContext,
    *,
    tenant: str | None = None,
    mode: Mode = Mode.sandbox,
    scopes: Iterable[str] = FULL,
    expires_at: datetime | None = None,
) -> IssuedKey:
    async with ctx.db.session_scope() as session:
        return await ctx.auth.create_key(
            session,
            tenant_name=tenant or f"tenant-{uuid.uuid4().hex}",
            mode=mode,
            scopes=scopes,
            expires_at=expires_at,
        )


async def exchange(client: httpx.AsyncClient, issued: IssuedKey) -> str:
    response = await client.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})
    assert response.status_code == 200, response.text
    return str(response.json()["accessToken"])


class Api:
    """An authenticated client of one tenant; POSTs get a fresh Idempotency-Key unless one is given."""

    def __init__(self, client: httpx.AsyncClient, token: str, issued: IssuedKey) -> None:
        self.client = client
        self.token = token
        self.issued = issued

    @property
    def tenant_id(self) -> str:
        return self.issued.tenant_id

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params or None, headers=self.headers())

    async def post(self, path: str, json: Any = None, *, key: str | None = None) -> httpx.Response:
        headers = self.headers({"Idempotency-Key": key or str(uuid.uuid4())})
        return await self.client.post(path, json={} if json is None else json, headers=headers)

    async def patch(self, path: str, json: Any) -> httpx.Response:
        return await self.client.patch(path, json=json, headers=self.headers())


async def new_api(client: httpx.AsyncClient, ctx: AppContext, **key: Any) -> Api:
    """A signed-in client of a new key (``create_key``'s keywords: tenant, mode, scopes, expires_at)."""
    issued = await create_key(ctx, **key)
    return Api(client, await exchange(client, issued), issued)


FULL_IDENTITY: dict[str, Any] = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ada@example.com",
    "phone": "+12125551234",
    "birthDate": "1990-12-10",
    "nationality": "US",
    "ipAddress": "203.0.113.7",
    "signedAgreement": True,
    "residentialAddress": {
        "line1": "1 Main St",
        "city": "New York",
        "state": "NY",
        "country": "US",
        "zipCode": "10001",
    },
    "identifyingInformation": [{"type": "ssn", "issuingCountry": "US", "number": "123-45-6789"}],
}


async def create_customer(api: Api, **fields: Any) -> dict[str, Any]:
    response = await api.post("/customers", fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_wallet(api: Api, customer_id: str, asset: str = "usdc", chain: str = "polygon") -> dict[str, Any]:
    response = await api.post(f"/customers/{customer_id}/wallets", {"asset": asset, "chain": chain})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def settle(ctx: AppContext, clock: OffsetClock, *, rounds: int = 8) -> None:
    """Run the money pipeline as the worker does (send, mine a block, detect deposits, settle), round after
    round with the clock moving a second each time, long enough for everything in flight to become final."""
    for _ in range(rounds):
        await ctx.sender.run_once()
        for chain in ctx.chains.all():
            await chain.mine(1)  # type: ignore[attr-defined]
        await ctx.deposits.run_once()
        await ctx.funding.deposit_addresses.run_once()
        await settle_transactions(ctx)
        clock.advance(seconds=1)


async def settle_until_completed(ctx: AppContext, clock: OffsetClock, api: Api, transaction_id: str) -> None:
    """Settle round after round until the transaction completes (at most 20): a fee sweep queued late needs its
    own confirmations, and how many rounds that takes depends on where a worker left off."""
    for _ in range(20):
        if (await api.get(f"/transactions/{transaction_id}")).json()["status"] == "completed":
            return
        await settle(ctx, clock, rounds=1)


async def fund(api: Api, wallet: dict[str, Any], amount: str) -> None:
    """Send test tokens to the wallet's address on the sandbox chain (credited once final)."""
    response = await api.post(
        "/sandbox/fund",
        {"address": wallet["address"], "amount": amount, "asset": wallet["asset"], "network": wallet["chain"]},
    )
    assert response.status_code == 200, response.text


async def balance(api: Api, wallet: dict[str, Any]) -> tuple[str, str, str]:
    """(balance, available, pending) of a wallet."""
    body = (await api.get(f"/wallets/{wallet['id']}/balance")).json()
    return body["balance"], body["available"], body["pending"]


async def quote(
    api: Api,
    customer: dict[str, Any],
    source: dict[str, Any],
    *,
    to: dict[str, Any] | str,
    amount: str,
    side: str = "source",
) -> httpx.Response:
    target = {"id": to["id"]} if isinstance(to, dict) else {"blockchainAddress": to}
    body = {
        "customerId": customer["id"],
        "source": {"walletId": source["id"], "asset": source["asset"], "network": source["chain"]},
        "destination": {"asset": source["asset"], "network": source["chain"], "wallet": target},
    }
    body["source" if side == "source" else "destination"]["amount"] = amount
    return await api.post("/quotes", body)


EXTERNAL = "0x00000000000000000000000000000000000000aa"  # an address outside the OMS


async def funded_wallet(
    api: Api, ctx: AppContext, clock: OffsetClock, amount: str = "100.00"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new customer and wallet holding ``amount``, final and available."""
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    await fund(api, wallet, amount)
    await settle(ctx, clock)
    return customer, wallet


async def execute(api: Api, quote_id: str, **extra: Any) -> httpx.Response:
    return await api.post("/transactions", {"quoteId": quote_id, **extra})


async def ledger_is_sound(ctx: AppContext, api: Api) -> None:
    """The invariant check every money test ends with: balanced entries, true balances, none negative,
    and the ledger equal to the chain."""
    from oms.ledger import service as ledger

    async with ctx.db.session_scope(write=False) as session:
        assert await ledger.check_invariants(session) == []
    _, differences = await ctx.reconciler.run(tenant_id=api.tenant_id)
    assert [d.describe() for d in differences] == []


async def stored_mnemonic(ctx: AppContext) -> str:
    """The custody seed phrase, opened here with the configured wrapper (the server has no way to return it)."""
    from sqlalchemy import select

    from oms.custody.service import open_seed
    from oms.models import CustodySeed

    async with ctx.db.session_scope(write=False) as session:
        seed = (await session.execute(select(CustodySeed))).scalar_one()
    return open_seed(ctx.custody.wrapper, seed)


def assert_error(response: httpx.Response, status: int, code: str, param: str | None = None) -> dict[str, Any]:
    """The response is the API's error envelope with this status, code (and param)."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["requestId"] == response.headers["request-id"]
    if param is not None:
        assert error["param"] == param, error
    return dict(error)


def fields(body: Any) -> Any:
    """A JSON body with attribute access (``txn.destination.txHash``), for tests that read many of its fields; its
    shape is not checked here: tests/contract.py checks every 2xx body against its schema where it is received.
    ``metadata`` stays a dict (the customer's own keys)."""
    if isinstance(body, dict):
        return SimpleNamespace(**{key: value if key == "metadata" else fields(value) for key, value in body.items()})
    if isinstance(body, list):
        return [fields(item) for item in body]
    return body


@contextmanager
def captured_logs(*, json_lines: bool = True) -> Iterator[io.StringIO]:
    """Everything logged meanwhile, as the server writes it (JSON lines or text, redacted), SQLAlchemy's
    statements too."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("DEBUG", json_lines=json_lines, stream=stream)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
        root.handlers[:], level = saved
        root.setLevel(level)


def stop(process: subprocess.Popen[bytes]) -> None:
    """A child process stopped: terminated, killed if it has not ended within 30 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
