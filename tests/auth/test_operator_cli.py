"""Operator commands (`oms keys …`, `oms customers set-status`), run as an operator runs them."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

from tests.support import assert_error, create_customer, process_env


def oms(settings, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "oms", *args], env=process_env(settings), capture_output=True, text=True, timeout=120
    )


async def test_created_key_works_until_it_is_revoked(client, settings) -> None:
    tenant = f"cli-{uuid.uuid4().hex[:8]}"
    created = oms(settings, "keys", "create", "--tenant", tenant)
    assert created.returncode == 0, created.stderr
    key = re.search(r"apiKey:\s+(sk_sdbx_\S+)", created.stdout)[1]  # type: ignore[index]
    secret = re.search(r"apiSecret:\s+(\S+)", created.stdout)[1]  # type: ignore[index]
    token = await client.post("/auth/token", json={"apiKey": key, "apiSecret": secret})
    assert token.status_code == 200

    listed = oms(settings, "keys", "list", "--tenant", tenant)
    assert f"{key}\t{tenant}\tsandbox\tactive" in listed.stdout and secret not in listed.stdout

    assert oms(settings, "keys", "revoke", key).returncode == 0
    assert "revoked" in oms(settings, "keys", "list", "--tenant", tenant).stdout
    headers = {"Authorization": f"Bearer {token.json()['accessToken']}"}
    assert_error(await client.get("/customers", headers=headers), 401, "invalid_token")
    assert oms(settings, "keys", "revoke", key).returncode == 1  # already revoked


async def test_an_operator_can_deactivate_a_customer(api, settings) -> None:  # type: ignore[no-untyped-def]
    customer = await create_customer(api)
    assert oms(settings, "customers", "set-status", customer["id"], "inactive").returncode == 0
    assert (await api.get(f"/customers/{customer['id']}")).json()["status"] == "inactive"
    response = await api.post(f"/customers/{customer['id']}/wallets", {"asset": "usdc", "chain": "polygon"})
    assert_error(response, 403, "customer_inactive")
    assert oms(settings, "customers", "set-status", customer["id"], "active").returncode == 0
    assert (
        await api.post(f"/customers/{customer['id']}/wallets", {"asset": "usdc", "chain": "polygon"})
    ).status_code == 201
    assert oms(settings, "customers", "set-status", "cst_01h455vb4pex5vsknk084sn02q", "inactive").returncode == 1
