"""The signer's wire protocol: length-prefixed JSON over a stream (the Unix socket).

A frame is a 4-byte big-endian length, then that many bytes of a JSON object (at most ``MAX_FRAME``). Every
message carries ``v``, the protocol's version (1); a server answers a version it does not speak with
``unsupported_version``. Requests, one answer each, in order:

- ``{"v": 1, "op": "hello"}`` → ``{"v": 1, "ok": true, "result": {"version": 1}}``
- ``{"v": 1, "op": "sign_send", "send": "send_…", "attempt": 0}`` →
  ``{"v": 1, "ok": true, "result": {"txHash": "0x…", "raw": "<hex>", "nonce": 7, "feePayer": "0x…"}}``

A refusal or failure is ``{"v": 1, "ok": false, "error": {"code": "…", "message": "…"}}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from oms.chain.port import SignedTransfer

VERSION = 1
MAX_FRAME = 64 * 1024
_HEADER = struct.Struct(">I")


# A Unix socket's path is at most 107 bytes on Linux (sun_path is 108, NUL included).
MAX_SOCKET_PATH = 107


@contextlib.contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """The address to bind or connect ``path`` by: itself, or, when it is too long for a Unix socket, the same file
    reached through an open descriptor of its directory (``/proc/self/fd/N/name``, Linux), for the call's length."""
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        yield str(path)
        return
    directory = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{directory}/{path.name}"
    finally:
        os.close(directory)


class ProtocolError(Exception):
    """A frame that is not a message of this protocol (too long, not JSON, not an object)."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    v: Literal[1]


class Hello(_Message):
    op: Literal["hello"]


class SignSend(_Message):
    op: Literal["sign_send"]
    send: str = Field(min_length=1, max_length=64, pattern=r"^send_[0-9a-z]+$")
    attempt: int = Field(ge=0, le=10_000)


Request = Annotated[Hello | SignSend, Field(discriminator="op")]
_REQUEST: TypeAdapter[Hello | SignSend] = TypeAdapter(Request)


def parse_request(message: dict[str, Any]) -> Hello | SignSend:
    try:
        return _REQUEST.validate_python(message)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors())
        raise ProtocolError(problems[:300]) from None


def frame(message: dict[str, Any]) -> bytes:
    body = orjson.dumps(message)
    return _HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    """The next message; ``asyncio.IncompleteReadError`` at the end of the stream."""
    (length,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    if length > MAX_FRAME:
        raise ProtocolError(f"a frame of {length} bytes is over the {MAX_FRAME} allowed")
    try:
        message = orjson.loads(await reader.readexactly(length))
    except orjson.JSONDecodeError:
        raise ProtocolError("a frame that is not JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("a frame that is not a JSON object")
    return message


def answer(result: dict[str, Any]) -> dict[str, Any]:
    return {"v": VERSION, "ok": True, "result": result}


def failure(code: str, message: str) -> dict[str, Any]:
    return {"v": VERSION, "ok": False, "error": {"code": code, "message": message[:500]}}


def signed_out(signed: SignedTransfer) -> dict[str, Any]:
    return {"txHash": signed.tx_hash, "raw": signed.raw.hex(), "nonce": signed.nonce, "feePayer": signed.fee_payer}


def signed_in(result: dict[str, Any]) -> SignedTransfer:
    try:
        return SignedTransfer(
            tx_hash=str(result["txHash"]), raw=bytes.fromhex(str(result["raw"])), nonce=int(result["nonce"]),
            fee_payer=str(result["feePayer"]),
        )  # fmt: skip
    except (KeyError, ValueError, TypeError) as exc:
        raise ProtocolError(f"a signature the client cannot read ({type(exc).__name__})") from None
