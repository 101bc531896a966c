"""Who is calling the admin API, and the role each route needs: ``Viewer``, ``Approver``, ``Admin``.

Two ways in: a browser session (the ``oms_admin_session`` cookie; unsafe methods also need the session's CSRF
token in ``X-CSRF-Token``) or an operator token (``Authorization: Bearer oat_…``, no CSRF: it is not sent by
a browser on its own). A tenant's bearer token or API key is refused (401). The operator and its role are
read on every request, so a disabled operator or a changed role takes effect at once. Each role dependency
sets ``request.state.actor`` to the operator; the admin OpenAPI document reads which one a route declares.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from oms.audit import Actor
from oms.auth.tokens import bearer_token
from oms.db import Database
from oms.errors import AuthenticationFailed, PermissionDenied
from oms.models.operator import OperatorRole
from oms.operator.service import OperatorContext, OperatorService
from oms.routing import WRITE_METHODS, provided_by

SESSION_COOKIE = "oms_admin_session"
CSRF_HEADER = "X-CSRF-Token"


async def authenticate_operator(request: Request) -> OperatorContext:
    service = provided_by(request).get(OperatorService)
    bearer = bearer_token(request.headers.get("authorization"))
    if bearer is not None:
        caller = await service.token_context(request.state.session, bearer)
        request.state.actor = Actor("operator", caller.operator_id)
        return caller
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise AuthenticationFailed(
            "Log in (POST /admin/v1/session) or send an operator token.", code="missing_credentials"
        )
    return await session_operator(request, cookie, request.headers.get(CSRF_HEADER))


async def session_operator(request: Request, cookie: str, csrf_token: str | None) -> OperatorContext:
    """The operator of a browser session (the admin API's cookie, or the console's): an unsafe request must carry
    the session's CSRF token. Its activity is written at most every minute; sets ``request.state.actor``."""
    service = provided_by(request).get(OperatorService)
    session = request.state.session
    unsafe = request.method in WRITE_METHODS
    caller, stale = await service.session_context(session, cookie, unsafe=unsafe, csrf_token=csrf_token)
    if stale and caller.session_id is not None:
        if unsafe:  # in the request's own write transaction (on SQLite a second writer would wait for it)
            await service.touch(session, caller.session_id)
        else:  # a read runs outside a write transaction: its activity is written in one of its own
            async with provided_by(request).get(Database).session_scope() as own:
                await service.touch(own, caller.session_id)
    request.state.actor = Actor("operator", caller.operator_id)
    return caller


Operator = Annotated[OperatorContext, Depends(authenticate_operator)]


def set_session_cookie(response: Response, name: str, value: str, *, path: str, max_age: timedelta) -> None:
    """An operator session's cookie (or its CSRF token's, for the console): Secure, HttpOnly, SameSite=Strict,
    for ``path`` only, as long as the session may last."""
    response.set_cookie(
        name, value, max_age=int(max_age.total_seconds()), path=path, secure=True, httponly=True, samesite="strict"
    )


def at_least(caller: OperatorContext, role: OperatorRole) -> OperatorContext:
    """The caller, if its role is ``role`` or above; else 403 (the admin API's rule, the console's too)."""
    if not caller.has(role):
        raise PermissionDenied("insufficient_role", f"This needs the {role} role; the operator's is {caller.role}.")
    return caller


async def require_viewer(caller: Operator) -> OperatorContext:
    return at_least(caller, "viewer")


async def require_approver(caller: Operator) -> OperatorContext:
    return at_least(caller, "approver")


async def require_admin(caller: Operator) -> OperatorContext:
    return at_least(caller, "admin")


# What a route declares; the admin OpenAPI document names it as the operation's x-oms-role.
Viewer = Annotated[OperatorContext, Depends(require_viewer)]
Approver = Annotated[OperatorContext, Depends(require_approver)]
Admin = Annotated[OperatorContext, Depends(require_admin)]
ROLE_DEPENDENCIES: dict[object, OperatorRole] = {
    require_viewer: "viewer",
    require_approver: "approver",
    require_admin: "admin",
}
