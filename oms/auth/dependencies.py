"""Who is calling (the current-tenant dependency), the scope a route needs, and the Idempotency-Key claim, which
is scoped to the caller.

Beside the endpoints, above the service: every domain's endpoints declare ``Auth``, ``needs(scope)`` and
``Idempotent``. They live in the auth package, not in the request pipeline (``oms.routing``), so the pipeline
imports no domain.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, params

from oms import idempotency
from oms.audit import Actor
from oms.auth.scopes import Scope, require
from oms.auth.service import AuthContext, AuthService
from oms.kit.logging import request_id_var
from oms.routing import provided_by


async def authenticate(request: Request) -> AuthContext:
    # Reads the request's session and registry directly: this runs on every call, sub-dependencies cost.
    # FastAPI runs it once per request however many dependencies ask for it (the scope, the claim, the route).
    service = provided_by(request).get(AuthService)
    auth = await service.authenticate(request.state.session, request.headers.get("authorization"))
    request.state.tenant_id = auth.tenant_id
    request.state.actor = Actor("api_key", auth.key_id)
    return auth


Auth = Annotated[AuthContext, Depends(authenticate)]


class ScopeNeeded:
    """The dependency that refuses a caller whose key lacks ``scope`` (403 ``insufficient_scope``). The OpenAPI
    document reads ``scope`` from it (``oms.openapi``): the operation's security requirement."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, auth: Auth) -> None:
        require(auth.scopes, self.scope)


def needs(scope: Scope) -> params.Depends:
    """The one scope a route needs, declared first among its dependencies (before ``Idempotent``, so a key
    without it claims no Idempotency-Key): ``dependencies=[needs(Scope.MONEY_WRITE), Idempotent]``. Every
    ``/v0.9`` route but ``POST /auth/token`` declares exactly one (tests/auth/test_scopes.py)."""
    return params.Depends(ScopeNeeded(scope))


async def require_idempotency_key(
    request: Request,
    auth: Auth,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> None:
    claim = (
        provided_by(request)
        .get(idempotency.Terms)
        .claim(
            tenant_id=auth.tenant_id,
            key=idempotency_key,
            method=request.method,
            path=request.url.path,
            body=await request.body(),
            request_id=request_id_var.get(),
        )
    )
    request.state.idempotency = await idempotency.take(request.state.session, claim)


Idempotent = Depends(require_idempotency_key)
