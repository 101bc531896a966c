"""API and worker processes with no key-encryption key (in their environment or their data directory) still serve,
derive addresses and settle a transfer end to end, every signature coming from a real ``oms signer`` process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import select

from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from oms.custody import keys
from oms.models import ChainSend, CustodyKey
from tests.signer.conftest import keyless_env, running, running_signer, signer_env
from tests.signer.support import signer_records
from tests.support import (
    EXTERNAL,
    Api,
    OffsetClock,
    balance,
    create_customer,
    create_key,
    create_wallet,
    exchange,
    free_port,
    fund,
    funded_wallet,
    new_api,
    quote,
    stored_mnemonic,
    wait_until_serving,
)


async def _key_index(ctx: AppContext, address: str) -> int:
    async with ctx.db.session_scope(write=False) as session:
        return int(await session.scalar(select(CustodyKey.index).where(CustodyKey.address == address)))


async def _until(check, timeout: float = 90) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.2)):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("never happened")


async def test_keyless_api_and_worker_settle_a_transfer_through_the_signer(
    settings: Settings, clock: OffsetClock, ctx: AppContext, sockets: Path, tmp_path: Path
) -> None:
    path = sockets / "signer.sock"
    keyless = {**keyless_env(settings, clock, path, tmp_path / "keyless"), "OMS_SANDBOX_BLOCK_SECONDS": "0.2"}
    port = free_port()
    keyless["OMS_PORT"] = str(port)
    assert "OMS_CUSTODY_KEK" not in keyless
    base = f"http://127.0.0.1:{port}/v0.9"
    with running_signer(signer_env(settings, clock, path)), running("serve", keyless), running("worker", keyless):
        await wait_until_serving(f"http://127.0.0.1:{port}/healthz")
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            issued = await create_key(ctx)
            api = Api(http, await exchange(http, issued), issued)
            customer = await create_customer(api)
            wallet = await create_wallet(api, customer["id"])
            # Derived by the keyless API from the public key alone: the address the seed's key has.
            xpub = keys.account_xpub(await stored_mnemonic(ctx))
            assert keys.address_at(xpub, await _key_index(ctx, wallet["address"])) == wallet["address"]
            await fund(api, wallet, "10.00")

            async def funded() -> bool:
                return (await balance(api, wallet))[1] == "10.00"

            await _until(funded)
            offer = await quote(api, customer, wallet, to=EXTERNAL, amount="3.00")
            transfer = (await api.post("/transactions", {"quoteId": offer.json()["id"]})).json()

            async def completed() -> bool:
                return (await api.get(f"/transactions/{transfer['id']}")).json()["status"] == "completed"

            await _until(completed)
            assert await balance(api, wallet) == ("7.00", "7.00", "0.00")
    assert not (tmp_path / "keyless" / "custody.kek").exists()  # nor did they make a development key
    signed = [record for record in await signer_records(ctx) if record.tenant_id == issued.tenant_id]
    assert len(signed) == 2  # the transfer and its fee's sweep to the treasury, signed by the signer process
    assert all((record.actor_id, record.outcome) == ("oms signer", "succeeded") for record in signed)


async def test_a_keyless_api_serves_and_derives_addresses_while_the_signer_is_down(
    settings: Settings, clock: OffsetClock, ctx: AppContext, sockets: Path, tmp_path: Path
) -> None:
    keyless = settings.model_copy(
        update={"signer": "process", "signer_socket": sockets / "none.sock", "custody_kek": "", "data_dir": tmp_path}
    )
    server = AppContext.build(keyless, clock=clock)
    app = create_app(keyless, ctx=server)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as http,
    ):
        api = await new_api(http, server)
        customer, wallet = await funded_wallet(api, server, clock, amount="10.00")  # deposits need no signature
        offer = await quote(api, customer, wallet, to=EXTERNAL, amount="3.00")
        transfer = (await api.post("/transactions", {"quoteId": offer.json()["id"]})).json()
        assert transfer["status"] == "processing"
        await server.sender.run_once()  # no signer answers: the send waits, queued, at the nonce reserved for it
        async with server.db.session_scope(write=False) as session:
            send = (await session.execute(select(ChainSend).where(ChainSend.reference == transfer["id"]))).scalar_one()
        assert (send.status, send.nonce is not None) == ("queued", True)
        assert "signer" in (send.last_error or "")
    assert not (tmp_path / "custody.kek").exists()
