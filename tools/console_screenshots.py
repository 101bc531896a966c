"""Screenshots of every console page with the ``oms demo`` data, into docs/console/ (PNG).

    .venv/bin/python tools/console_screenshots.py [--out docs/console]

A throwaway sandbox (SQLite in a temporary directory) is seeded as the console's tests seed theirs: ``oms demo``,
then a transfer held by a policy and a webhook delivery that failed (tests/console/scenario.py). ``oms serve``
then serves it on loopback and Debian's Chromium (``apt-get install chromium``), driven by Playwright, logs in
and photographs each page. Nothing is left behind but the pictures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.async_api import async_playwright  # noqa: E402

from oms.config import Settings  # noqa: E402
from oms.migrations.runner import upgrade  # noqa: E402
from tests.admin.support import make_operator  # noqa: E402
from tests.console.conftest import seeded  # noqa: E402
from tests.support import free_port, process_env, sandbox_settings, wait_until_serving  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        url = f"sqlite+aiosqlite:///{data / 'oms.db'}"
        upgrade(url)  # outside the event loop (Alembic runs its own)
        asyncio.run(photograph(out, sandbox_settings(data, {"url": url, "schema": ""})))


async def photograph(out: Path, settings: Settings) -> None:
    async with seeded(settings) as (made, _receiver):
        x, t = made.extras, f"tenant={made.extras.tenant_id}"
        person = await make_operator(made.ctx, "admin")
        port = free_port()
        env = {**process_env(settings), "OMS_PORT": str(port), "OMS_EMBEDDED_WORKER": "false"}
        server = await asyncio.create_subprocess_exec(sys.executable, "-m", "oms", "serve", env=env)
        try:
            await wait_until_serving(f"http://127.0.0.1:{port}/healthz")
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = await browser.new_page(
                    base_url=f"http://localhost:{port}", viewport={"width": 1400, "height": 900}
                )
                await page.goto("/console/login")
                await page.screenshot(path=str(out / "01-login.png"))
                await page.get_by_label("Email").fill(person.email)
                await page.get_by_label("Password").fill(person.password)
                await page.get_by_role("button", name="Log in").click()
                await page.wait_for_url("**/console")
                shots = {
                    "02-home": f"/console?{t}",
                    "03-tenants-and-keys": f"/console/tenants?{t}",
                    "04-customers": f"/console/customers?{t}",
                    "05-customer": f"/console/customers/{x.ada_id}?{t}",
                    "06-wallets": f"/console/wallets?{t}",
                    "07-transactions": f"/console/transactions?{t}",
                    "08-transaction-timeline": f"/console/transactions/{x.settled_id}?{t}",
                    "09-transaction-failed": f"/console/transactions/{x.failed_id}?{t}",
                    "10-approvals": "/console/approvals",
                    "11-webhooks": f"/console/webhooks?{t}",
                    "12-webhook-deliveries": f"/console/webhooks/{x.webhook_id}?{t}",
                    "13-events": f"/console/events?{t}",
                    "14-audit-log": "/console/audit",
                    "15-reconciliation": "/console/reconciliation?run=now",
                }
                for name, path in shots.items():
                    await page.goto(path)
                    await page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                    print(f"{name}.png  {path}")
                await browser.close()
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), 30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console", help="where the PNGs go")
    main(parser.parse_args().out)
