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


def _created(settings, *args: str) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """``oms keys create`` for a new tenant: its name, the key and its secret."""
    tenant = f"cli-{uuid.uuid4().hex[:8]}"
    created = oms(settings, "keys", "create", "--tenant", tenant, *args)
    assert created.returncode == 0, created.stderr
    key = re.search(r"apiKey:\s+(sk_sdbx_\S+)", created.stdout)[1]  # type: ignore[index]
    secret = re.search(r"apiSecret:\s+(\S+)", created.stdout)[1]  # type: ignore[index]
    return tenant, key, secret


async def test_created_key_works_until_it_is_revoked(client, settings) -> None:
    tenant, key, secret = _created(settings)
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


async def test_a_key_created_with_scopes_holds_only_those(client, settings) -> None:
    tenant, key, secret = _created(settings, "--scopes", "read,customers:write")
    token = (await client.post("/auth/token", json={"apiKey": key, "apiSecret": secret})).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    assert (await client.post("/customers", json={}, headers=headers)).status_code == 201
    webhook = await client.post("/webhooks", json={"url": "http://127.0.0.1:9/hooks"}, headers=headers)
    assert_error(webhook, 403, "insufficient_scope")
    listed = oms(settings, "keys", "list", "--tenant", tenant).stdout
    assert f"{key}\t{tenant}\tsandbox\tactive\tread,customers:write\tno expiry" in listed


def test_a_key_is_full_unless_told_and_read_only_is_a_preset(settings) -> None:  # type: ignore[no-untyped-def]
    tenant, key, _ = _created(settings)
    assert (
        "\tread,customers:write,wallets:write,money:write,webhooks:write\t"
        in oms(settings, "keys", "list", "--tenant", tenant).stdout
    )
    tenant, key, _ = _created(settings, "--scopes", "read_only")
    listed = oms(settings, "keys", "list", "--tenant", tenant).stdout
    assert f"{key}\t{tenant}\tsandbox\tactive\tread\tno expiry" in listed


def test_a_key_may_expire(settings) -> None:  # type: ignore[no-untyped-def]
    tenant, key, _ = _created(settings, "--expires-in", "30d")
    line = next(line for line in oms(settings, "keys", "list", "--tenant", tenant).stdout.splitlines() if key in line)
    assert re.search(r"\tactive\t.*\texpires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", line)
    tenant, key, _ = _created(settings, "--expires-at", "2999-01-01T00:00:00Z")
    assert "\texpires 2999-01-01T00:00:00Z" in oms(settings, "keys", "list", "--tenant", tenant).stdout


def test_bad_scopes_and_expiries_are_refused_in_one_line(settings) -> None:  # type: ignore[no-untyped-def]
    for args, said in [
        (["--scopes", "read,money:wirte"], "unknown scope 'money:wirte'"),
        (["--scopes", ""], "no scopes given"),
        (["--expires-in", "30 days"], "invalid --expires-in"),
        (["--expires-at", "yesterday"], "Invalid isoformat string"),
        (["--expires-at", "2001-01-01T00:00:00Z"], "is not in the future"),
    ]:
        refused = oms(settings, "keys", "create", "--tenant", f"cli-{uuid.uuid4().hex[:8]}", *args)
        assert refused.returncode == 2, (args, refused.stderr)
        assert refused.stderr.count("\n") == 1 and said in refused.stderr, (args, refused.stderr)
        assert refused.stdout == ""
