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
import threading
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
    remote = bool(settings.signer_tls_connect)  # a signer on another host is not started here
    if settings.signer != "process" or not settings.signer_spawn or remote or answers(path):
        yield
        return
    child = subprocess.Popen(
        [sys.executable, "-m", "oms", "signer"], env={**os.environ, PARENT_ENV: str(os.getpid())},
        stderr=subprocess.PIPE,
    )  # fmt: skip
    relay = _Relay(child)
    relay.start()
    try:
        deadline = time.monotonic() + START_SECONDS
        while not answers(path, timeout=0.5):
            if child.poll() is not None:
                relay.join(timeout=5)
                raise ConfigurationError(relay.reason() or f"the signer (`oms signer`) exited with {child.returncode}")
            if time.monotonic() > deadline:
                raise ConfigurationError(f"the signer (`oms signer`) did not answer on {path}")
            time.sleep(0.05)
        relay.go_live()
        yield
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


class _Relay(threading.Thread):
    """The child's stderr: held until it answers (a signer that cannot start says why in one line, which becomes
    the parent's one line), then passed on to this process's stderr as it comes."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        super().__init__(daemon=True)
        self._child = child
        self._held: list[bytes] = []
        self._live = False
        self._lock = threading.Lock()

    def run(self) -> None:
        assert self._child.stderr is not None
        for line in self._child.stderr:
            with self._lock:
                if self._live:
                    _write(line)
                else:
                    self._held.append(line)

    def go_live(self) -> None:
        with self._lock:
            if not self._live:
                self._live = True
                for line in self._held:
                    _write(line)

    def reason(self) -> str | None:
        """The child's own one-line error (``oms: …``), without its prefix."""
        with self._lock:
            lines = [line.decode(errors="replace").strip() for line in self._held if line.strip()]
        errors = [line.removeprefix("oms: ") for line in lines if line.startswith("oms: ")]
        return errors[-1] if errors else None


def _write(line: bytes) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.buffer.write(line)
        sys.stderr.buffer.flush()
