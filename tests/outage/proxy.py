"""A real TCP proxy on loopback, between the server and PostgreSQL, that can fail the way networks and
databases do: pass bytes through, refuse connections (nothing listens on its port), or freeze (it accepts
and keeps every byte, forwarding nothing, until thawed, as a stalled network or a stopped database host
does). Held bytes are delivered on thaw even when their sender has given up meanwhile: a statement or a
COMMIT held in the network reaches the database late, which is what a server must be safe against."""

from __future__ import annotations

import asyncio
import contextlib


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._freeze_on: bytes | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def refuse(self) -> None:
        """Stop listening (connections are refused) and cut every open one, as a database that went down."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()

    async def restore(self) -> None:
        """Listen again on the same port and let bytes flow."""
        self.thaw()
        if self._server is None:
            await self.start()

    def freeze(self) -> None:
        """From now on, hold every byte in both directions."""
        self._flowing.clear()

    def freeze_on(self, marker: bytes) -> None:
        """Freeze when the server sends a chunk holding ``marker`` (e.g. its COMMIT), holding that chunk too."""
        self._freeze_on = marker

    def thaw(self) -> None:
        self._freeze_on = None
        self._flowing.set()

    async def close(self) -> None:
        await self.refuse()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, upstream_writer}
        pumps = [
            asyncio.create_task(self._pump(client_reader, upstream_writer, watch=True)),
            asyncio.create_task(self._pump(upstream_reader, client_writer, watch=False)),
        ]
        self._tasks.update(pumps)
        try:
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._tasks.difference_update(pumps)
            self._writers -= {client_writer, upstream_writer}

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, watch: bool) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if watch and self._freeze_on is not None and self._freeze_on in data:
                    self._flowing.clear()
                await self._flowing.wait()
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
