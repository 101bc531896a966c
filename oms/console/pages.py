"""How the console answers: Jinja2 templates (autoescaped) rendered into HTML under a strict Content-Security-Policy
(no script at all, styles only from the console's own stylesheet), and ``ConsoleRoute``, the OMS API's route
(one transaction per request, writes audited, refusals recorded) whose errors are pages for people: the
envelope's message on an error page with its status, a login form again after a refused login, and the login
page for a request without a session."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson
from fastapi import Request
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from oms.console.dependencies import CSRF_COOKIE, CSRF_FIELD, PREFIX, SESSION_COOKIE
from oms.routing import OMSRoute

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
STYLESHEET = resources.files("oms.console").joinpath("static/console.css").read_text()
LOGIN = f"{PREFIX}/login"

# The console's pages, in the navigation's order: (path, label).
NAVIGATION = (
    ("", "Home"),
    ("/tenants", "Tenants & keys"),
    ("/customers", "Customers"),
    ("/wallets", "Wallets"),
    ("/transactions", "Transactions"),
    ("/approvals", "Approvals"),
    ("/webhooks", "Webhooks"),
    ("/events", "Events"),
    ("/audit", "Audit log"),
    ("/reconciliation", "Reconciliation"),
)
# The messages a write's redirect names (``?notice=``): fixed texts, so a link cannot put words on a page.
NOTICES = {
    "tenant_created": "Tenant created.",
    "key_revoked": "API key revoked.",
    "scopes_changed": "Scopes changed.",
    "status_changed": "Customer status changed.",
    "approved": "Approved.",
    "rejected": "Rejected.",
    "released": "Released.",
    "retried": "Delivery queued again: the worker sends it within seconds.",
    "logged_out": "Logged out.",
}

templates = Environment(
    loader=PackageLoader("oms.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals.update(prefix=PREFIX, navigation=NAVIGATION, csrf_field=CSRF_FIELD)


def render(request: Request, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` with the page's context: the operator (``caller``), the form token, the active path."""
    context.setdefault("caller", None)
    context.setdefault("tenancy", None)
    notice = context.pop("notice", None)
    html = templates.get_template(template).render(
        request_path=request.url.path,
        csrf=request.cookies.get(CSRF_COOKIE, ""),
        notice=NOTICES.get(notice or ""),
        **context,
    )
    return HTMLResponse(html, status_code=http_status, headers=HEADERS)


def redirect(path: str, *, notice: str | None = None, **query: str | None) -> RedirectResponse:
    """303 to a console page (after a write: the browser then GETs it; reloading it posts nothing again)."""
    params = {**query, "notice": notice}
    encoded = "&".join(f"{key}={quote(value, safe='')}" for key, value in params.items() if value)
    return RedirectResponse(f"{PREFIX}{path}" + (f"?{encoded}" if encoded else ""), status_code=303, headers=HEADERS)


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a console path only (never another site: ``//evil`` is not a path)."""
    if value and value.startswith(PREFIX) and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX


def end_cookies(response: Response) -> Response:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path=PREFIX, secure=True, httponly=True, samesite="strict")
    return response


class ConsoleRoute(OMSRoute):
    """An ``OMSRoute`` whose refusals are pages: the transaction, the audit record of a refused write and the
    status are the admin API's; only the body changes from the JSON envelope to HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            if request.method == "GET" and request.scope.get("query_string"):
                # a GET form's empty field ("any status") is no filter: dropped before the query is read
                kept = [(k, v) for k, v in parse_qsl(request.scope["query_string"].decode("latin-1")) if v]
                request.scope["query_string"] = urlencode(kept).encode("latin-1")
            response = await handler(request)
            if response.status_code < 400 or response.media_type != "application/json":
                return response
            error = orjson.loads(bytes(response.body)).get("error", {})
            if request.url.path == LOGIN:
                return render(request, "login.html", response.status_code, error=error, next=PREFIX)
            if response.status_code == 401:  # no session, or an ended one: log in, then come back here
                back = request.url.path if request.method == "GET" else PREFIX
                return end_cookies(RedirectResponse(f"{LOGIN}?next={quote(back, safe='/')}", 303, headers=HEADERS))
            caller = getattr(request.state, "console_caller", None)
            page = render(request, "error.html", response.status_code, error=error, back=_back(request), caller=caller)
            if "retry-after" in response.headers:
                page.headers["Retry-After"] = response.headers["retry-after"]
            return page

        return route_handler


def _back(request: Request) -> str:
    referer = request.headers.get("referer", "")
    path = referer.split(str(request.base_url).rstrip("/"), 1)[-1] if referer else ""
    return path if path.startswith(PREFIX) else PREFIX
