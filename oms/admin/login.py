"""Getting in: set-up through the one-time link, TOTP enrolment, browser sessions, and the caller itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.background import BackgroundTask
from starlette.responses import Response

from oms.admin.dependencies import SESSION_COOKIE, Viewer, set_session_cookie
from oms.audit import Actor
from oms.errors import InvalidRequest
from oms.kit.address import ClientAddress
from oms.kit.time import isoformat
from oms.operator.schemas import Login, Operator, Session, Setup, SetupTotp, TotpConfirm, TotpEnrolment
from oms.operator.service import OperatorService
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, provided
from oms.routing import Session as Db

router = APIRouter(route_class=OMSRoute, tags=["Access"])
Operators = Annotated[OperatorService, Depends(provided(OperatorService))]
Addresses = Annotated[ClientAddress, Depends(provided(ClientAddress))]
COOKIE_PATH = "/admin"


@router.post(
    "/setup/totp",
    response_model=TotpEnrolment,
    responses=errors(401, 409),
    summary="Begin enrolling a TOTP second factor with a setup link's token (the key is returned only here)",
)
async def begin_setup_totp(body: SetupTotp, db: Db, operators: Operators) -> JSONResponse:
    return JSONResponse({"provisioningUri": await operators.begin_setup_totp(db, body.token)})


@router.post(
    "/setup",
    response_model=Operator,
    responses=errors(401, 409, 422),
    summary="Set the password (and confirm the TOTP enrolment, required in live mode) with a setup link's token",
)
async def complete_setup(body: Setup, request: Request, db: Db, operators: Operators) -> JSONResponse:
    operator = await operators.complete_setup(db, body.token, password=body.password, totp_code=body.totpCode)
    request.state.actor = Actor("operator", operator.id)
    return JSONResponse(operators.render(operator))


@router.post(
    "/session",
    status_code=201,
    response_model=Session,
    responses=errors(401, 403, 429),
    summary="Log in: sets the session cookie and returns the session's CSRF token",
)
async def log_in(body: Login, request: Request, db: Db, operators: Operators, addresses: Addresses) -> JSONResponse:
    address = addresses.of(request.scope)  # the connection's peer, or behind OMS_TRUSTED_PROXIES the client's
    # The lockout (oms/ratelimit/lockout.py, per email and address) is the service's LoginGuard.
    new = await operators.login(db, email=body.email, password=body.password, totp_code=body.totpCode, address=address)
    request.state.actor = Actor("operator", new.operator.id)
    answer: Session = {
        "object": "operatorSession",
        "operator": operators.render(new.operator),
        "csrfToken": new.csrf_token,
        "expiresAt": isoformat(new.expires_at),
        "idleTimeoutSeconds": int(operators.idle.total_seconds()),
    }
    # The email's failures are forgotten once the login's transaction has ended (SQLite has one writer).
    forget = BackgroundTask(operators.guard.forget, list(new.proven)) if new.proven else None
    response = JSONResponse(answer, status_code=201, background=forget)
    set_session_cookie(response, SESSION_COOKIE, new.cookie, path=COOKIE_PATH, max_age=operators.absolute)
    return response


@router.delete("/session", status_code=204, summary="Log out: the session ends at once")
async def log_out(caller: Viewer, db: Db, operators: Operators) -> Response:
    if caller.session_id is None:
        raise InvalidRequest("not_a_session", "Only a browser session logs out; revoke a token instead.")
    await operators.logout(db, caller.session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict")
    return response


@router.get("/me", response_model=Operator, summary="The operator calling")
async def me(caller: Viewer, db: Db, operators: Operators) -> JSONResponse:
    return JSONResponse(operators.render(await operators.get(db, caller.operator_id)))


@router.post(
    "/me/totp",
    response_model=TotpEnrolment,
    responses=errors(409),
    summary="Begin enrolling a TOTP second factor (the key is returned only here; confirm it with a code)",
)
async def begin_totp(caller: Viewer, db: Db, operators: Operators) -> JSONResponse:
    return JSONResponse({"provisioningUri": await operators.begin_totp(db, caller.operator_id)})


@router.post(
    "/me/totp/confirm",
    response_model=Operator,
    responses=errors(409),
    summary="Confirm the TOTP enrolment with a current code: from now on every login needs one",
)
async def confirm_totp(body: TotpConfirm, caller: Viewer, db: Db, operators: Operators) -> JSONResponse:
    return JSONResponse(operators.render(await operators.confirm_totp(db, caller.operator_id, body.code)))
