"""A signer for a process that needs one: ``oms serve``, ``oms worker`` and the commands start ``oms signer`` as
their child when they ask the signer for signatures (``OMS_SIGNER=process``), may start one (``OMS_SIGNER_SPAWN``)
and none answers on the socket. So ``make run`` needs nothing more, while a production signer runs as its own
service (docs/custody.md, "The signer") and the others find it there."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from oms.config import ConfigurationError, Settings
from oms.signer import protocol
from oms.signer.process import PARENT_ENV

START_SECONDS = 60.0


def answers(path: Path, timeout: float = 2.0) -> bool:
    """Whether a signer answers on ``path`` (any answer of the protocol: one that refuses this process runs too)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            with protocol.socket_address(path) as address:
                sock.connect(address)
            sock.sendall(protocol.frame({"v": protocol.VERSION, "op": "hello"}))
            received = b""
            while len(received) < 4 or len(received) < 4 + int.from_bytes(received[:4], "big"):
                chunk = sock.recv(protocol.MAX_FRAME)
                if not chunk:
                    return False
                received += chunk
            return b'"v":' in received[4:]
    except OSError:
        return False


@contextlib.contextmanager
def signer_for(settings: Settings) -> Iterator[None]:
    """Within it, a signer answers on the socket: the one running, or a child started here and stopped after."""
    path = settings.signer_socket_path
    if settings.signer != "process" or not settings.signer_spawn or answers(path):
        yield
        return
    child = subprocess.Popen([sys.executable, "-m", "oms", "signer"], env={**os.environ, PARENT_ENV: str(os.getpid())})
    try:
        deadline = time.monotonic() + START_SECONDS
        while not answers(path, timeout=0.5):
            if child.poll() is not None:
                raise ConfigurationError(f"the signer (`oms signer`) exited with {child.returncode}; see its log")
            if time.monotonic() > deadline:
                raise ConfigurationError(f"the signer (`oms signer`) did not answer on {path}")
            time.sleep(0.05)
        yield
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
