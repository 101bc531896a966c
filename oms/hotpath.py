"""The hot path: the API's most frequent read served without the framework's per-request machinery.

``GET /wallets/{id}/balance`` is what clients poll. On PostgreSQL this pure ASGI layer answers it with
one statement on the driver's own pool (the key's revocation check joined in) and the same rendering
as the regular endpoint. It serves only the well-formed, authorised, found case: anything else — no or
a bad token, a revoked key, an unknown wallet, an unexpected query parameter, SQLite — passes through
untouched to the regular endpoint, which gives the answer, errors included. So there is one source of
truth for every error, and the fast lane can only ever agree with it (tests/wallet/test_hot_path.py).
A database error here passes the request on too, except an outage (the database unreachable or out of
time, ``oms.outage``), answered 503 here in the envelope rather than waited for a second time.

Measured in BENCHMARKS.md: the framework and the ORM cost more per balance read than the database.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import asyncpg
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from oms import API_PREFIX
from oms.auth.tokens import InvalidToken, TokenClaims, TokenSigner, bearer_token
from oms.db import Database, HotPoolClosed
from oms.errors import OMSError, ServiceUnavailable
from oms.kit.ids import is_valid_id
from oms.kit.logging import request_id_var
from oms.outage import unavailable
from oms.wallet import repository as wallets
from oms.wallet.service import ESTIMATE_CURRENCIES, render_balance

_PREFIX = f"{API_PREFIX}/wallets/"
_SUFFIX = "/balance"
_CURRENCY_PARAM = "estimatedBalanceCurrencyCode"


class HotReads:
    def __init__(self, app: ASGIApp, *, db: Database, signer: TokenSigner, mode: str) -> None:
        self.app = app
        self._db = db
        self._signer = signer
        self._mode = mode

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = None
        # opened at start-up on PostgreSQL; None on SQLite or before start
        if self._db.hot_pool is not None and scope["type"] == "http" and scope["method"] == "GET":
            try:
                body = await self._balance(scope)
            except ServiceUnavailable as outage:
                await send_error(send, outage)
                return
        if body is None:
            await self.app(scope, receive, send)
            return
        await send_json(send, 200, body)

    async def _balance(self, scope: Scope) -> bytes | None:
        path: str = scope["path"]
        if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
            return None
        wallet_id = path[len(_PREFIX) : -len(_SUFFIX)]
        currency = _currency(scope["query_string"])
        if currency is None or not is_valid_id(wallet_id, "wlt"):
            return None
        claims = bearer_claims(self._signer, header(scope, b"authorization"))
        if claims is None:
            return None
        try:
            async with self._db.hot_connection() as connection:
                found = await wallets.get_with_balances_for_key(
                    connection, key_id=claims.key_id, tenant_id=claims.tenant_id, mode=self._mode, wallet_id=wallet_id
                )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, HotPoolClosed) as exc:
            outage = unavailable(exc)
            if outage is not None:
                raise outage from exc
            return None
        if found is None:
            return None
        asset, chain, by_kind = found
        return orjson.dumps(render_balance(wallet_id, asset, chain, by_kind, currency))


def bearer_claims(signer: TokenSigner, authorization: str | None) -> TokenClaims | None:
    """The claims of a valid, unexpired bearer token; None for anything else (the endpoint then answers)."""
    token = bearer_token(authorization)
    if token is None:
        return None
    try:
        return signer.verify(token)
    except InvalidToken:
        return None


async def send_json(send: Send, status: int, body: bytes) -> None:
    """A hot path's answer, with the headers the endpoints' JSON responses carry."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, error: OMSError) -> None:
    """A hot path's error answer: the envelope and headers the endpoints' error responses carry."""
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in error.headers.items()]
    body = orjson.dumps(error.envelope(request_id_var.get()))
    headers += [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> str | None:
    """The first of a header's values, as Starlette reads it."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _currency(query_string: bytes) -> str | None:
    """The estimate's currency when the query holds nothing but a supported one; else None."""
    if not query_string:
        return "USD"
    params = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if len(params) != 1 or params[0][0] != _CURRENCY_PARAM or params[0][1].upper() not in ESTIMATE_CURRENCIES:
        return None
    return params[0][1]
