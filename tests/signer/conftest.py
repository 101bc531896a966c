"""A real ``oms signer`` process for the signer's tests, and keyless ``oms`` processes that ask it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from oms.config import Settings
from oms.context import AppContext
from oms.signer.client import SignerClient
from oms.signer.spawn import answers
from tests.admin.conftest import admin_http
from tests.controls.support import HoldEverything
from tests.support import Api, OffsetClock, process_env, stop

__all__ = ["admin_http"]
OMS = [sys.executable, "-m", "oms"]
START_SECONDS = 90  # a generous deadline on a busy machine; not what any test asserts


def socket_dir() -> Path:
    """A short directory for a socket (a Unix socket's path is at most 107 bytes; pytest's are long)."""
    return Path(tempfile.mkdtemp(prefix="oms-signer-", dir="/tmp"))


def signer_env(settings: Settings, clock: OffsetClock, socket: Path, **extra: str) -> dict[str, str]:
    """The signer's environment: the test database, the custody key-encryption key, its socket."""
    env = process_env(settings, clock)
    env.update({"OMS_SIGNER": "process", "OMS_SIGNER_SOCKET": str(socket), "OMS_SIGNER_SPAWN": "false", **extra})
    return env


def keyless_env(settings: Settings, clock: OffsetClock, socket: Path, data_dir: Path) -> dict[str, str]:
    """An API or worker process that holds no key: no key-encryption key in its environment, a data directory of
    its own (so no development key file to read either), signatures from the signer on ``socket``."""
    env = signer_env(settings, clock, socket)
    del env["OMS_CUSTODY_KEK"]
    env["OMS_DATA_DIR"] = str(data_dir)
    return env


@contextmanager
def running(command: str, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([*OMS, command], env=env)
    try:
        yield process
    finally:
        stop(process)


def start_signer(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``oms signer`` started and answering on its socket."""
    process = subprocess.Popen([*OMS, "signer"], env=env)
    deadline = time.monotonic() + START_SECONDS
    while not answers(Path(env["OMS_SIGNER_SOCKET"]), timeout=0.5):
        if process.poll() is not None:
            pytest.fail(f"the signer exited with {process.returncode}")
        if time.monotonic() > deadline:
            stop(process)
            pytest.fail("the signer did not start")
        time.sleep(0.05)
    return process


@contextmanager
def running_signer(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = start_signer(env)
    try:
        yield process
    finally:
        stop(process)


@pytest.fixture
def sockets() -> Iterator[Path]:
    directory = socket_dir()
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def signer_path(settings: Settings, clock: OffsetClock) -> Iterator[Path]:
    """The socket of a real ``oms signer`` on the test database, one per module (it keeps no state of a test's)."""
    directory = socket_dir()
    path = directory / "signer.sock"
    with running_signer(signer_env(settings, clock, path)):
        yield path
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def signer(signer_path: Path) -> AsyncIterator[SignerClient]:
    """A client of that signer."""
    client = SignerClient(signer_path, timeout=10)
    yield client
    await client.close()


@pytest.fixture
async def holding(ctx: AppContext, api: Api) -> AsyncIterator[HoldEverything]:
    """Every transfer of the test's tenant held for one approval."""
    check = HoldEverything(api.tenant_id)
    ctx.controls.add(check)
    yield check
    ctx.controls.remove(check)
