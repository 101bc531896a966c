"""A chain node that is down or frozen, end to end through the API: a request that needs it answers 503
``service_unavailable`` with ``Retry-After`` in the error envelope, within the adapter's RPC timeout
(``OMS_EVM_RPC_TIMEOUT_SECONDS``), not a 500 and not a hang; everything that does not need it keeps working,
and the same request succeeds once the node is back. Against a real anvil where a live node is needed."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from oms.app import create_app
from oms.chain.anvil import AnvilNode, deploy_test_token
from oms.config import Settings
from oms.context import AppContext
from tests.chain.anvil import anvil_binary, anvil_settings
from tests.support import Api, OffsetClock, assert_error, create_customer, create_wallet, fresh_database, new_api

RPC_TIMEOUT = 1.0


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A database of its own: this node is a new 'polygon', whose deposit cursors must start afresh."""
    with fresh_database(tmp_path) as found:
        yield found


@asynccontextmanager
async def api_on(configured: Settings, clock: OffsetClock) -> AsyncIterator[Api]:
    """The API (started, with its lifespan) on ``configured``, and a new tenant of it."""
    ctx = AppContext.build(configured, clock=clock)
    app = create_app(configured, ctx=ctx)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as client,
    ):
        yield await new_api(client, ctx)


def evm_at(settings: Settings, database: dict[str, str], rpc_url: str) -> Settings:
    """The EVM adapter (a real network's, not a dev node's: it needs no node to start) at ``rpc_url``."""
    return anvil_settings(settings, rpc_url, "0x" + "11" * 20).model_copy(
        update={
            "database_url": database["url"],
            "database_schema": database["schema"],
            "evm_dev_node": False,
            "evm_rpc_timeout_seconds": RPC_TIMEOUT,
        }
    )


def closed_port() -> int:
    with socket.socket() as sock:  # nothing listens on it once this closes
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def open_deposit_address(
    api: Api, customer: dict[str, Any], wallet: dict[str, Any], *, key: str | None = None
) -> httpx.Response:
    body = {
        "source": {"asset": "usdc", "network": "polygon"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}},
    }
    return await api.post(f"/customers/{customer['id']}/deposit-addresses", body, key=key)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("api_error", "service_unavailable", None)
    assert error["message"] in (
        "The polygon node is unavailable; retry later.",
        "The chain node is unavailable; retry later.",
    )
    assert "127.0.0.1" not in error["message"]  # never where the node is (a hosted node's URL holds its key)


async def test_requests_that_need_a_node_nothing_listens_for_are_503_and_the_rest_works(
    settings: Settings, clock: OffsetClock, own_database: dict[str, str]
) -> None:
    nowhere = evm_at(settings, own_database, f"http://127.0.0.1:{closed_port()}")
    async with api_on(nowhere, clock) as api:  # the API starts while the node is down
        customer = await create_customer(api)
        wallet = await create_wallet(api, customer["id"])  # custody derives it: no node needed
        assert (await api.get(f"/wallets/{wallet['id']}/balance")).status_code == 200  # from the ledger
        assert_unavailable(await open_deposit_address(api, customer, wallet))  # needs the chain's head
        funding = {"address": wallet["address"], "amount": "5.00", "asset": "usdc", "network": "polygon"}
        assert_error(await api.post("/sandbox/fund", funding), 422, "simulation_unavailable")  # not a dev node


class SilentNode:
    """A TCP server on loopback that accepts every connection, reads the request and never answers: a node
    that froze. Counts the connections made to it."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._held: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> SilentNode:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._held:
            writer.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._held.append(writer)
        await reader.read(65536)


async def test_a_frozen_node_is_503_after_one_rpc_timeout_not_after_retries(
    settings: Settings, clock: OffsetClock, own_database: dict[str, str]
) -> None:
    async with SilentNode() as node:
        frozen = evm_at(settings, own_database, node.url)
        async with api_on(frozen, clock) as api:
            customer = await create_customer(api)
            wallet = await create_wallet(api, customer["id"])
            async with asyncio.timeout(60):  # a guard against a hang, not a measurement
                response = await open_deposit_address(api, customer, wallet)
            assert_unavailable(response)
            assert response.json()["error"]["requestId"] == response.headers["request-id"]
            assert node.connections == 1  # one call, given up after its timeout: a timeout is not retried


async def test_a_frozen_anvil_answers_503_and_the_same_request_succeeds_once_it_is_back(
    settings: Settings, clock: OffsetClock, own_database: dict[str, str], tmp_path: Path
) -> None:
    node = AnvilNode.start(anvil_binary(), log_path=tmp_path / "anvil.log")
    try:
        token = await deploy_test_token(node.rpc_url)
        configured = anvil_settings(settings, node.rpc_url, token).model_copy(
            update={
                "database_url": own_database["url"],
                "database_schema": own_database["schema"],
                "evm_rpc_timeout_seconds": RPC_TIMEOUT,
            }
        )
        async with api_on(configured, clock) as api:
            customer = await create_customer(api)
            wallet = await create_wallet(api, customer["id"])
            key = "da-while-frozen"
            os.kill(node.process.pid, signal.SIGSTOP)  # frozen: the kernel accepts connections, anvil never answers
            try:
                async with asyncio.timeout(60):  # a guard against a hang, not a measurement
                    frozen = await open_deposit_address(api, customer, wallet, key=key)
            finally:
                os.kill(node.process.pid, signal.SIGCONT)
            assert_unavailable(frozen)
            again = await open_deposit_address(api, customer, wallet, key=key)  # the same request, retried
            assert again.status_code == 201, again.text
    finally:
        node.stop()
