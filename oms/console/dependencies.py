"""Who is using the console, and what a page may do: the console's own session cookie (``Path=/console``), the CSRF
token every form carries, the roles (the admin API's rule: ``oms.admin.dependencies.at_least``), the tenant a
page shows, and the forms' fields validated by the admin API's own request models.

The session is an operator session like the admin API's (``OperatorService.login``; the same idle and absolute
limits, ended by logging out or by disabling the operator). Its CSRF token is kept in a second cookie, HttpOnly
and SameSite=Strict like the session's, from which each page writes it into its forms: a form posted without it,
or with another session's, is refused by ``OperatorService.session_context`` before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from oms.admin.dependencies import at_least, session_operator
from oms.auth.schemas import TenantResource
from oms.auth.service import AuthService
from oms.errors import AuthenticationFailed, InvalidRequest
from oms.kit.pagination import PageParams
from oms.operator.service import OperatorContext
from oms.routing import WRITE_METHODS, provided_by, validation_error

PREFIX = "/console"
SESSION_COOKIE = "oms_console_session"
CSRF_COOKIE = "oms_console_csrf"
CSRF_FIELD = "csrf"
M = TypeVar("M", bound=BaseModel)


async def form_of(request: Request) -> FormData:
    """The posted form (urlencoded); a NUL in any field is refused, as in every JSON string of the API."""
    form = await request.form()
    for name, value in form.multi_items():
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise InvalidRequest("parameter_invalid", f"Invalid {name}: must not contain NUL characters.", param=name)
    return form


def validated(model: type[M], data: dict[str, Any]) -> M:
    """A form's fields through the admin API's request model: the same limits, the same error (400, its field)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(RequestValidationError(exc.errors())) from None


async def console_operator(request: Request) -> OperatorContext:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise AuthenticationFailed("Log in to use the console.", code="missing_credentials")
    csrf = None
    if request.method in WRITE_METHODS:
        value = (await form_of(request)).get(CSRF_FIELD)
        csrf = value if isinstance(value, str) else None
    caller = await session_operator(request, cookie, csrf)
    request.state.console_caller = caller  # for the error page's navigation, should the page be refused
    return caller


Operator = Annotated[OperatorContext, Depends(console_operator)]


async def require_viewer(caller: Operator) -> OperatorContext:
    return at_least(caller, "viewer")


async def require_approver(caller: Operator) -> OperatorContext:
    return at_least(caller, "approver")


async def require_admin(caller: Operator) -> OperatorContext:
    return at_least(caller, "admin")


Viewer = Annotated[OperatorContext, Depends(require_viewer)]
Approver = Annotated[OperatorContext, Depends(require_approver)]
Admin = Annotated[OperatorContext, Depends(require_admin)]


@dataclass(frozen=True, slots=True)
class Tenancy:
    """The tenant a page shows (``?tenant=``; the newest tenant when none is named) and the others to pick."""

    current: TenantResource | None
    choices: list[TenantResource]

    @property
    def id(self) -> str:
        if self.current is None:
            raise InvalidRequest("no_tenant", "There is no tenant yet: create one on the Tenants page.")
        return self.current["id"]


CHOICES = 100  # the tenants the picker lists (newest first); any other is reached by its id


async def tenancy(request: Request, tenant: Annotated[str | None, Query(max_length=64)] = None) -> Tenancy:
    auth = provided_by(request).get(AuthService)
    session = request.state.session
    choices = (await auth.list_tenants(session, PageParams(CHOICES, None, None, None, None)))["data"]
    current: TenantResource | None
    if tenant:
        current = next((t for t in choices if t["id"] == tenant), None) or await auth.tenant(session, tenant)
        if current not in choices:
            choices = [current, *choices]
    else:
        current = choices[0] if choices else None
    return Tenancy(current, choices)


TenantOf = Annotated[Tenancy, Depends(tenancy)]
Notice = Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")]
