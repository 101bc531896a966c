"""The console in a real browser: Debian's Chromium driven by Playwright against ``oms serve`` on loopback, on the
``oms demo`` sandbox. An operator logs in with TOTP, finds a customer, follows a transaction's timeline to its
settlement, retries a failed delivery, approves a held transfer and finds the audit records of each. A failure
leaves a screenshot in ``.oms/test-screenshots/`` (or ``$OMS_TEST_SCREENSHOTS``).

Skipped when Chromium (or Playwright) is missing, unless ``OMS_TEST_REQUIRE_BROWSER=1`` (``.ci/run`` installs
Chromium and sets it): then a missing browser is a failure."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from tests.console.conftest import seeded
from tests.console.support import enrolled_operator
from tests.support import free_port, fresh_database, process_env, sandbox_settings, wait_until_serving

CHROMIUM = os.environ.get("OMS_TEST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("OMS_TEST_SCREENSHOTS", Path(__file__).parents[2] / ".oms" / "test-screenshots"))
TIMEOUT_MS = 15_000


def require_browser() -> None:
    missing = [what for what, ok in (
        (f"Chromium at {CHROMIUM} (apt-get install chromium)", Path(CHROMIUM).exists()),
        ("the playwright package", importlib.util.find_spec("playwright") is not None),
    ) if not ok]  # fmt: skip
    if not missing:
        return
    if os.environ.get("OMS_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser tests need {' and '.join(missing)} (OMS_TEST_REQUIRE_BROWSER=1)")
    pytest.skip(f"no {' and no '.join(missing)}")


@pytest.fixture(scope="module")
def browser_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with fresh_database(tmp_path_factory.mktemp("browser-db")) as found:
        yield found


async def test_an_operator_works_through_the_console_in_chromium(
    browser_database: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    require_browser()
    from playwright.async_api import async_playwright, expect

    settings = sandbox_settings(Path(tmp_path_factory.mktemp("browser-data")), browser_database)
    async with seeded(settings) as (made, _receiver):
        x = made.extras
        person = await enrolled_operator(made.ctx, "admin")
        assert person.totp_secret is not None
        port = free_port()
        env = {**process_env(settings), "OMS_PORT": str(port), "OMS_EMBEDDED_WORKER": "true", "OMS_LOG_JSON": "false"}
        server = subprocess.Popen([sys.executable, "-m", "oms", "serve"], env=env)
        try:
            await wait_until_serving(f"http://127.0.0.1:{port}/healthz")
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = await browser.new_page(base_url=f"http://localhost:{port}")
                page.set_default_timeout(TIMEOUT_MS)
                try:
                    # log in with the second factor (the enrolment spent the current code: the next one)
                    await page.goto("/console")
                    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
                    await page.get_by_label("Email").fill(person.email)
                    await page.get_by_label("Password").fill(person.password)
                    await page.get_by_label("Authenticator code").fill(
                        pyotp.TOTP(person.totp_secret).at(time.time() + 30)
                    )
                    await page.get_by_role("button", name="Log in").click()
                    await expect(page.get_by_role("heading", name="Home")).to_be_visible()

                    # find a customer by email
                    await page.get_by_role("link", name="Customers").click()
                    await page.get_by_label("Find by id, email or external id").fill("ada@example.com")
                    await page.get_by_role("button", name="Search").click()
                    await page.get_by_role("link", name=x.ada_id).click()
                    await expect(page.get_by_role("heading", name=f"Customer {x.ada_id}")).to_be_visible()

                    # a transaction's timeline to its settlement, with its hashes
                    await page.get_by_role("link", name="Transactions", exact=True).click()
                    await page.get_by_label("Status").select_option("completed")
                    await page.get_by_role("button", name="Filter").click()
                    await page.get_by_role("link", name=x.settled_id).click()
                    timeline = page.get_by_role("list", name="Timeline")
                    for step in ("Quote locked", "Funds held", "Broadcast", "confirmations", "Settled: completed"):
                        await expect(timeline).to_contain_text(step)
                    await expect(timeline.locator("code.hash").first).to_have_text(re.compile(r"^0x[0-9a-f]{64}$"))

                    # retry the failed delivery: queued again, then delivered by the server's worker
                    await page.get_by_role("link", name="Webhooks").click()
                    await page.get_by_role("link", name=x.webhook_id).click()
                    await page.get_by_role("button", name=f"Retry delivery {x.delivery_id}").click()
                    await expect(page.get_by_role("status")).to_contain_text("Delivery queued again")
                    delivery = page.get_by_role("region", name=re.compile(x.delivery_id))
                    for _ in range(40):
                        if "delivered" in (await delivery.locator("h3").inner_text()):
                            break
                        await page.wait_for_timeout(250)
                        await page.reload()
                    await expect(delivery.locator("h3")).to_contain_text("delivered")

                    # approve the held transfer
                    await page.get_by_role("link", name="Approvals").click()
                    await page.get_by_label("Reason").first.fill("known customer, expected payment")
                    await page.get_by_role("button", name="Approve").first.click()
                    await expect(page.get_by_role("status")).to_have_text("Approved.")

                    # the audit records of each, with the operator as their actor
                    await page.goto(f"/console/audit?actor={person.id}")
                    records = page.locator("table.audit")
                    for action in (
                        "POST /console/login",
                        "POST /console/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
                        "POST /console/reviews/{review_id}/approve",
                    ):
                        await expect(records).to_contain_text(action)
                except BaseException:
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    shot = SCREENSHOTS / "console-browser-failure.png"
                    await page.screenshot(path=str(shot), full_page=True)
                    print(f"screenshot of the failure: {shot}")
                    raise
                finally:
                    await browser.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
