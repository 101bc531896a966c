"""The console's test client: a browser without JavaScript (cookies, forms, redirects not followed)."""

from __future__ import annotations

from typing import Any

import httpx
import pyotp

from oms.context import AppContext
from oms.models.operator import OperatorRole
from tests.admin.support import Person, make_operator

CONSOLE_BASE = "https://oms.test"  # https: the console's cookies are Secure


class Console:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def log_in(self, person: Person, code: str | None = None) -> httpx.Response:
        form = {"email": person.email, "password": person.password, "totp": code or "", "next": "/console"}
        return await self.http.post("/console/login", data=form)

    @property
    def csrf(self) -> str:
        return self.http.cookies.get("oms_console_csrf", "") or ""

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params or None)

    async def post(self, path: str, form: dict[str, Any] | None = None, *, csrf: str | None = None) -> httpx.Response:
        data = {"csrf": self.csrf if csrf is None else csrf, **(form or {})}
        if not data["csrf"]:
            del data["csrf"]
        return await self.http.post(path, data=data)


async def enrolled_operator(ctx: AppContext, role: OperatorRole = "admin") -> Person:
    """An operator with a password and a confirmed TOTP second factor (its secret kept for the codes)."""
    person = await make_operator(ctx, role)
    async with ctx.db.session_scope() as session:
        uri = await ctx.operators.begin_totp(session, person.id)
    person.totp_secret = pyotp.parse_uri(uri).secret
    async with ctx.db.session_scope() as session:
        await ctx.operators.confirm_totp(session, person.id, pyotp.TOTP(person.totp_secret).now())
    return person


def page_error(response: httpx.Response) -> str:
    """The error code an error page names (``Code <code>…</code>``)."""
    text = response.text
    start = text.find("Code <code>")
    return text[start + len("Code <code>") : text.find("</code>", start)] if start >= 0 else ""
