"""Where webhooks may point: the URL guard (with an injected resolver), the delivery-time re-check
that defeats DNS rebinding, and the live-mode rules through the API."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from oms.app import create_app
from oms.config import Mode, Settings
from oms.context import AppContext
from oms.webhook.sender import HttpSender
from oms.webhook.ssrf import UnsafeUrl, UrlGuard
from tests.support import Api, assert_error, create_key, exchange
from tests.webhook.receiver import Receiver

PUBLIC = "93.184.215.14"


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise OSError("no such host")
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


LIVE = UrlGuard(
    Mode.live,
    resolver(
        {
            "hooks.example.com": [PUBLIC],
            "dual.example.com": [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
            "internal.example.com": ["10.0.0.7"],
            "mixed.example.com": [PUBLIC, "192.168.1.10"],
            "loop.example.com": ["127.0.0.1"],
            "meta.example.com": ["169.254.169.254"],
            "mapped.example.com": ["::ffff:127.0.0.1"],
            "v6loop.example.com": ["::1"],
            "ula.example.com": ["fd12:3456::1"],
            "cgnat.example.com": ["100.64.0.1"],
            "multicast.example.com": ["239.1.2.3"],
            "zero.example.com": ["0.0.0.0"],
        }
    ),
)


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com/in", "https://dual.example.com:8443/a?b=c", f"https://{PUBLIC}/x"]
)
async def test_live_accepts_https_to_public_addresses(url: str) -> None:
    target = await LIVE.check(url)
    assert target.address == PUBLIC and target.scheme == "https"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/in", "https"),
        ("https://internal.example.com/", "private"),
        ("https://mixed.example.com/", "private"),  # one bad answer is enough
        ("https://loop.example.com/", "loopback"),
        ("https://meta.example.com/", "link-local"),
        ("https://mapped.example.com/", "loopback"),
        ("https://v6loop.example.com/", "loopback"),
        ("https://ula.example.com/", "private"),
        ("https://cgnat.example.com/", "reserved"),
        ("https://multicast.example.com/", "multicast"),
        ("https://zero.example.com/", "unspecified"),
        ("https://127.0.0.1/", "loopback"),
        ("https://[::1]/", "loopback"),
        ("https://10.1.2.3/", "private"),
        ("https://172.16.0.1/", "private"),
        ("https://192.168.0.1/", "private"),
        ("https://169.254.169.254/", "link-local"),
        ("https://[fe80::1]/", "link-local"),
        ("https://240.0.0.1/", "reserved"),
        ("https://nowhere.example.com/", "does not resolve"),
        ("https://user:pw@hooks.example.com/", "credentials"),
    ],
)
async def test_live_refuses(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrl, match=reason):
        await LIVE.check(url)


async def test_sandbox_allows_loopback_and_private_networks_but_not_metadata() -> None:
    sandbox = UrlGuard(Mode.sandbox, resolver({"receiver": ["172.18.0.5"], "meta": ["fd00:ec2::254"]}))
    assert (await sandbox.check("http://127.0.0.1:8000/x")).address == "127.0.0.1"
    assert (await sandbox.check("http://receiver:8000/x")).address == "172.18.0.5"
    assert (await UrlGuard(Mode.sandbox).check("http://localhost:9/x")).address in {"127.0.0.1", "::1"}
    for url in ("http://meta/", "http://169.254.169.254/", "http://224.0.0.1/"):
        with pytest.raises(UnsafeUrl):
            await sandbox.check(url)


async def test_delivery_rechecks_the_address_against_dns_rebinding(receiver: Receiver) -> None:
    """The name was public when the webhook was created; by delivery time it points at loopback."""
    answers = {"rebind.example.com": [PUBLIC]}
    guard = UrlGuard(Mode.live, resolver(answers))
    await guard.check("https://rebind.example.com/in")  # what create/update saw
    answers["rebind.example.com"] = ["127.0.0.1"]
    sender = HttpSender(guard, timeout=2, max_connections=2)
    try:
        result = await sender.send("https://rebind.example.com/in", {}, b"{}")
    finally:
        await sender.close()
    assert result.status_code is None and result.error is not None
    assert result.error.startswith("blocked") and "loopback" in result.error
    assert receiver.requests == []


async def test_delivery_connects_to_the_address_it_checked(receiver: Receiver) -> None:
    """The sender connects to the resolved, checked address (the name is not looked up again)."""
    port = receiver.url.rsplit(":", 1)[1]
    sender = HttpSender(UrlGuard(Mode.sandbox, resolver({"hooks.test": ["127.0.0.1"]})), timeout=2, max_connections=2)
    try:
        result = await sender.send(f"http://hooks.test:{port}/in?x=1", {"content-type": "application/json"}, b"{}")
    finally:
        await sender.close()
    assert result.status_code == 200, result
    [request] = receiver.requests
    assert request.path == "/in?x=1" and request.headers["host"] == f"hooks.test:{port}"


# --- live mode through the API ------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def live_api(settings: Settings) -> AsyncIterator[Api]:
    live = settings.model_copy(update={"mode": Mode.live, "secret_key": settings.secret_key or secrets.token_hex(32)})
    context = AppContext.build(live)
    context.webhooks.guard = UrlGuard(
        Mode.live, resolver({"hooks.example.com": [PUBLIC], "lan.example.com": ["10.0.0.2"]})
    )
    application = create_app(live, ctx=context)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as http:
            issued = await create_key(context, mode=Mode.live)
            yield Api(http, await exchange(http, issued), issued)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/in",
        "https://127.0.0.1/in",
        "https://localhost/in",
        "http://127.0.0.1:8000/in",
        "https://10.0.0.1/in",
        "https://lan.example.com/in",
        "https://169.254.169.254/latest",
        "https://unknown.example.com/in",
    ],
)
async def test_live_api_refuses_unsafe_urls(live_api: Api, url: str) -> None:
    assert_error(await live_api.post("/webhooks", {"url": url}), 400, "url_not_allowed", "url")


async def test_live_api_accepts_public_https_and_checks_updates(live_api: Api) -> None:
    hook = (await live_api.post("/webhooks", {"url": "https://hooks.example.com/in"})).json()
    assert hook["url"] == "https://hooks.example.com/in"
    response = await live_api.patch(f"/webhooks/{hook['id']}", {"url": "https://lan.example.com/in"})
    assert_error(response, 400, "url_not_allowed", "url")
    assert (await live_api.get(f"/webhooks/{hook['id']}")).json()["url"] == "https://hooks.example.com/in"
