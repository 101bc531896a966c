"""On a real EVM node (anvil): a keyless process (no key-encryption key: custody holds the public key alone) takes a
deposit and settles a payout, the EIP-3009 authorization and the gas account's transaction both built and signed
by a real ``oms signer`` process from the send's row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from oms.app import create_app
from oms.chain.anvil import AnvilNode, deploy_test_token
from oms.config import Settings
from oms.context import AppContext
from oms.custody.service import CustodyError
from tests.chain.anvil import anvil_node, anvil_settings, balance_of, send_from_outside
from tests.signer.conftest import running_signer, signer_env
from tests.signer.support import signer_records
from tests.support import (
    OffsetClock,
    balance,
    create_customer,
    create_wallet,
    fresh_database,
    new_api,
    quote,
    settle,
    settle_until_completed,
)

OUTSIDE = "0x000000000000000000000000000000000000bEEF"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[AnvilNode]:
    with anvil_node(tmp_path) as started:
        yield started


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A database of its own: its seed is the one this test's signer creates, and this node is a new 'polygon'."""
    with fresh_database(tmp_path) as found:
        yield found


async def test_a_keyless_process_settles_a_payout_on_anvil_through_the_signer(
    node: AnvilNode,
    own_database: dict[str, str],
    settings: Settings,
    clock: OffsetClock,
    sockets: Path,
    tmp_path: Path,
) -> None:
    token = await deploy_test_token(node.rpc_url)
    path = sockets / "signer.sock"
    configured = anvil_settings(settings, node.rpc_url, token).model_copy(
        update={"database_url": own_database["url"], "database_schema": own_database["schema"]}
    )
    with running_signer(signer_env(configured, clock, path)):  # it creates this new database's seed
        keyless = configured.model_copy(
            update={"signer": "process", "signer_socket": path, "custody_kek": "", "data_dir": tmp_path / "k"}
        )
        ctx = AppContext.build(keyless, clock=clock)
        app = create_app(keyless, ctx=ctx)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as client,
        ):
            with pytest.raises(CustodyError, match="holds no key"):
                ctx.custody.sign_digest(0, b"anything")
            api = await new_api(client, ctx)
            alice = await create_customer(api)
            wallet = await create_wallet(api, alice["id"])
            await send_from_outside(node.rpc_url, token, wallet["address"], 20_000_000)
            await settle(ctx, clock)
            assert await balance(api, wallet) == ("20.00", "20.00", "0.00")

            offer = (await quote(api, alice, wallet, to=OUTSIDE, amount="5.00", side="destination")).json()
            transfer = (await api.post("/transactions", {"quoteId": offer["id"]})).json()
            await settle_until_completed(ctx, clock, api, transfer["id"])
            assert (await api.get(f"/transactions/{transfer['id']}")).json()["status"] == "completed"
            assert await balance_of(node.rpc_url, token, OUTSIDE) == 5_000_000
            signed = await signer_records(ctx)
            assert len(signed) == 2 and all(record.actor_id == "oms signer" for record in signed)
    assert not (tmp_path / "k" / "custody.kek").exists()
