"""A real anvil node for tests: installed on demand, one fresh node per test, the test token deployed and
the gas account funded. Import ``anvil_chain`` (a fixture) or use ``started_anvil_chain`` directly.

Skipped only when anvil cannot be installed (no npm, offline). CI sets ``OMS_TEST_REQUIRE_ANVIL=1`` so
that the suite fails instead of silently skipping there.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from web3 import AsyncHTTPProvider, AsyncWeb3

from oms.chain.anvil import (
    CHAIN_ID,
    DEV_ACCOUNT,
    TOKEN_ARTIFACT,
    AnvilChain,
    AnvilNode,
    AnvilUnavailable,
    deploy_test_token,
    install_anvil,
    node_call,
)
from oms.config import Settings
from oms.context import AppContext

REQUIRE_ANVIL = os.environ.get("OMS_TEST_REQUIRE_ANVIL") == "1"


@functools.cache
def _install() -> Path | str:
    """The binary, or why there is none; tried once per test session."""
    try:
        return install_anvil()
    except AnvilUnavailable as exc:
        return str(exc)


def anvil_binary() -> Path:
    installed = _install()
    if isinstance(installed, Path):
        return installed
    if REQUIRE_ANVIL:
        pytest.fail(f"anvil is required (OMS_TEST_REQUIRE_ANVIL=1) but could not be installed: {installed}")
    pytest.skip(f"anvil could not be installed: {installed}")


@contextmanager
def anvil_node(directory: Path) -> Iterator[AnvilNode]:
    """A fresh node for one test, its log in ``directory``, stopped after it."""
    started = AnvilNode.start(anvil_binary(), log_path=directory / "anvil.log")
    try:
        yield started
    finally:
        started.stop()


def anvil_settings(settings: Settings, rpc_url: str, token: str) -> Settings:
    """The test settings, pointed at a local anvil serving the ``polygon`` network."""
    return settings.model_copy(
        update={
            "chain": "evm",
            "evm_network": "polygon",
            "evm_rpc_url": rpc_url,
            "evm_chain_id": CHAIN_ID,
            "evm_usdc_address": token,
            "evm_usdt_address": "",
            "evm_dev_node": True,
        }
    )


@asynccontextmanager
async def started_anvil_chain(ctx: AppContext, settings: Settings, workdir: Path) -> AsyncIterator[AnvilChain]:
    """A fresh anvil (manual mining) with TestUSDC deployed, and the adapter over it, started."""
    node = AnvilNode.start(anvil_binary(), log_path=workdir / "anvil.log")
    try:
        token = await deploy_test_token(node.rpc_url)
        chain = AnvilChain(anvil_settings(settings, node.rpc_url, token), custody=ctx.custody, db=ctx.db)
        await chain.start()
        try:
            yield chain
        finally:
            await chain.close()
    finally:
        node.stop()


@pytest.fixture
async def anvil_chain(ctx: AppContext, settings: Settings, tmp_path: Path) -> AsyncIterator[AnvilChain]:
    """``ChainAdapter`` + ``DevChainControl`` over a fresh anvil node (mining is manual: call ``mine``)."""
    async with started_anvil_chain(ctx, settings, tmp_path) as chain:
        yield chain


async def erc20(rpc_url: str, token: str) -> Any:
    w3 = AsyncWeb3(AsyncHTTPProvider(rpc_url))
    return w3, w3.eth.contract(address=token, abi=json.loads(TOKEN_ARTIFACT.read_text())["abi"])


async def send_from_outside(rpc_url: str, token: str, to: str, amount: int) -> None:
    """An ordinary ERC-20 transfer by an account OMS knows nothing about (anvil's dev account)."""
    w3, contract = await erc20(rpc_url, token)
    await contract.functions.mint(DEV_ACCOUNT, amount).transact({"from": DEV_ACCOUNT})
    await node_call(rpc_url, "anvil_mine", [1])  # mining is manual: the transfer must see the mint
    await contract.functions.transfer(to, amount).transact({"from": DEV_ACCOUNT})
    await w3.provider.disconnect()


async def balance_of(rpc_url: str, token: str, address: str) -> int:
    w3, contract = await erc20(rpc_url, token)
    found = await contract.functions.balanceOf(address).call()
    await w3.provider.disconnect()
    return int(found)
