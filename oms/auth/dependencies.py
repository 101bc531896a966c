"""Who is calling (the current-tenant dependency) and the Idempotency-Key claim, which is scoped to the caller.

Beside the endpoints, above the service: every domain's endpoints declare ``Auth`` and ``Idempotent``. They
live in the auth package, not in the request pipeline (``oms.routing``), so the pipeline imports no domain.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from oms import idempotency
from oms.audit import Actor
from oms.auth.service import AuthContext, AuthService
from oms.kit.logging import request_id_var
from oms.routing import provided_by


async def authenticate(request: Request) -> AuthContext:
    # Reads the request's session and registry directly: this runs on every call, sub-dependencies cost.
    service = provided_by(request).get(AuthService)
    auth = await service.authenticate(request.state.session, request.headers.get("authorization"))
    request.state.tenant_id = auth.tenant_id
    request.state.actor = Actor("api_key", auth.key_id)
    return auth


async def require_idempotency_key(
    request: Request,
    auth: Annotated[AuthContext, Depends(authenticate)],
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


Auth = Annotated[AuthContext, Depends(authenticate)]
Idempotent = Depends(require_idempotency_key)
