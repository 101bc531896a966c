"""README's quickstart as a newcomer runs it: every `sh` block of the section, in order, in one bash, against a
real `oms serve` on loopback started as `make run` starts it. Only the port and the printed key change."""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support import wait_until_serving
from tests.test_quickstart import OMS, fresh_install  # noqa: F401 - the fixture: a brand-new install

README = Path(__file__).parent.parent / "README.md"
EXAMPLE_KEY = "sk_sdbx_01m87v8qfee6qskjsdnb6e6q68"
EXAMPLE_SECRET = "sks_dwJfME1HiHA6jStmNzO3cq4IU4cPNSgrdg_WYhOwR48"


def quickstart_blocks() -> list[str]:
    text = README.read_text()
    section = text[text.index("\n## Quickstart\n") : text.index("\n## ", text.index("\n## Quickstart\n") + 1)]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


@pytest.fixture
async def server(fresh_install: dict[str, str]) -> AsyncIterator[tuple[dict[str, str], dict[str, str]]]:  # noqa: F811
    env = {**fresh_install, "OMS_SANDBOX_BLOCK_SECONDS": "0.5", "OMS_EMBEDDED_WORKER": "true"}
    subprocess.run([*OMS, "migrate"], env=env, check=True, timeout=120, capture_output=True)
    printed = subprocess.run([*OMS, "bootstrap"], env=env, check=True, capture_output=True, text=True, timeout=120)
    credentials = {
        "key": re.search(r"apiKey:\s+(\S+)", printed.stdout)[1],  # type: ignore[index]
        "secret": re.search(r"apiSecret:\s+(\S+)", printed.stdout)[1],  # type: ignore[index]
    }
    process = subprocess.Popen([*OMS, "serve"], env=env)
    try:
        await wait_until_serving(f"http://127.0.0.1:{env['OMS_PORT']}/v0.9/openapi.json")
        yield env, credentials
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_quickstart_shows_the_key_it_uses() -> None:
    text = README.read_text()
    assert f"apiKey:    {EXAMPLE_KEY}" in text and f"apiSecret: {EXAMPLE_SECRET}" in text
    blocks = quickstart_blocks()
    assert len(blocks) >= 8 and EXAMPLE_KEY in blocks[0] and "OMS=http://127.0.0.1:8080/v0.9" in blocks[0]
    for block in blocks:  # every POST as the API wants it
        for request in re.split(r"(?=curl )", block):
            if "curl " not in request or "/auth/token" in request:  # the token exchange takes no Idempotency-Key
                continue
            assert 'Authorization: Bearer $TOKEN"' in request, request
            if "-X POST" in request:
                assert "Idempotency-Key: " in request and "Content-Type: application/json" in request, request


async def test_every_quickstart_block_runs_against_a_fresh_server(
    server: tuple[dict[str, str], dict[str, str]],
) -> None:
    env, credentials = server
    script = "\n".join(quickstart_blocks())
    script = script.replace("127.0.0.1:8080", f"127.0.0.1:{env['OMS_PORT']}")
    script = script.replace(EXAMPLE_KEY, credentials["key"]).replace(EXAMPLE_SECRET, credentials["secret"])
    script += '\necho "RESULT $TRANSACTION $WALLET $RECIPIENT_WALLET $CASH_IN"\n'
    ran = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin"},
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert '{"error":' not in ran.stdout, ran.stdout  # no answer was an error envelope
    transaction, wallet, recipient_wallet, cash_in = ran.stdout.strip().splitlines()[-1].split()[1:]
    base = f"http://127.0.0.1:{env['OMS_PORT']}/v0.9"
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        token = (
            await http.post("/auth/token", json={"apiKey": credentials["key"], "apiSecret": credentials["secret"]})
        ).json()["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        assert (await http.get(f"/transactions/{transaction}", headers=headers)).json()["status"] == "completed"
        assert (await http.get(f"/cash-ins/{cash_in}", headers=headers)).json()["status"] == "completed"
        assert (await http.get(f"/wallets/{recipient_wallet}/balance", headers=headers)).json()["balance"] == "30.00"
        assert (await http.get(f"/wallets/{wallet}/balance", headers=headers)).json()["balance"] == "1308.50"
