"""The API server process (`oms serve`): granian's workers on an address no other server shares, and workers
that stop once their main process is gone (docs/decisions.md, "The server process")."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("oms.server")

# The main process's pid, for its workers: they stop once their parent is no longer this process.
MAIN_PID_ENV = "_OMS_SERVER_MAIN_PID"
WATCH_INTERVAL_SECONDS = 0.5
# How long a worker may take to stop gracefully (in-flight requests end within the database's statement
# timeout) before it is killed: after its main process vanished, and when the main process stops it.
STOP_GRACE_SECONDS = 15


class AddressUnavailable(Exception):
    """The server cannot listen where it was told to; the message is the one line `oms serve` prints."""


@contextlib.contextmanager
def reserved_address(host: str, port: int) -> Iterator[None]:
    """Refuse an address that any socket holds, and keep it from any other server while the block runs.

    granian's workers each bind their own listening socket with SO_REUSEPORT, and Linux lets any later socket
    of the same user that sets it too join them and take a share of the connections: a second server would
    start and split the traffic. So first a probe without SO_REUSEPORT must bind: it fails if anything
    listens there, another server's workers included (SO_REUSEADDR lets it pass the previous run's TIME_WAIT
    connections). Then a socket with SO_REUSEPORT but without SO_REUSEADDR stays bound, never listening, for
    the server's life: our own workers can join it, while another server's probe (or any socket without
    SO_REUSEPORT) is refused even before our workers listen.

    Between a server's probe and its holder, a second server's probe can pass too (two servers started at once):
    so each first claims the port with a name in Linux's abstract socket namespace, which only one socket can
    hold at a time and which the kernel frees when the process ends, however it ends."""
    address = _ip_address(host)
    _check_port(port)
    claim = _claimed(address, port)
    try:
        probe = _bound(address, port, reuse_port=False)
        probe.close()
        holder = _bound(address, port, reuse_port=True)
    except BaseException:
        claim.close()
        raise
    try:
        yield
    finally:
        holder.close()
        claim.close()


def _claimed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> socket.socket:
    """This server's claim on the address and port, for its life."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(f"\0oms-serve-{address}-{port}")
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            shown = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
            raise AddressUnavailable(
                f"cannot listen on {shown}: the address is already in use (another server?); "
                "choose another port with --port or OMS_PORT"
            ) from None
        raise
    return sock


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        raise AddressUnavailable(
            f"cannot listen on {host!r}: --host / OMS_HOST must be an IP address (127.0.0.1, 0.0.0.0, ::1, ::)"
        ) from None


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise AddressUnavailable(f"cannot listen on port {port}: --port / OMS_PORT must be from 1 to 65535")


def _bound(address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int, *, reuse_port: bool) -> socket.socket:
    shown = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # As granian binds: `::` takes IPv4 too (dual stack), any other IPv6 address only itself.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if address.is_unspecified else 1)
        sock.bind((str(address), port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressUnavailable(
                f"cannot listen on {shown}: the address is already in use (another server?); "
                "choose another port with --port or OMS_PORT"
            ) from None
        raise AddressUnavailable(
            f"cannot listen on {shown}: {(exc.strerror or str(exc)).lower()}; "
            "choose another address with --host or OMS_HOST, or another port with --port or OMS_PORT"
        ) from None
    return sock


# granian writes its own lines (its start, its workers, the traceback of an exception that reached it) to
# stdout in its own format; they go to our handler instead: JSON lines, through the same redaction as ours.
GRANIAN_LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"_granian": {"propagate": True}, "granian.access": {"propagate": True}},
}


def serve(host: str, port: int, workers: int) -> None:
    """Serve the API with granian until it stops, inside ``reserved_address(host, port)``."""
    from granian.constants import Interfaces, Loops, RuntimeModes
    from granian.server import Server

    os.environ[MAIN_PID_ENV] = str(os.getpid())
    # Granian: its HTTP layer (Rust) costs a fraction of a Python one per request, and with one runtime
    # thread per worker its tail latency under full load stayed within 20 ms where uvicorn's did not
    # (BENCHMARKS.md). Our middleware writes the access log; the server logs only its own events.
    Server(
        "oms.server:worker_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        runtime_mode=RuntimeModes.st,
        loop=Loops.uvloop,
        websockets=False,
        log_access=False,
        log_dictconfig=GRANIAN_LOGGING,
        workers_kill_timeout=STOP_GRACE_SECONDS,
    ).serve()


def worker_app() -> Any:
    """The application of one granian worker (its factory target), watched over by a thread that stops the
    worker once its main process is gone: killed with -9, the main process cannot stop its workers, and they
    would go on serving as orphans."""
    main_pid = os.environ.pop(MAIN_PID_ENV, None)
    if main_pid is not None:
        threading.Thread(target=_stop_without, args=(int(main_pid),), name="oms-main-watch", daemon=True).start()
    from oms.asgi import app

    return app


def _stop_without(main_pid: int) -> None:
    # The parent pid changes (to init or a subreaper) when the parent exits; it is read again each time, so a
    # main process that died before this thread started is noticed at once. Portable, unlike PR_SET_PDEATHSIG.
    while os.getppid() == main_pid:
        time.sleep(WATCH_INTERVAL_SECONDS)
    log.warning("the server's main process is gone; this worker stops", extra={"mainPid": main_pid})
    os.kill(os.getpid(), signal.SIGTERM)  # granian's graceful stop: no new connections, in-flight ones finish
    time.sleep(STOP_GRACE_SECONDS)
    os._exit(1)
