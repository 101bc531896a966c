"""A deposit (or a deposit-address transfer) frozen by a screening hit, decided in the console: listed on the
approvals page, released (then credited) or rejected by an approver with a reason, the decision in the audit
log. The suite's shared server, as the screening tests make their frozen deposits."""

from __future__ import annotations

from pathlib import Path

import httpx

from oms.context import AppContext
from tests.admin.support import make_operator
from tests.console.support import CONSOLE_BASE, Console, page_error
from tests.screening.flows import deposit_address_with_wallet, frozen_deposit, sent_to_deposit_address
from tests.support import Api, OffsetClock, balance, ledger_is_sound, settle


async def test_an_approver_releases_a_frozen_deposit_with_a_reason_and_it_is_credited(
    app,
    api: Api,
    other_api: Api,
    ctx: AppContext,
    clock: OffsetClock,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    wallet, _ = await frozen_deposit(api, other_api, ctx, clock, tmp_path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CONSOLE_BASE) as http:
        console = Console(http)
        assert (await console.log_in(await make_operator(ctx, "approver"))).status_code == 303
        listed = await console.get("/console/approvals", tenant=api.tenant_id)
        deposit_id = listed.text.split("/console/deposits/")[1].split("/")[0]
        assert wallet["id"] in listed.text and "OFAC SDN" in listed.text
        unexplained = await console.post(f"/console/deposits/{deposit_id}/release", {"reason": ""})
        assert (unexplained.status_code, page_error(unexplained)) == (400, "parameter_invalid")
        released = await console.post(f"/console/deposits/{deposit_id}/release", {"reason": "false positive"})
        assert (released.status_code, released.headers["location"]) == (303, "/console/approvals?notice=released")
        assert deposit_id not in (await console.get("/console/approvals", tenant=api.tenant_id)).text
        audit = await console.get("/console/audit", object=deposit_id, outcome="succeeded")
        assert "POST /console/deposits/{deposit_id}/release" in audit.text
    settled, available, frozen = await balance(api, wallet)
    assert settled == available != "0.00" and frozen == "0.00"  # credited, nothing frozen any more
    await ledger_is_sound(ctx, api)


async def test_an_approver_rejects_a_frozen_deposit_address_transfer_and_it_is_never_forwarded(
    app,
    api: Api,
    other_api: Api,
    ctx: AppContext,
    clock: OffsetClock,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    address, wallet = await deposit_address_with_wallet(api)
    await sent_to_deposit_address(address, other_api, ctx, clock, tmp_path, listed=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CONSOLE_BASE) as http:
        console = Console(http)
        assert (await console.log_in(await make_operator(ctx, "approver"))).status_code == 303
        listed = await console.get("/console/approvals", tenant=api.tenant_id)
        transfer_id = listed.text.split("/console/deposit-address-transfers/")[1].split("/")[0]
        assert address["id"] in listed.text and "OFAC SDN" in listed.text
        rejected = await console.post(f"/console/deposit-address-transfers/{transfer_id}/reject", {"reason": "match"})
        assert (rejected.status_code, rejected.headers["location"]) == (303, "/console/approvals?notice=rejected")
        assert transfer_id not in (await console.get("/console/approvals", tenant=api.tenant_id)).text
        audit = await console.get("/console/audit", object=transfer_id, outcome="succeeded")
        assert "POST /console/deposit-address-transfers/{transfer_id}/reject" in audit.text
    await settle(ctx, clock, rounds=4)
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")  # never forwarded
    await ledger_is_sound(ctx, api)
