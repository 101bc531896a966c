"""The per-tenant sandbox clock, and the sandbox-only endpoints being absent in live mode."""

from __future__ import annotations

import secrets
from datetime import datetime

import httpx

from oms.app import create_app
from oms.config import Mode
from tests.funding.support import advance, customer_with_wallet
from tests.support import Api, OffsetClock, assert_error, fund, ledger_is_sound, quote, settle


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


async def test_a_tenant_moves_only_its_own_clock(api: Api, other_api: Api) -> None:
    before = (await api.get("/sandbox/clock")).json()
    assert before["object"] == "sandboxClock" and before["offsetSeconds"] == 0
    moved = await advance(api, hours=2)
    assert moved["offsetSeconds"] == 7200
    assert abs((parse(moved["now"]) - parse(moved["systemNow"])).total_seconds() - 7200) < 1
    assert 7199 <= (parse(moved["now"]) - parse(before["now"])).total_seconds() <= 7260
    assert (await advance(api, seconds=30))["offsetSeconds"] == 7230  # advances add up
    assert (await other_api.get("/sandbox/clock")).json()["offsetSeconds"] == 0


async def test_the_clock_only_moves_forward(api: Api) -> None:
    for seconds in (0, -60, 400 * 86_400):
        assert_error(await api.post("/sandbox/clock/advance", {"seconds": seconds}), 400, "parameter_invalid",
                     param="seconds")  # fmt: skip
    assert_error(await api.post("/sandbox/clock/advance", {"seconds": "60"}), 400, "parameter_invalid")


async def test_quote_locks_run_on_the_tenant_clock(api: Api, other_api: Api, ctx, clock: OffsetClock) -> None:
    offers = {}
    for who in (api, other_api):
        customer, wallet = await customer_with_wallet(who)
        await fund(who, wallet, "5.00")
        offers[who.tenant_id] = (customer, wallet)
    await settle(ctx, clock)
    mine = (await quote(api, *offers[api.tenant_id], to="0x" + "22" * 20, amount="1.00")).json()
    theirs = (await quote(other_api, *offers[other_api.tenant_id], to="0x" + "22" * 20, amount="1.00")).json()
    await advance(api, minutes=4, seconds=59)
    assert (await api.get(f"/quotes/{mine['id']}")).json()["status"] == "open"
    await advance(api, seconds=1)
    assert (await api.get(f"/quotes/{mine['id']}")).json()["status"] == "expired"
    assert_error(await api.post("/transactions", {"quoteId": mine["id"]}), 422, "quote_expired", param="quoteId")
    assert (await other_api.get(f"/quotes/{theirs['id']}")).json()["status"] == "open"
    assert (await other_api.post("/transactions", {"quoteId": theirs["id"]})).status_code == 201
    await settle(ctx, clock)
    await ledger_is_sound(ctx, api)
    await ledger_is_sound(ctx, other_api)


async def test_sandbox_endpoints_are_404_in_live_mode(settings) -> None:  # type: ignore[no-untyped-def]
    live = settings.model_copy(
        update={"mode": Mode.live, "secret_key": secrets.token_hex(32), "custody_kek": secrets.token_hex(32)}
    )
    app = create_app(live)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as client:
        for path in (
            "/cash-ins/simulate/barcode-auth",
            "/cash-ins/simulate/auth-commit",
            "/virtual-accounts/va_01h455vb4pex5vsknk084sn02q/simulate",
            "/deposit-addresses/da_01h455vb4pex5vsknk084sn02q/simulate",
            "/sandbox/clock/advance",
        ):
            assert_error(await client.post(path, json={}), 404, "unrecognized_request_url")
        assert_error(await client.get("/sandbox/clock"), 404, "unrecognized_request_url")
        # The resources themselves exist in live mode (here: refused for want of a token, not unknown).
        assert (await client.get("/cash-ins")).status_code == 401
        assert (await client.get("/cash-locations")).status_code == 401
