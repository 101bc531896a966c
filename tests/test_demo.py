"""`oms demo` on an empty sandbox: what it leaves is there through the API, sound, and made once."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from tests.test_cli import Run, install, oms  # noqa: F401 - the fixtures: a brand-new install, and `oms` in it


async def test_the_demo_seeds_customers_money_and_webhook_deliveries_through_the_api(
    oms: Run,  # noqa: F811
    install: dict[str, str],  # noqa: F811
) -> None:
    assert oms("migrate").returncode == 0
    seeded = oms("demo")
    assert seeded.returncode == 0, seeded.stderr
    key = re.search(r"apiKey:\s+(\S+)", seeded.stdout)[1]  # type: ignore[index]
    secret = re.search(r"apiSecret:\s+(\S+)", seeded.stdout)[1]  # type: ignore[index]
    assert "transactions: 6 completed, 1 failed" in seeded.stdout

    settings = Settings(  # the install's: its data directory (and so its generated secrets) and database
        data_dir=Path(install["OMS_DATA_DIR"]),
        database_url=install.get("OMS_DATABASE_URL", ""),
        database_schema=install.get("OMS_DATABASE_SCHEMA", ""),
        embedded_worker=False,
        hot_reads=False,
    )
    ctx = AppContext.build(settings)
    app = create_app(ctx.settings, ctx=ctx)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oms.test/v0.9") as http,
    ):
        token = (await http.post("/auth/token", json={"apiKey": key, "apiSecret": secret})).json()["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        customers = (await http.get("/customers?limit=100", headers=headers)).json()["data"]
        statuses = sorted({e["status"] for c in customers for e in c["endorsements"]})
        assert len(customers) == 5 and statuses == ["active", "pending", "rejected"]
        transactions = (await http.get("/transactions?limit=100", headers=headers)).json()["data"]
        assert sorted(t["type"] for t in transactions) == ["cryptoToCrypto"] * 5 + ["fiatToCrypto"] * 2
        [failed] = [t for t in transactions if t["status"] == "failed"]
        assert failed["subStatus"] == "chainTransactionFailed"
        [webhook] = (await http.get("/webhooks", headers=headers)).json()["data"]
        deliveries = (await http.get(f"/webhooks/{webhook['id']}/deliveries?limit=100", headers=headers)).json()
        assert deliveries["data"] and {d["status"] for d in deliveries["data"]} == {"delivered"}
        assert webhook["enabled"] is False
    reconciled = oms("reconcile")
    assert reconciled.returncode == 0 and " 0 differences" in reconciled.stdout, reconciled.stdout
    again = oms("demo")
    assert again.returncode == 1 and "'demo' tenant already" in again.stderr


def test_the_demo_is_refused_in_live_mode(oms: Run) -> None:  # noqa: F811
    live = {"OMS_MODE": "live", "OMS_SECRET_KEY": "ab" * 32, "OMS_CUSTODY_KEK": "cd" * 32}
    assert oms("migrate", env=live).returncode == 0
    refused = oms("demo", env=live)
    assert refused.returncode == 2 and "needs a sandbox" in refused.stderr
