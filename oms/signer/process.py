"""``oms signer``: the process that opens the custody seed and signs, and nothing else.

It builds what signing needs (the database, custody with the key-encryption key, the chain adapters that build
each transaction), creates the seed on the first start of an install, and serves the socket. One signer per
socket: a lock file beside it (``flock``) keeps a second one from starting. Started as the child of another
process (``oms.signer.spawn``), it stops when that process is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO

from oms.audit.service import AuditLog
from oms.chain.registry import build_chains
from oms.config import Settings
from oms.custody.wiring import build_custody
from oms.db import Database
from oms.kit.time import SystemClock
from oms.signer import tls
from oms.signer.server import SignerServer
from oms.signer.service import SendSigning

log = logging.getLogger("oms.signer")
PARENT_ENV = "_OMS_SIGNER_PARENT_PID"
_PARENT_POLL_SECONDS = 0.5
POOL = 4  # the most database connections the signer keeps, and the most it opens beyond them


class SignerRunning(RuntimeError):
    """Another signer holds this socket's lock."""


def lock_path(socket_path: Path) -> Path:
    return socket_path.with_name(socket_path.name + ".lock")


@contextlib.contextmanager
def signer_lock(socket_path: Path) -> Iterator[IO[str]]:
    """The socket's lock, held while the signer runs (the kernel releases it if the signer dies)."""
    path = lock_path(socket_path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = open(path, "a")  # noqa: SIM115 - held open for the process's life
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SignerRunning(f"another signer is running on {socket_path}") from None
        yield handle
    finally:
        handle.close()


def run(settings: Settings) -> int:
    """``oms signer``: serve until SIGTERM or SIGINT (or until the parent that started it is gone)."""
    path = settings.signer_socket_path
    with signer_lock(path):
        asyncio.run(_serve(settings, path))
    return 0


async def _serve(settings: Settings, path: Path) -> None:
    # It serves no request (no hot pool), and each of its clients holds one connection at a time: a small pool.
    pool = {"db_pool_size": min(settings.db_pool_size, POOL), "db_max_overflow": min(settings.db_max_overflow, POOL)}
    settings = settings.model_copy(update={"hot_reads": False, **pool})
    clock = SystemClock(timedelta(seconds=settings.sandbox_clock_offset_seconds))
    db = Database(settings)
    custody = build_custody(settings, clock)  # the configured key or a PKCS#11 token
    chains = build_chains(settings, db=db, custody=custody, clock=clock)
    server: SignerServer | None = None
    try:
        async with db.session_scope() as session:
            await custody.ensure_seed(session)  # the first start of an install creates the seed, here only
        await chains.start()
        signing = SendSigning(
            db=db, chains=chains, custody=custody, clock=clock, audit_log=AuditLog(clock), identity="oms signer"
        )
        server = SignerServer(signing, path=path, allowed_uids=settings.signer_uids())
        await server.start()
        log.info("signer listening", extra={"socket": str(path), "uids": sorted(settings.signer_uids())})
        if settings.signer_tls_listen:
            host, port = tls.address(settings.signer_tls_listen, "OMS_SIGNER_TLS_LISTEN")
            await server.start_tls(host, port, tls.server_context(settings), tls.allowed_names(settings))
            log.info("signer listening with mutual TLS", extra={"address": settings.signer_tls_listen})
        await _until_stopped()
    finally:
        if server is not None:
            await server.close()
        await chains.close()
        await db.dispose()


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    parent = os.environ.get(PARENT_ENV)
    if parent is None:
        await stop.wait()
        return
    while not stop.is_set():  # a child of another process: it ends with it, even one killed with -9
        if os.getppid() != int(parent):
            log.info("signer: its parent process is gone; stopping")
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _PARENT_POLL_SECONDS)
