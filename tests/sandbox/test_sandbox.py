"""The sandbox-only surface (oms/sandbox): `oms sandbox fund` sends test tokens; the endpoints do not exist in
live mode."""

from __future__ import annotations

import secrets
import subprocess
import sys

import httpx

from oms.app import create_app
from oms.config import Mode
from tests.support import Api, OffsetClock, assert_error, create_customer, create_wallet, process_env, settle


async def test_sandbox_fund_command_sends_test_tokens(api: Api, ctx, clock: OffsetClock, settings) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    done = subprocess.run(
        [sys.executable, "-m", "oms", "sandbox", "fund", wallet["address"], "12.5"],
        env=process_env(settings, clock),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    await settle(ctx, clock)
    assert (await api.get(f"/wallets/{wallet['id']}/balance")).json()["balance"] == "12.50"


async def test_sandbox_endpoints_do_not_exist_in_live_mode(settings) -> None:
    live = settings.model_copy(
        update={"mode": Mode.live, "secret_key": secrets.token_hex(32), "custody_kek": secrets.token_hex(32)}
    )
    app = create_app(live)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as client:
        response = await client.post("/sandbox/fund", json={"address": "0x" + "11" * 20, "amount": "1.00"})
    assert_error(response, 404, "unrecognized_request_url")
