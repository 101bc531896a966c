"""Asking ``oms signer`` over its Unix socket (``OMS_SIGNER=process``, the default): the ``SendSigner`` the worker
uses when this process holds no key. One connection, one request at a time; a connection found dead is replaced
once. Asking again is always safe: the worker records at most one signature per attempt."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path
from typing import Any

from oms.chain.port import ChainError, ChainUnavailable, SignedTransfer, SignerUnavailable, SigningRefused
from oms.config import Settings
from oms.signer import protocol, tls
from oms.signer.protocol import ProtocolError

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
# Refusals a worker may see fixed (a review passes, a nonce gets reserved); anything else is not the send's fault.
_FAILURES = {"unavailable": ChainUnavailable, "cannot_sign": ChainError, "internal_error": ChainError}


class SignerClient:
    """``path``: the signer's Unix socket; or, for a signer on another host, ``tls`` (host, port, context, name)."""

    def __init__(self, path: Path, *, timeout: float, tls: tuple[str, int, ssl.SSLContext, str] | None = None) -> None:
        self._path = path
        self._tls = tls
        self._where = f"{tls[0]}:{tls[1]}" if tls else str(path)
        self._timeout = timeout
        self._lock = asyncio.Lock()
        self._connection: _Connection | None = None

    async def sign_send(self, send_id: str, *, attempt: int) -> SignedTransfer:
        answer = await self._call({"v": protocol.VERSION, "op": "sign_send", "send": send_id, "attempt": attempt})
        try:
            return protocol.signed_in(answer)
        except ProtocolError as exc:
            raise SignerUnavailable(f"the signer answered what this client cannot read: {exc}") from exc

    async def ready(self, wait: float | None = None) -> None:
        """Wait (``wait`` seconds, default the timeout) until the signer answers."""
        deadline = time.monotonic() + (self._timeout if wait is None else wait)
        while True:
            try:
                await self._call({"v": protocol.VERSION, "op": "hello"})
                return
            except SignerUnavailable:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.1)

    async def close(self) -> None:
        async with self._lock:
            self._drop()

    async def _call(self, message: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            reused = self._connection is not None
            try:
                answer = await asyncio.wait_for(self._exchange(message), self._timeout)
            except (OSError, EOFError, TimeoutError, ProtocolError) as exc:
                self._drop()
                if not reused or isinstance(exc, TimeoutError):
                    raise SignerUnavailable(f"the signer ({self._where}) did not answer: {_reason(exc)}") from exc
                try:  # a connection the signer closed (it restarted): once more, on a new one
                    answer = await asyncio.wait_for(self._exchange(message), self._timeout)
                except (OSError, EOFError, TimeoutError, ProtocolError) as again:
                    self._drop()
                    raise SignerUnavailable(f"the signer ({self._where}) did not answer: {_reason(again)}") from again
        if answer.get("ok") is True and isinstance(answer.get("result"), dict):
            return dict(answer["result"])
        found = answer.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        code, text = str(error.get("code", "bad_answer")), str(error.get("message", "the signer gave no reason"))
        if code == "peer_not_allowed":
            raise SignerUnavailable(f"the signer refused this process: {text}")
        failure = _FAILURES.get(code)
        if failure is not None:
            raise failure(f"the signer could not sign: {text}")
        raise SigningRefused(code, text)

    async def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        if self._connection is None and self._tls is not None:
            host, port, context, name = self._tls
            self._connection = await asyncio.open_connection(host, port, ssl=context, server_hostname=name)
        if self._connection is None:
            with protocol.socket_address(self._path) as address:
                self._connection = await asyncio.open_unix_connection(address)
        reader, writer = self._connection
        writer.write(protocol.frame(message))
        await writer.drain()
        return await protocol.read_frame(reader)

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection[1].close()
            self._connection = None


def client_for(settings: Settings) -> SignerClient:
    """The client of the signer these settings name: over mutual TLS when ``signer_tls_connect`` is set, else the
    Unix socket."""
    if not settings.signer_tls_connect:
        return SignerClient(settings.signer_socket_path, timeout=settings.signer_timeout_seconds)
    host, port = tls.address(settings.signer_tls_connect, "OMS_SIGNER_TLS_CONNECT")
    secured = (host, port, tls.client_context(settings), settings.signer_tls_server_name or host)
    return SignerClient(settings.signer_socket_path, timeout=settings.signer_timeout_seconds, tls=secured)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.IncompleteReadError):
        return "the connection closed"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
