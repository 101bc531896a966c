"""The channel to the signer: a socket only its owner may open, a peer the kernel names (SO_PEERCRED) refused
unless its user id is allowed, and a versioned protocol that refuses what it does not speak."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import pytest

from oms.chain.port import SignerUnavailable
from oms.config import Settings
from oms.context import AppContext
from oms.signer import protocol
from oms.signer.client import SignerClient
from tests.signer.conftest import running_signer, signer_env
from tests.signer.support import signer_records
from tests.support import OffsetClock


async def _ask(path: Path, message: dict) -> dict:
    reader, writer = await asyncio.open_unix_connection(str(path))
    try:
        writer.write(protocol.frame(message))
        await writer.drain()
        return await protocol.read_frame(reader)
    finally:
        writer.close()


async def test_the_socket_is_open_to_its_owner_alone(signer_path: Path) -> None:
    mode = signer_path.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


async def test_a_peer_whose_user_id_is_not_allowed_is_refused(
    settings: Settings, clock: OffsetClock, ctx: AppContext, sockets: Path
) -> None:
    path = sockets / "signer.sock"
    someone_else = str(os.getuid() + 4242)
    with running_signer(signer_env(settings, clock, path, OMS_SIGNER_ALLOWED_UIDS=someone_else)):
        answer = await _ask(path, {"v": 1, "op": "hello"})
        assert answer["error"]["code"] == "peer_not_allowed"
        client = SignerClient(path, timeout=5)
        with pytest.raises(SignerUnavailable, match="refused this process"):
            await client.sign_send("send_01jzzzzzzzzzzzzzzzzzzzzzzz", attempt=0)
        await client.close()
    refused = await signer_records(ctx, action="signer connect")
    assert refused and all(record.error_code == "peer_not_allowed" for record in refused)
    assert refused[-1].client_address == f"unix uid={os.getuid()} pid={os.getpid()}"


async def test_an_unknown_protocol_version_is_refused(signer_path: Path) -> None:
    answer = await _ask(signer_path, {"v": 2, "op": "hello"})
    assert (answer["ok"], answer["error"]["code"]) == (False, "unsupported_version")


async def test_a_request_outside_the_protocol_is_refused(signer_path: Path) -> None:
    for message in (
        {"v": 1, "op": "sign_raw", "bytes": "00"},  # no operation signs what the caller brings
        {"v": 1, "op": "sign_send", "send": "send_abc", "attempt": -1},
        {"v": 1, "op": "sign_send", "send": "not a send", "attempt": 0},
    ):
        answer = await _ask(signer_path, message)
        assert (answer["ok"], answer["error"]["code"]) == (False, "bad_request"), message


async def test_a_second_signer_on_the_same_socket_does_not_start(
    signer: SignerClient, settings: Settings, clock: OffsetClock, signer_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oms", "signer", env=signer_env(settings, clock, signer_path),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert b"another signer is running" in err
    await signer.ready()  # the first one still answers
