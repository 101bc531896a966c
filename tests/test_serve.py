"""`oms serve` as an operator runs it: a real server process on a loopback port. It refuses, in one line, an
address it cannot have to itself (another server or any socket holds it), and its workers do not outlive
their main process."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from oms.config import Settings
from oms.context import AppContext
from tests.support import POSTGRES_URL, create_key, free_port, process_env, stop

OMS = [sys.executable, "-m", "oms"]
STARTUP_SECONDS = 90  # generous deadlines on a busy machine; none of them is what a test asserts


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    """The environment of a server on the test database and a free loopback port."""
    return {**process_env(settings), "OMS_PORT": str(free_port()), "OMS_LOG_JSON": "false"}


@contextmanager
def listening_socket(host: str, port: int) -> Iterator[socket.socket]:
    """What any other program holding the port looks like: a plain socket, no SO_REUSEPORT."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, port))
        sock.listen()
        yield sock


@contextmanager
def running_server(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`oms serve` started and answering /healthz; stopped (and, failing that, killed) afterwards."""
    process = subprocess.Popen([*OMS, "serve", *args], env=env)
    try:
        wait_until_healthy(process, int(env["OMS_PORT"]))
        yield process
    finally:
        stop(process)


def wait_until_healthy(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("the server did not start")


def refusal(env: dict[str, str], *args: str) -> tuple[int, list[str]]:
    """Run `oms serve` expecting it to refuse: its exit status and its stderr's lines."""
    process = subprocess.Popen([*OMS, "serve", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _, stderr = process.communicate(timeout=STARTUP_SECONDS)
    except subprocess.TimeoutExpired:
        stop(process)
        pytest.fail("the second server started instead of refusing")
    return process.returncode, stderr.decode().splitlines()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_a_port_held_by_another_program_is_one_line_and_a_failure(env: dict[str, str], host: str) -> None:
    port = int(env["OMS_PORT"])
    with listening_socket(host, port):
        status, lines = refusal(env, "--host", host)
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    assert status == 1
    assert lines == [
        f"oms: cannot listen on {shown}: the address is already in use (another server?); "
        "choose another port with --port or OMS_PORT"
    ]


def test_a_dual_stack_host_is_refused_when_its_ipv4_side_is_held(env: dict[str, str]) -> None:
    """`::` listens on IPv4 too, so a program on 127.0.0.1 holds part of it."""
    with listening_socket("127.0.0.1", int(env["OMS_PORT"])):
        status, lines = refusal(env, "--host", "::")
    assert status == 1 and len(lines) == 1 and "already in use" in lines[0]


def test_a_host_name_is_refused_in_one_line(env: dict[str, str]) -> None:
    status, lines = refusal({**env, "OMS_HOST": "localhost"})
    assert status == 1
    assert lines == [
        "oms: cannot listen on 'localhost': --host / OMS_HOST must be an IP address (127.0.0.1, 0.0.0.0, ::1, ::)"
    ]


def test_a_port_out_of_range_is_refused_in_one_line(env: dict[str, str]) -> None:
    status, lines = refusal(env, "--port", "0")
    assert status == 1
    assert lines == ["oms: cannot listen on port 0: --port / OMS_PORT must be from 1 to 65535"]


async def test_a_second_server_on_a_port_in_use_refuses_and_the_first_keeps_every_request(
    env: dict[str, str], ctx: AppContext, tmp_path: Path
) -> None:
    """The second server has its own data directory and keys: had it joined the port, the requests it took
    would not know the first server's token (401)."""
    port = int(env["OMS_PORT"])
    issued = await create_key(ctx)
    other = {**env, "OMS_DATA_DIR": str(tmp_path / "other"), "OMS_SECRET_KEY": secrets.token_hex(32)}
    with running_server(env) as first:
        base = f"http://127.0.0.1:{port}/v0.9"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            answer = await http.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})
        token = answer.json()["accessToken"]

        status, lines = refusal(other)
        assert status == 1
        assert lines == [
            f"oms: cannot listen on 127.0.0.1:{port}: the address is already in use (another server?); "
            "choose another port with --port or OMS_PORT"
        ]
        # A new connection each time: the kernel spreads connections, not requests, over a shared port.
        for _ in range(30):
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                assert (await http.get("/customers", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        assert first.poll() is None


def test_of_two_servers_started_at_once_exactly_one_serves(env: dict[str, str], tmp_path: Path) -> None:
    other = {**env, "OMS_DATA_DIR": str(tmp_path / "other")}
    started = [subprocess.Popen([*OMS, "serve"], env=e, stderr=subprocess.PIPE) for e in (env, other)]
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and all(process.poll() is None for process in started):
            time.sleep(0.2)
        refused = [process for process in started if process.poll() is not None]
        assert len(refused) == 1, "both servers are running"
        assert refused[0].returncode == 1
        assert refused[0].stderr is not None and b"already in use" in refused[0].stderr.read()
        serving = next(process for process in started if process.poll() is None)
        wait_until_healthy(serving, int(env["OMS_PORT"]))
    finally:
        for process in started:
            stop(process)


def test_workers_stop_when_the_main_process_is_killed(env: dict[str, str]) -> None:
    workers = 2 if POSTGRES_URL else 1  # several workers need PostgreSQL
    port = int(env["OMS_PORT"])
    with running_server(env, "--workers", str(workers)) as main:
        children = children_of(main.pid)
        assert len(children) == workers
        os.kill(main.pid, signal.SIGKILL)
        main.wait()
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and any(alive(pid) for pid in children):
            time.sleep(0.2)
        try:
            assert not any(alive(pid) for pid in children), "the workers outlived their main process"
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            with listening_socket("127.0.0.1", port):
                pass  # the port is free again
        finally:
            for pid in children:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _stat(int(entry.name))[1:2] == [str(pid)]:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running, not merely a zombie left for whichever process reaps orphans."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


def _stat(pid: int) -> list[str]:
    """The state and parent pid from /proc/PID/stat (after the command name, which may hold spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text.rsplit(")", 1)[1].split()[:2]


def test_the_server_s_own_lines_are_json_lines_through_the_redaction(env: dict[str, str]) -> None:
    port = int(env["OMS_PORT"])
    process = subprocess.Popen(
        [*OMS, "serve"],
        env={**env, "OMS_LOG_JSON": "true", "OMS_LOG_LEVEL": "INFO"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_healthy(process, port)
    finally:
        stop(process)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read() == b""
    lines = [json.loads(line) for line in process.stderr.read().splitlines() if line.startswith(b"{")]
    assert {"level": "info", "logger": "_granian", "message": f"Listening at: http://127.0.0.1:{port}"} in [
        {key: line[key] for key in ("level", "logger", "message")} for line in lines
    ]
