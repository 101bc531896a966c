"""The fast lane's transport: what its reads and writes share to take a request and answer it."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from starlette.types import Scope, Send

from oms.audit.service import AuditLog
from oms.auth.tokens import InvalidToken, TokenClaims, TokenSigner, bearer_token
from oms.controls.decision import Controls
from oms.db import Database
from oms.errors import OMSError
from oms.idempotency import Terms
from oms.kit.address import ClientAddress
from oms.kit.logging import request_id_var
from oms.kit.time import Clock
from oms.quote.service import QuoteService
from oms.transaction.service import TransactionService


@dataclass(frozen=True, slots=True)
class Services:
    """What the fast lane uses, given by the composition root (oms/app.py): the same objects the endpoints use."""

    db: Database
    signer: TokenSigner
    mode: str
    clock: Clock  # the server's: a key's expiry is judged on it, as AuthService judges it
    quotes: QuoteService
    transactions: TransactionService
    controls: Controls  # the checks before money leaves: a request they apply to is the endpoints'
    idempotency: Terms
    audit: AuditLog
    addresses: ClientAddress  # the client's address as the rate limits and the endpoints' audit records read it


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
    """The fast lane's answer, with the headers the endpoints' JSON responses carry."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, error: OMSError) -> None:
    """The fast lane's error answer: the envelope and headers the endpoints' error responses carry."""
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
