"""The admin API's own OpenAPI document (``/admin/v1/openapi.json``), apart from the OMS API's.

FastAPI's document of the admin routes, completed from each route's dependencies: the role it declares
(``x-oms-role``: ``viewer``, ``approver``, ``admin``, or ``none`` for the ways in), its security (a session
cookie or an operator token), and the errors the pipeline adds (400, 401 and 403 for a role, 404 for a path
id, 503). The authorisation test walks this document, so a route cannot escape it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.responses import HTMLResponse

from oms.admin.dependencies import CSRF_HEADER, ROLE_DEPENDENCIES, SESSION_COOKIE
from oms.admin.endpoints import PREFIX
from oms.openapi import REF, add_error_envelope, dependants, drop_validation_error, path_params
from oms.responses import JSONResponse
from oms.routing import WRITE_METHODS

SESSION_SCHEME = "operatorSession"
TOKEN_SCHEME = "operatorToken"
ROLE_EXTENSION = "x-oms-role"
PUBLIC = "none"
_ERRORS = {
    400: "Bad request: a parameter is missing, unknown or invalid",
    401: "No operator credentials, or invalid, expired or revoked ones (a tenant's are always refused)",
    403: "The operator's role is below the route's, or the session's X-CSRF-Token is missing or wrong",
    404: "No such resource",
    409: "Conflict with the resource's state",
    413: "The request body is larger than the server accepts",
    422: "The request is well formed but a rule refuses it",
    429: "Too many requests from this address (a rate limit), or logins locked out after failures: retry after "
    "Retry-After",
    503: "The database is unavailable or timed out: retry after Retry-After",
}


def role_of(dependant: Dependant) -> str:
    """The role a route declares through its dependencies (``none``: a public way in)."""
    roles = {ROLE_DEPENDENCIES[d.call] for d in dependants(dependant) if d.call in ROLE_DEPENDENCIES}
    if len(roles) > 1:
        raise ValueError(f"a route declares several roles: {sorted(roles)}")
    return roles.pop() if roles else PUBLIC


def document(routes: APIRouter) -> dict[str, Any]:
    doc = get_openapi(
        title="OMS admin API",
        version="1",
        description="Operating the server: operators, their sessions and tokens, customers' status, webhooks' "
        "complianceOnly flag. Operators only: a tenant's API key or token is refused. Roles: a viewer reads, an "
        "approver also decides approvals, an admin does everything; each operation names its role in "
        f"`{ROLE_EXTENSION}`.",
        routes=routes.routes,
    )
    components = add_error_envelope(doc)
    components["securitySchemes"] = {
        SESSION_SCHEME: {
            "type": "apiKey",
            "in": "cookie",
            "name": SESSION_COOKIE,
            "description": f"Set by POST {PREFIX}/session. POST, PUT, PATCH and DELETE also need the session's "
            f"csrfToken in the {CSRF_HEADER} header.",
        },
        TOKEN_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": f"An operator token (oat_…) from POST {PREFIX}/tokens; no CSRF token needed.",
        },
    }
    for route in iter_route_contexts(routes.routes):
        if not (isinstance(route.original_route, APIRoute) and route.include_in_schema):
            continue
        for method in route.methods or ():
            operation = doc["paths"][route.path_format][method.lower()]
            role = role_of(route.dependant)
            operation[ROLE_EXTENSION] = role
            responses: dict[str, Any] = operation["responses"]
            drop_validation_error(responses)
            derived = {400, 503} | ({401, 403} if role != PUBLIC else set())
            derived |= {404} if any(path_params(route.dependant)) else set()
            derived |= {413} if method in WRITE_METHODS else set()
            for status in sorted(derived | {int(code) for code in responses if code.startswith(("4", "5"))}):
                responses[str(status)] = {
                    "description": _ERRORS[status],
                    "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}},
                }
            operation["security"] = [{SESSION_SCHEME: []}, {TOKEN_SCHEME: []}] if role != PUBLIC else []
    return doc


_BUILT: dict[int, dict[str, Any]] = {}


def cached_document(routes: APIRouter) -> dict[str, Any]:
    """The document, built once per process (the routes do not change once the app is built)."""
    if id(routes) not in _BUILT:
        _BUILT[id(routes)] = document(routes)
    return _BUILT[id(routes)]


def docs_router(routes: APIRouter, *, swagger_assets: str) -> APIRouter:
    """``GET /admin/v1/openapi.json`` and ``/admin/v1/docs`` (Swagger UI from the installed assets, no CDN)."""
    router = APIRouter(include_in_schema=False)

    @router.get(f"{PREFIX}/openapi.json")
    async def admin_openapi(_: Request) -> JSONResponse:
        return JSONResponse(cached_document(routes))

    @router.get(f"{PREFIX}/docs")
    async def admin_docs(_: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{PREFIX}/openapi.json",
            title="OMS admin API",
            swagger_js_url=f"{swagger_assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{swagger_assets}/swagger-ui.css",
            swagger_favicon_url=f"{swagger_assets}/favicon.png",
        )

    del admin_openapi, admin_docs  # registered
    return router


def install(app: FastAPI, routes: APIRouter, *, swagger_assets: str) -> None:
    """The admin routes on the app, outside the OMS API's document, with their own document and docs page."""
    app.include_router(routes, include_in_schema=False)
    app.include_router(docs_router(routes, swagger_assets=swagger_assets))
