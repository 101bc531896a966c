"""`make run CHAIN=anvil` and the commands run beside it: they use its node, so `oms reconcile` agrees with it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.chain.anvil import anvil_binary
from tests.support import POSTGRES_URL, free_port, fresh_database, wait_until_serving

OMS = [sys.executable, "-m", "oms"]


@pytest.fixture
def devnode(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """`python -m oms.chain.devnode` (what `make run CHAIN=anvil` runs) in a fresh folder, as its cwd; yields the
    environment a user's shell has there, and the file the devnode's output went to."""
    anvil_binary()  # installed, or the test is skipped (failed when required)
    env = {**os.environ, "OMS_PORT": str(free_port()), "OMS_LOG_LEVEL": "WARNING"}
    for name in ("OMS_DATA_DIR", "OMS_DATABASE_URL", "OMS_DATABASE_SCHEMA", "OMS_SECRET_KEY", "OMS_CUSTODY_KEK",
                 "OMS_CHAIN"):  # fmt: skip
        env.pop(name, None)
    with fresh_database(tmp_path, migrate=False) as database:
        if POSTGRES_URL:
            env.update(OMS_DATABASE_URL=database["url"], OMS_DATABASE_SCHEMA=database["schema"])
        output = tmp_path / "devnode.out"
        with output.open("w") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "oms.chain.devnode", "--port", str(free_port()), "--block-time", "1"],
                cwd=tmp_path,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            yield env, output
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


async def test_commands_beside_the_devnode_use_its_chain_and_reconcile_clean(
    devnode: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, output = devnode
    base = f"http://127.0.0.1:{env['OMS_PORT']}/v0.9"
    await wait_until_serving(f"{base}/openapi.json", attempts=1200)
    printed = output.read_text()
    key, secret = re.search(r"apiKey:\s+(\S+)", printed)[1], re.search(r"apiSecret:\s+(\S+)", printed)[1]  # type: ignore[index]

    def oms(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*OMS, *args], cwd=tmp_path, env={**env, **extra}, capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        token = (await http.post("/auth/token", json={"apiKey": key, "apiSecret": secret})).json()["accessToken"]
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "devnode-1"}
        customer = (await http.post("/customers", json={}, headers=headers)).json()
        headers["Idempotency-Key"] = "devnode-2"
        wallet = (await http.post(f"/customers/{customer['id']}/wallets", json={"asset": "usdc", "chain": "polygon"},
                                  headers=headers)).json()  # fmt: skip
        funded = oms("sandbox", "fund", wallet["address"], "10.00", OMS_DATA_DIR=".oms/anvil")
        assert funded.returncode == 0, funded.stderr
        for _ in range(120):
            balance = (await http.get(f"/wallets/{wallet['id']}/balance", headers=headers)).json()
            if balance["balance"] == "10.00":
                break
            await asyncio.sleep(0.5)
        assert balance["balance"] == "10.00"

    named = oms("reconcile", OMS_DATA_DIR=".oms/anvil")
    assert named.returncode == 0 and " 0 differences" in named.stdout, named.stdout + named.stderr
    if not POSTGRES_URL:  # found by itself: nothing configured but the folder it runs in
        found = oms("reconcile")
        assert found.returncode == 0 and " 0 differences" in found.stdout, found.stdout + found.stderr
        assert "using the running `make run CHAIN=anvil` instance" in found.stderr
