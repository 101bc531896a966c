"""``make run CHAIN=anvil``: serve OMS against a local anvil node with the test USDC deployed.

    python -m oms.chain.devnode [--port 8545] [--block-time 2]

Starts anvil (installing it on first use), deploys TestUSDC once, mines a block every ``--block-time``
seconds, then runs ``oms migrate``, ``oms bootstrap`` and ``oms serve`` with ``OMS_CHAIN=evm`` pointed at
it. The chain and OMS's data live together under ``<OMS_DATA_DIR>/anvil/`` (anvil's ``--state`` file, the
database, the development secrets) so they stay consistent across restarts; delete that folder to start
over. ``POST /sandbox/fund`` mints test USDC on this node. Stopping the server stops anvil.

The settings it gives the server are written to ``<OMS_DATA_DIR>/anvil/instance.json``, so that the other
``oms`` commands find this instance: with ``OMS_DATA_DIR=.oms/anvil``, or on their own while it runs
(``instance_environment``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from oms.config import Settings

STATE_FILE = "anvil-state.json"
TOKEN_FILE = "devnode.json"
INSTANCE_FILE = "instance.json"
# Commands that start or prepare a server of their own never join a running instance uninvited.
_OWN_INSTANCE = {"serve", "worker", "migrate", "bootstrap"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oms.chain.devnode", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8545, help="anvil's JSON-RPC port on 127.0.0.1")
    parser.add_argument("--block-time", type=int, default=2, help="seconds between blocks")
    args = parser.parse_args(argv)

    from oms.chain.anvil import CHAIN_ID, AnvilNode, AnvilUnavailable, install_anvil

    _stop_on_sigterm()
    settings = Settings()
    workdir = settings.data_dir / "anvil"
    problem = _inconsistent(workdir)
    if problem:
        print(f"devnode: {problem}", file=sys.stderr)
        return 1
    try:
        binary = install_anvil()
        node = AnvilNode.start(binary, port=args.port, log_path=workdir / "anvil.log", state_path=workdir / STATE_FILE)
    except AnvilUnavailable as exc:
        print(f"devnode: {exc}", file=sys.stderr)
        return 1
    try:
        token = asyncio.run(_prepare(node.rpc_url, _deployed_token(workdir / TOKEN_FILE), args.block_time))
        (workdir / TOKEN_FILE).write_text(json.dumps({"usdc": token}) + "\n")
        print(f"devnode: anvil at {node.rpc_url} (chain id {CHAIN_ID}), TestUSDC at {token}, "
              f"a block every {args.block_time} s; chain and data in {workdir}")  # fmt: skip
        settings_of_oms = _environment(workdir, node.rpc_url, token)
        _write_instance(workdir, settings_of_oms)
        return _run_oms({**os.environ, **settings_of_oms})
    finally:
        node.stop()


def _inconsistent(workdir: Path) -> str | None:
    """A database that outlived its chain would point at blocks and balances that no longer exist."""
    uses_own_database = "OMS_DATABASE_URL" not in os.environ
    if uses_own_database and (workdir / "oms.db").exists() and not (workdir / STATE_FILE).exists():
        return f"{workdir / 'oms.db'} exists but anvil's state {workdir / STATE_FILE} is gone; delete {workdir}"
    return None


async def _prepare(rpc_url: str, deployed: str | None, block_time: int) -> str:
    """The TestUSDC address: the one deployed on an earlier run if the chain still has it, else a new one."""
    from oms.chain.anvil import deploy_test_token, has_code, node_call

    token = deployed if deployed and await has_code(rpc_url, deployed) else await deploy_test_token(rpc_url)
    await node_call(rpc_url, "evm_setIntervalMining", [block_time])
    return token


def _deployed_token(token_file: Path) -> str | None:
    return json.loads(token_file.read_text()).get("usdc") if token_file.exists() else None


def _environment(workdir: Path, rpc_url: str, token: str) -> dict[str, str]:
    """The settings of the ``oms`` commands (beyond the environment's): this node as the chain, and (unless a
    database is configured) its own database and secrets next to the chain state."""
    from oms.chain.anvil import CHAIN_ID

    env: dict[str, str] = {}
    env.update(
        {
            "OMS_CHAIN": "evm",
            "OMS_EVM_NETWORK": "polygon",
            "OMS_EVM_RPC_URL": rpc_url,
            "OMS_EVM_CHAIN_ID": str(CHAIN_ID),
            "OMS_EVM_USDC_ADDRESS": token,
            "OMS_EVM_USDT_ADDRESS": "",
            "OMS_EVM_DEV_NODE": "true",
        }
    )
    # The data directory holds the development secrets: the chain's folder with its own database, else the one
    # the configured database's server would use anyway (written out, so other commands open the same seed).
    own_database = "OMS_DATABASE_URL" not in os.environ
    env["OMS_DATA_DIR"] = str((workdir if own_database else Settings().data_dir).resolve())
    return env


def _write_instance(workdir: Path, settings_of_oms: dict[str, str]) -> None:
    record = {"pid": os.getpid(), "environment": settings_of_oms}
    (workdir / INSTANCE_FILE).write_text(json.dumps(record, indent=2) + "\n")


@dataclass(frozen=True)
class Instance:
    """The settings of the instance `make run CHAIN=anvil` started, for another ``oms`` command."""

    environment: dict[str, str]
    workdir: Path
    discovered: bool  # found running, not named by OMS_DATA_DIR


def instance_environment(environ: Mapping[str, str], command: str) -> Instance | None:
    """The devnode instance a command runs against, or None: the one in ``OMS_DATA_DIR`` if it holds an
    ``instance.json`` (``OMS_DATA_DIR=.oms/anvil``); else, when neither a data directory, a database nor a
    chain is configured and the command starts no server of its own, the one under ``.oms/anvil`` while it
    runs. Without this a command would read the instance's database against the embedded sandbox chain and
    report every on-chain balance as a difference. Settings in ``environ`` win over the file's, but for its
    ``OMS_DATA_DIR``: the folder that holds the secrets its server uses."""
    named = environ.get("OMS_DATA_DIR")
    if named:
        workdir, discovered = Path(named), False
    elif command in _OWN_INSTANCE or any(k in environ for k in ("OMS_DATABASE_URL", "OMS_CHAIN")):
        return None
    else:
        workdir, discovered = Path(".oms") / "anvil", True
    try:
        record = json.loads((workdir / INSTANCE_FILE).read_text())
    except (OSError, ValueError):
        return None
    if discovered and not _running(record.get("pid")):
        return None
    recorded = record.get("environment", {})
    settings_of_oms = {k: str(v) for k, v in recorded.items() if k not in environ}
    if "OMS_DATA_DIR" in recorded:  # where its secrets are, even when another folder named the instance
        settings_of_oms["OMS_DATA_DIR"] = str(recorded["OMS_DATA_DIR"])
    return Instance(settings_of_oms, workdir, discovered)


def _running(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run_oms(env: dict[str, str]) -> int:
    """``oms migrate``, ``oms bootstrap``, then ``oms serve`` until it exits or we are stopped.

    The server runs as a child process so that this one outlives it and always stops anvil: uvicorn
    re-raises the signal that stopped it, which would end an in-process server before our clean-up.
    """
    oms = [sys.executable, "-m", "oms"]
    for command in ("migrate", "bootstrap"):
        code = subprocess.call([*oms, command], env=env)  # noqa: S603 - our own CLI
        if code:
            return code
    server = subprocess.Popen([*oms, "serve"], env=env)  # noqa: S603 - our own CLI
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 130  # Ctrl-C reached the server too (same process group); it is shutting down
    finally:
        if server.poll() is None:
            server.terminate()
        server.wait()


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the ``finally`` blocks stop the server and anvil."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


if __name__ == "__main__":
    raise SystemExit(main())
