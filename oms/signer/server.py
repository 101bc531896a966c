"""The signer's side of the socket: a Unix socket only its owner can open (mode 0600, in a directory of its own
kind), and a peer admitted only if the kernel says (``SO_PEERCRED``) that its user id is allowed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
import struct
from pathlib import Path
from typing import Any

from oms.chain.port import ChainError, ChainUnavailable, SigningRefused
from oms.custody.service import CustodyError
from oms.signer import protocol, tls
from oms.signer.protocol import Hello, ProtocolError
from oms.signer.service import CONNECT, SendSigning

log = logging.getLogger(__name__)
_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end, as the kernel recorded them when it connected."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDENTIALS.size)
    pid, uid, gid = _CREDENTIALS.unpack(raw)
    return pid, uid, gid


class SignerServer:
    def __init__(self, signing: SendSigning, *, path: Path, allowed_uids: frozenset[int]) -> None:
        self._signing = signing
        self._path = path
        self._allowed = allowed_uids
        self._server: asyncio.Server | None = None
        self._tls_server: asyncio.Server | None = None
        self._names: frozenset[str] = frozenset()
        self._connections: set[asyncio.StreamWriter] = set()

    @property
    def path(self) -> Path:
        return self._path

    async def start(self) -> None:
        """Listen; a socket file left by a signer that died is replaced (the caller holds the signer's lock)."""
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()
        # Others than the owner may connect only if the owner admits other uids (then through the group).
        mode = 0o600 if self._allowed <= {os.getuid()} else 0o660
        previous = os.umask(0o777 & ~mode)
        try:
            with protocol.socket_address(self._path) as address:
                self._server = await asyncio.start_unix_server(self._connection, path=address)
        finally:
            os.umask(previous)
        os.chmod(self._path, mode)

    async def close(self) -> None:
        if self._tls_server is not None:
            self._tls_server.close()
            self._tls_server = None
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):  # its reader sees the end of the stream, and the handler ends
                writer.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()

    async def start_tls(self, host: str, port: int, context: ssl.SSLContext, names: frozenset[str]) -> None:
        """Listen on ``host:port`` too, with mutual TLS (``oms.signer.tls``); ``names``: the client certificates'
        common names answered (empty: any certificate the CA signed)."""
        self._names = names
        self._tls_server = await asyncio.start_server(self._tls_connection, host, port, ssl=context)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pid, uid, _ = peer_credentials(writer.get_extra_info("socket"))
        await self._serve(reader, writer, f"unix uid={uid} pid={pid}", uid in self._allowed, f"uid {uid}")

    async def _tls_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        name = tls.common_name(writer.get_extra_info("peercert"))
        host = (writer.get_extra_info("peername") or ("?",))[0]
        allowed = not self._names or name in self._names
        await self._serve(reader, writer, f"tls cn={name} {host}", allowed, f"certificate {name!r}")

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str, allowed: bool, who: str
    ) -> None:
        self._connections.add(writer)
        try:
            if not allowed:
                log.warning("signer: a peer that is not allowed was refused", extra={"peer": peer})
                await self._signing.record(CONNECT, object_id=None, tenant_id=None, peer=peer,
                                           error_code="peer_not_allowed")  # fmt: skip
                writer.write(protocol.frame(protocol.failure("peer_not_allowed", f"{who} may not use the signer")))
                await writer.drain()
                return
            await self._requests(reader, writer, peer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the peer went away
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._connections.discard(writer)

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str) -> None:
        while True:
            try:
                message = await protocol.read_frame(reader)
            except ProtocolError as exc:
                writer.write(protocol.frame(protocol.failure("bad_request", str(exc))))
                await writer.drain()
                return  # the stream may be out of step: end it
            writer.write(protocol.frame(await self._answer(message, peer)))
            await writer.drain()

    async def _answer(self, message: dict[str, Any], peer: str) -> dict[str, Any]:
        if message.get("v") != protocol.VERSION:
            return protocol.failure("unsupported_version", f"this signer speaks version {protocol.VERSION}")
        try:
            request = protocol.parse_request(message)
        except ProtocolError as exc:
            return protocol.failure("bad_request", str(exc))
        if isinstance(request, Hello):
            return protocol.answer({"version": protocol.VERSION})
        try:
            signed = await self._signing.sign(request.send, request.attempt, peer=peer)
        except SigningRefused as exc:
            return protocol.failure(exc.code, str(exc))
        except ChainUnavailable as exc:
            return protocol.failure("unavailable", str(exc))
        except (ChainError, CustodyError) as exc:
            return protocol.failure("cannot_sign", str(exc))
        except Exception:
            log.exception("signer: signing failed", extra={"send": request.send})
            return protocol.failure("internal_error", "the signer failed; see its log")
        return protocol.answer(protocol.signed_out(signed))
