"""A local anvil node for development and tests: run the process, deploy the test token, and control it.

``AnvilChain`` is the EVM adapter plus the ``DevChainControl`` only a development node offers (mine,
mint, reorganise), the same shape as the sandbox chain, so the chain contract tests and the sandbox
funding endpoint work against either. The token is ``contracts/build/TestUSDC.json``, deployed by and
owned by anvil's dev account 0, which anvil keeps unlocked: minting is a plain ``eth_sendTransaction``.

Development only: nothing here is imported unless OMS_EVM_DEV_NODE is set or a test asks for it.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.types import RPCEndpoint

from oms.chain.evm import EvmChainAdapter, checksum, translate_errors
from oms.chain.port import ChainError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]  # the source checkout: anvil and the artifact are dev tools
INSTALLER = ROOT / "tools" / "install-anvil.sh"
INSTALLED_BINARY = ROOT / ".tools" / "bin" / "anvil"
TOKEN_ARTIFACT = ROOT / "contracts" / "build" / "TestUSDC.json"

CHAIN_ID = 31337
DEV_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's dev account 0 (unlocked)
GAS_ACCOUNT_FUNDING = 10_000 * 10**18  # native coin given to the gas account on a fresh node

_MINT_ABI = [
    {"type": "function", "name": "mint", "stateMutability": "nonpayable",
     "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}], "outputs": []},
]  # fmt: skip


class AnvilUnavailable(RuntimeError):
    """anvil could not be installed or started."""


def install_anvil() -> Path:
    """The pinned anvil binary, installed into ``.tools/`` by ``tools/install-anvil.sh`` if needed."""
    if not INSTALLER.exists():
        found = shutil.which("anvil")
        if found is None:
            raise AnvilUnavailable("anvil is not on PATH and this is not a source checkout with tools/install-anvil.sh")
        return Path(found)
    try:
        command = ["bash", str(INSTALLER)]  # our own script, fixed arguments
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AnvilUnavailable(f"tools/install-anvil.sh did not run: {exc}") from exc
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise AnvilUnavailable(f"tools/install-anvil.sh failed: {reason}")
    return Path(result.stdout.strip().splitlines()[-1])


@dataclass
class AnvilNode:
    """A running anvil process on a loopback port. Mining is manual until ``set_interval_mining``."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        binary: Path,
        *,
        log_path: Path,
        port: int = 0,
        chain_id: int = CHAIN_ID,
        state_path: Path | None = None,
        timeout: float = 15.0,
    ) -> AnvilNode:
        """Start anvil on ``port`` (0: a free one, retried if another process grabs it first)."""
        for _ in range(3 if port == 0 else 1):
            node = cls._spawn(binary, log_path, port or _free_port(), chain_id, state_path)
            if node._wait_until_listening(timeout):
                return node
        raise AnvilUnavailable(f"anvil did not start; its log: {log_path}\n{_tail(log_path)}")

    @classmethod
    def _spawn(cls, binary: Path, log_path: Path, port: int, chain_id: int, state_path: Path | None) -> AnvilNode:
        arguments = [
            str(binary), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id),
            "--no-mining", "--silent",
            # Without this anvil writes every old state under ~/.foundry and never deletes it.
            "--max-persisted-states", "0",
        ]  # fmt: skip
        if state_path is not None:
            arguments += ["--state", str(state_path), "--state-interval", "5"]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as output:
            # Its own session: a Ctrl-C in the terminal reaches us, and we stop anvil after the server.
            process = subprocess.Popen(  # noqa: S603 - fixed arguments
                arguments, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        return cls(process=process, port=port, log_path=log_path)

    def _wait_until_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # exited: most likely the port was taken
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.1):
                    return True
            except OSError:
                time.sleep(0.01)
        self.stop()
        return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: anvil writes its --state file and exits
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@asynccontextmanager
async def _web3(rpc_url: str) -> AsyncIterator[AsyncWeb3[AsyncHTTPProvider]]:
    w3 = AsyncWeb3(AsyncHTTPProvider(rpc_url))
    try:
        yield w3
    finally:
        await w3.provider.disconnect()


async def deploy_test_token(rpc_url: str) -> str:
    """Deploy TestUSDC from the dev account (its owner, so it can mint) and mine it; returns its address."""
    artifact = json.loads(TOKEN_ARTIFACT.read_text())
    async with _web3(rpc_url) as w3, translate_errors("deploy TestUSDC"):
        tx_hash = await w3.eth.send_transaction({"from": DEV_ACCOUNT, "data": artifact["bytecode"]})
        await w3.manager.coro_request(RPCEndpoint("anvil_mine"), [1])
        receipt = await w3.eth.get_transaction_receipt(tx_hash)
    if receipt["status"] != 1 or not receipt["contractAddress"]:
        raise ChainError("deploying TestUSDC reverted")
    return str(receipt["contractAddress"])


async def has_code(rpc_url: str, address: str) -> bool:
    async with _web3(rpc_url) as w3, translate_errors("eth_getCode"):
        return len(await w3.eth.get_code(checksum(address))) > 0


async def node_call(rpc_url: str, method: str, params: list[Any]) -> Any:
    """One JSON-RPC call (e.g. an ``anvil_*`` or ``evm_*`` control method)."""
    async with _web3(rpc_url) as w3, translate_errors(method):
        return await w3.manager.coro_request(RPCEndpoint(method), params)


class AnvilChain(EvmChainAdapter):
    """``ChainAdapter`` and ``DevChainControl`` over a local anvil node."""

    async def start(self) -> None:
        """Also give the gas account native coin: on a fresh dev node nobody else will."""
        await super().start()
        if await self.native_balance(self.gas_account.address) < GAS_ACCOUNT_FUNDING // 10:
            await self.set_native_balance(self.gas_account.address, GAS_ACCOUNT_FUNDING)

    async def mine(self, blocks: int = 1) -> int:
        await self._call("anvil_mine", [blocks])
        return await self.head()

    async def mint(self, asset: str, to_address: str, amount: int) -> str:
        token = await self._token(asset)
        contract = self._w3.eth.contract(address=token.address, abi=_MINT_ABI)
        async with translate_errors("mint"):
            tx_hash = await contract.functions.mint(checksum(to_address), amount).transact({"from": DEV_ACCOUNT})
        return str(tx_hash.to_0x_hex())

    async def reorg(self, depth: int) -> None:
        """anvil_reorg re-mines the last ``depth`` blocks with the (empty) list of transactions given."""
        await self._call("anvil_reorg", [depth, []])

    async def set_native_balance(self, address: str, wei: int) -> None:
        await self._call("anvil_setBalance", [checksum(address), hex(wei)])

    async def set_interval_mining(self, seconds: int) -> None:
        """Mine a block every ``seconds`` (0: back to manual mining)."""
        await self._call("evm_setIntervalMining", [seconds])

    async def _call(self, method: str, params: list[Any]) -> Any:
        async with translate_errors(method):
            return await self._w3.manager.coro_request(RPCEndpoint(method), params)
