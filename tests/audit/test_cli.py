"""Operator commands that change state are recorded as the OS user who ran them, in the command's transaction."""

from __future__ import annotations

import getpass
import re
import uuid

from oms.config import Settings
from oms.context import AppContext
from oms.kit.ids import new_id
from tests.audit.support import oms, records
from tests.support import Api, create_customer


async def test_creating_and_revoking_a_key_is_recorded_as_the_os_user(settings: Settings, ctx: AppContext) -> None:
    created = oms(settings, "keys", "create", "--tenant", f"cli-{uuid.uuid4().hex[:8]}")
    key = re.search(r"apiKey:\s+(\S+)", created.stdout)[1]  # type: ignore[index]
    secret = re.search(r"apiSecret:\s+(\S+)", created.stdout)[1]  # type: ignore[index]
    assert oms(settings, "keys", "revoke", key).returncode == 0
    assert oms(settings, "keys", "revoke", key).returncode == 1  # already revoked: nothing changed
    made, revoked, refused = await records(ctx, object_id=key)
    user = {"kind": "cli", "id": getpass.getuser()}
    assert (made["actor"], made["action"], made["outcome"]) == (user, "cli keys create", "succeeded")
    assert (revoked["action"], revoked["tenantId"]) == ("cli keys revoke", made["tenantId"])
    assert (refused["outcome"], refused["errorCode"]) == ("failed", "resource_missing")
    assert made["tenantId"] and made["requestId"] is None and made["status"] is None
    assert secret not in str([made, revoked, refused])


async def test_a_customers_status_set_by_an_operator_is_recorded(api: Api, settings: Settings, ctx: AppContext) -> None:
    customer = await create_customer(api)
    assert oms(settings, "customers", "set-status", customer["id"], "inactive").returncode == 0
    [created, deactivated] = await records(ctx, object_id=customer["id"])
    assert created["actor"]["kind"] == "api_key"
    assert (deactivated["action"], deactivated["tenantId"]) == ("cli customers set-status inactive", api.tenant_id)
    unknown = new_id("cst")  # its own: tests/auth/test_operator_cli.py refuses a fixed unknown id in the same run
    assert oms(settings, "customers", "set-status", unknown, "inactive").returncode == 1
    [refused] = await records(ctx, object_id=unknown)
    assert (refused["outcome"], refused["errorCode"]) == ("failed", "resource_missing")


async def test_operator_commands_are_recorded_by_the_operators_id_never_the_email(
    settings: Settings, ctx: AppContext
) -> None:
    email = f"audit-{uuid.uuid4().hex[:8]}@example.com"
    created = oms(settings, "operators", "create", email, "--role", "viewer")
    assert created.returncode == 0, created.stderr
    operator_id = re.search(r"\((op_\S+)\)", created.stdout)[1]  # type: ignore[index]
    assert oms(settings, "operators", "set-role", email, "approver").returncode == 0
    assert oms(settings, "operators", "disable", operator_id).returncode == 0
    made, promoted, disabled = await records(ctx, object_id=operator_id)
    assert [made["action"], promoted["action"], disabled["action"]] == [
        "cli operators create viewer",
        "cli operators set-role approver",
        "cli operators disable",
    ]
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    assert oms(settings, "operators", "disable", unknown).returncode == 1
    refused = (await records(ctx, action="cli operators disable", outcome="failed"))[-1]
    assert refused["objectId"] is None and refused["errorCode"] == "resource_missing"
    assert email not in str([made, promoted, disabled]) and unknown not in str(refused)
