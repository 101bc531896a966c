"""A real HTTP receiver on loopback, in a thread: records every request, answers as told."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        # (request) -> (status, body); 200 by default.
        self.respond: Callable[[Received], tuple[int, bytes]] = lambda _: (200, b"ok")
        # Cleared: handlers wait (the receiver "hangs") until it is set again.
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                item = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                with receiver._lock:
                    receiver.requests.append(item)
                receiver.release.wait(30)
                status, body = receiver.respond(item)
                try:
                    self.send_response(status)
                    self.send_header("content-type", "text/plain")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # the default backlog of 5 resets connections under load

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    async def wait_for(self, count: int, *, path: str | None = None, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                got = [r for r in self.requests if path is None or r.path == path]
            if len(got) >= count or time.monotonic() > deadline:
                return got
            await asyncio.sleep(0.02)
