"""The quickstart (shared/seed) as a new user runs it: migrate, bootstrap, serve, then its four calls
with their exact headers and bodies against a real server on loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from eth_utils import is_checksum_address

from tests.support import POSTGRES_URL, free_port, fresh_database, wait_until_serving

OMS = [sys.executable, "-m", "oms"]


@pytest.fixture
def fresh_install(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a brand-new install: its own data directory (and PostgreSQL schema)."""
    env = {
        **os.environ,
        "OMS_DATA_DIR": str(tmp_path / "data"),
        "OMS_PORT": str(free_port()),
        "OMS_LOG_LEVEL": "WARNING",
    }
    for name in ("OMS_DATABASE_URL", "OMS_DATABASE_SCHEMA", "OMS_SECRET_KEY", "OMS_CUSTODY_KEK"):
        env.pop(name, None)
    if not POSTGRES_URL:
        yield env  # SQLite: the data directory's own database, as `make run` has it
        return
    # PostgreSQL: an empty schema; the test migrates it with `oms migrate` as an operator would.
    with fresh_database(tmp_path, migrate=False) as database:
        env.update(OMS_DATABASE_URL=database["url"], OMS_DATABASE_SCHEMA=database["schema"], OMS_WORKERS="2",
                   OMS_EMBEDDED_WORKER="true")  # fmt: skip
        yield env


@pytest.fixture
async def server(fresh_install: dict[str, str]) -> AsyncIterator[tuple[str, dict[str, str]]]:
    subprocess.run([*OMS, "migrate"], env=fresh_install, check=True, timeout=120)
    bootstrap = subprocess.run(
        [*OMS, "bootstrap"], env=fresh_install, check=True, capture_output=True, text=True, timeout=120
    )
    printed = bootstrap.stdout
    credentials = {
        "apiKey": re.search(r"apiKey:\s+(\S+)", printed)[1],  # type: ignore[index]
        "apiSecret": re.search(r"apiSecret:\s+(\S+)", printed)[1],
    }  # type: ignore[index]
    assert "curl -X POST http://127.0.0.1:" in printed and credentials["apiSecret"] in printed
    process = subprocess.Popen([*OMS, "serve"], env=fresh_install)
    base = f"http://127.0.0.1:{fresh_install['OMS_PORT']}/v0.9"
    try:
        await wait_until_serving(f"{base}/openapi.json")
        yield base, credentials
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_the_seed_quickstart_works_against_a_fresh_server(server: tuple[str, dict[str, str]]) -> None:
    base, credentials = server
    async with httpx.AsyncClient(timeout=30) as http:
        # 1. Get a bearer token
        token_body = (
            '{\n    "apiKey": "'
            + credentials["apiKey"]
            + '",\n    "apiSecret": "'
            + credentials["apiSecret"]
            + '"\n  }'
        )
        response = await http.post(
            f"{base}/auth/token", headers={"Content-Type": "application/json"}, content=token_body
        )
        assert response.status_code == 200, response.text
        token = response.json()
        assert token["tokenType"] == "bearer" and token["expiresIn"] == 3600 and token["accessToken"]
        authorization = f"Bearer {token['accessToken']}"

        # 2. Create a customer
        response = await http.post(
            f"{base}/customers",
            content="{}",
            headers={
                "Authorization": authorization,
                "Content-Type": "application/json",
                "Idempotency-Key": "cst-wallet-quickstart-001",
            },
        )
        assert response.status_code == 201, response.text
        customer = response.json()  # each answer's shape: checked against its schema by tests/contract.py
        assert customer["id"].startswith("cst_") and customer["object"] == "customer"

        # 3. Provision a custodial wallet
        response = await http.post(
            f"{base}/customers/{customer['id']}/wallets",
            headers={
                "Authorization": authorization,
                "Content-Type": "application/json",
                "Idempotency-Key": "wlt-quickstart-001",
            },
            content='{\n    "asset": "usdc",\n    "chain": "polygon"\n  }',
        )
        assert response.status_code == 201, response.text
        wallet = response.json()
        assert wallet["id"].startswith("wlt_") and wallet["customerId"] == customer["id"]
        assert (wallet["asset"], wallet["chain"], wallet["status"]) == ("usdc", "polygon", "active")
        assert is_checksum_address(wallet["address"])

        # 4. Read the wallet balance
        response = await http.get(f"{base}/wallets/{wallet['id']}/balance", headers={"Authorization": authorization})
        assert response.status_code == 200, response.text
        balance = response.json()
        assert balance["walletId"] == wallet["id"] and balance["balance"] == "0.00"
        assert response.headers["request-id"].startswith("req_")
