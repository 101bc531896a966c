"""Operators for the admin API's tests: made through the service (set-up), used through HTTP (the behaviour)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp

from oms.context import AppContext
from oms.models.operator import OperatorRole

PASSWORD = "correct horse battery staple"


@dataclass
class Person:
    """An operator as its owner knows it: email, password, TOTP secret (once enrolled)."""

    id: str
    email: str
    role: OperatorRole
    password: str = PASSWORD
    totp_secret: str | None = None
    token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def code(self, clock_now: Any) -> str:
        assert self.totp_secret is not None
        return pyotp.TOTP(self.totp_secret).at(clock_now)


async def make_operator(ctx: AppContext, role: OperatorRole = "admin", *, password: bool = True) -> Person:
    email = f"op-{uuid.uuid4().hex[:10]}@example.com"
    async with ctx.db.session_scope() as session:
        operator, _ = await ctx.operators.create(session, email, role)
        if password:
            await ctx.operators.set_password(session, operator.id, PASSWORD)
    return Person(operator.id, email, role)


async def with_token(ctx: AppContext, person: Person) -> Person:
    async with ctx.db.session_scope() as session:
        _, person.token = await ctx.operators.create_token(session, person.id, name="test", expires_in=None)
    return person


def bearer(person: Person) -> dict[str, str]:
    assert person.token is not None
    return {"Authorization": f"Bearer {person.token}"}


class Browser:
    """An admin client with a cookie jar, as a browser is: log in, then send the CSRF token on writes."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf: str | None = None

    async def log_in(self, person: Person, code: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"email": person.email, "password": person.password}
        if code is not None:
            body["totpCode"] = code
        response = await self.http.post("/session", json=body)
        if response.status_code == 201:
            self.csrf = response.json()["csrfToken"]
        return response

    def _headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf} if self.csrf else {}

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(path)

    async def post(self, path: str, json: Any = None) -> httpx.Response:
        return await self.http.post(path, json={} if json is None else json, headers=self._headers())

    async def patch(self, path: str, json: Any) -> httpx.Response:
        return await self.http.patch(path, json=json, headers=self._headers())

    async def put(self, path: str, json: Any) -> httpx.Response:
        return await self.http.put(path, json=json, headers=self._headers())

    async def delete(self, path: str) -> httpx.Response:
        return await self.http.delete(path, headers=self._headers())
