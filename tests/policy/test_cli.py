"""``oms policies …``: the admin API's policy operations from the command line; each change recorded in the audit
log as the OS user who ran it, a refusal as one line and exit status 1."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from oms.config import Settings
from oms.context import AppContext
from tests.audit.support import oms, records
from tests.support import Api, OffsetClock, assert_error, funded_wallet, quote

EXTERNAL = "0x00000000000000000000000000000000000000aa"


async def test_policies_are_managed_from_the_command_line(
    api: Api, settings: Settings, ctx: AppContext, clock: OffsetClock, tmp_path: Path
) -> None:
    written = tmp_path / "policy.json"
    written.write_text(json.dumps({"name": "cli", "rules": {"maxAmountPerTransaction": "5.00"}}))
    created = oms(settings, "policies", "create", api.tenant_id, str(written))
    assert created.returncode == 0, created.stderr
    policy = json.loads(created.stdout)
    assert (policy["version"], policy["rules"]["maxAmountPerTransaction"]) == (1, "5.00")
    customer, wallet = await funded_wallet(api, ctx, clock)
    assert_error(await quote(api, customer, wallet, to=EXTERNAL, amount="6.00"), 422, "policy_amount_per_transaction")
    written.write_text(json.dumps({"name": "cli", "rules": {"maxAmountPerTransaction": "7.00"}}))
    assert oms(settings, "policies", "update", api.tenant_id, policy["id"], str(written)).returncode == 0
    assert (await quote(api, customer, wallet, to=EXTERNAL, amount="6.00")).status_code == 201
    assert oms(settings, "policies", "disable", api.tenant_id, policy["id"]).returncode == 0
    refused = oms(settings, "policies", "disable", api.tenant_id, policy["id"])
    assert refused.returncode == 1 and "already disabled" in refused.stderr
    versions = json.loads(oms(settings, "policies", "versions", api.tenant_id, policy["id"]).stdout)["data"]
    assert [(v["version"], v["status"], v["createdBy"]["kind"]) for v in versions] == [
        (1, "active", "cli"), (2, "active", "cli"), (3, "disabled", "cli"),
    ]  # fmt: skip
    listed = json.loads(oms(settings, "policies", "list", api.tenant_id).stdout)["data"]
    assert [p["id"] for p in listed] == [policy["id"]]
    made, updated, disabled, failed = await records(ctx, object_id=policy["id"])
    assert (made["actor"], made["action"], made["tenantId"]) == (
        {"kind": "cli", "id": getpass.getuser()}, "cli policies create", api.tenant_id,
    )  # fmt: skip
    assert [updated["action"], disabled["action"]] == ["cli policies update", "cli policies disable"]
    assert (failed["outcome"], failed["errorCode"]) == ("failed", "policy_disabled")
