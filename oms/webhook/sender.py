"""The HTTP delivery port: POST one signed payload, report what happened. Never raises.

``HttpSender`` is the real adapter (httpx): it re-checks the URL rules against the addresses the host
resolves to *now*, connects to the checked address (TLS still verifies the certificate for the host
name), follows no redirect, and reads at most ``EXCERPT_BYTES`` of the answer.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

import httpx

from oms.webhook.ssrf import Target, UnsafeUrl, UrlGuard

EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    async def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult: ...

    async def close(self) -> None: ...


class HttpSender:
    def __init__(self, guard: UrlGuard, *, timeout: float, max_connections: int) -> None:
        self._guard = guard
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,  # never through a proxy from the environment
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            async with asyncio.timeout(self._timeout):
                target = await self._guard.check(url)
                pinned = httpx.URL(url).copy_with(host=target.address)
                request = self._client.build_request(
                    "POST",
                    pinned,
                    content=body,
                    headers={**headers, "host": _host_header(target)},
                    extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
                )
                response = await self._client.send(request, stream=True)
                try:
                    excerpt = await _read_excerpt(response)
                finally:
                    await response.aclose()
        except UnsafeUrl as exc:
            return SendResult(None, elapsed(), None, f"blocked: {exc}")
        except TimeoutError:
            return SendResult(None, elapsed(), None, f"timeout: no answer within {self._timeout:g} s")
        except (httpx.HTTPError, OSError) as exc:
            return SendResult(None, elapsed(), None, f"{type(exc).__name__}: {exc}"[:500])
        return SendResult(response.status_code, elapsed(), excerpt, None)

    async def close(self) -> None:
        await self._client.aclose()


def _host_header(target: Target) -> str:
    """The URL's own host (bracketed if IPv6), with its port unless it is the scheme's default."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    default_port = 443 if target.scheme == "https" else 80
    return host if target.port == default_port else f"{host}:{target.port}"


async def _read_excerpt(response: httpx.Response) -> str:
    chunks = bytearray()
    async for chunk in response.aiter_bytes():
        chunks.extend(chunk)
        if len(chunks) >= EXCERPT_BYTES:
            break
    return bytes(chunks[:EXCERPT_BYTES]).decode("utf-8", errors="replace")
