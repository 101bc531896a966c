"""The request pipeline shared by every endpoint.

``OMSRoute`` gives each request one database session and transaction: committed after the handler
returns and before the response leaves, rolled back on any error. It renders every error in the
API's envelope, stores idempotent answers in the same transaction as their effect, and refuses query
parameters the endpoint does not declare.

It imports no domain package and not the composition root (``oms.context``): what a route needs from the
root (its database, a service) it asks for by class with ``provided(...)``, and the root registers those
objects in a ``Provided`` on the app (``AppContext.provided``). The caller's identity and the
Idempotency-Key claim are the auth package's dependencies (``oms.auth.dependencies``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Annotated, Any, TypeVar, cast

import orjson
from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.responses import Response

from oms import idempotency
from oms.audit import ANONYMOUS, Actor, Entry
from oms.audit import service as audit
from oms.db import Database, abandon
from oms.errors import InternalError, InvalidRequest, OMSError
from oms.kit.address import ClientAddress
from oms.kit.logging import request_id_var
from oms.outage import conflict, conflicted, retry_conflicts, unavailable
from oms.responses import JSONResponse

log = logging.getLogger("oms.request")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
T = TypeVar("T")


class Provided:
    """The long-lived objects a route may ask for, each under its class: the composition root registers them
    once (``AppContext.provided``), a route asks with ``provided(kind)``. A class names what a route needs, so
    neither the pipeline nor an endpoint imports the root that holds it."""

    def __init__(self) -> None:
        self._objects: dict[type[Any], object] = {}

    def add(self, kind: type[T], value: T) -> None:
        if kind in self._objects:
            raise ValueError(f"{kind.__qualname__} is provided twice")
        self._objects[kind] = value

    def get(self, kind: type[T]) -> T:
        try:
            value = self._objects[kind]
        except KeyError:
            raise LookupError(f"nothing provides {kind.__qualname__} (AppContext.provided registers it)") from None
        return cast(T, value)  # registered by add(kind, value: kind)


def provided_by(request: Request) -> Provided:
    registry: Provided = request.app.state.provided  # set by create_app (Starlette's state is untyped)
    return registry


def error_response(error: OMSError) -> JSONResponse:
    return JSONResponse(error.envelope(request_id_var.get()), status_code=error.status, headers=error.headers)


def validation_error(exc: RequestValidationError) -> InvalidRequest:
    """The first problem of a request, named by its parameter (``source.amount``, ``limit``)."""
    first = exc.errors()[0]
    # a union member's tag is written <tag>: it is not part of the parameter's path
    location = [str(part) for part in first.get("loc", ()) if not str(part).startswith("<")]
    if location and location[0] in {"body", "query", "path", "header"}:
        location = location[1:]
    param = ".".join(location) or None
    kind = first.get("type", "")
    if kind == "json_invalid":
        return InvalidRequest("invalid_json", "The request body is not valid JSON.")
    if kind == "extra_forbidden":
        return InvalidRequest("unknown_parameter", f"Received unknown parameter: {param}.", param=param)
    if kind == "missing":
        if not param:
            return InvalidRequest("body_missing", "A JSON request body is required.")
        return InvalidRequest("parameter_missing", f"Missing required parameter: {param}.", param=param)
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return InvalidRequest("parameter_invalid", f"Invalid {param}: {message}.", param=param)


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


class OMSRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        allowed_query = _query_names(self.dependant)
        write = not WRITE_METHODS.isdisjoint(self.methods or ())
        methods = "/".join(sorted(self.methods or ()))
        depth = self.path_format.count("/")

        async def attempt(request: Request) -> Response:
            """One run of the request's unit of work; a conflict is raised, having rolled it back."""
            db = provided_by(request).get(Database)
            # The audit log's name for what the request does: ``METHOD /path-template``, the template with the
            # prefix its router was included under (FastAPI keeps the router's own path on the route).
            action = ""
            if write:  # reads are not audited
                prefix = "/".join(request.scope["path"].split("/")[:-depth]) if depth else ""
                action = f"{methods} {prefix}{self.path_format}"
            async with db.session(write=write) as session:
                request.state.session = session
                try:
                    _reject_unknown_query(request, allowed_query)
                    await _reject_nul(request)
                    response = await handler(request)
                except idempotency.Replay as replay:  # changes nothing: its first answer was recorded
                    return replay.response()
                except RequestValidationError as exc:
                    return await _refused(session, db, request, action, write, validation_error(exc))
                except HTTPException as exc:  # FastAPI's own: a body it could not decode (not UTF-8, too deep)
                    return await _refused(session, db, request, action, write, _undecodable(exc))
                except OMSError as error:
                    await session.rollback()
                    response = error_response(error)
                    await _store_business_error(db, request, error, response)
                    if write and error.status < 500:  # an outage or a bug changed nothing, and is logged
                        await _record_refusal(db, request, action, error)
                    return response
                except Exception as exc:
                    return await _failed(session, request, exc)
                if response.status_code >= 500:
                    await session.rollback()
                    return response
                claim: idempotency.Claim | None = getattr(request.state, "idempotency", None)
                try:
                    if claim is not None:
                        await idempotency.store(session, claim, response)
                    if write:
                        # last: the chain head's lock is taken after every other lock, and held to the commit
                        await audit.record(session, _entry(request, action, response.status_code, response))
                        await session.commit()
                except OMSError as error:
                    await session.rollback()
                    return error_response(error)
                except Exception as exc:  # storing the answer or committing: as any failure of the handler
                    return await _failed(session, request, exc)
                return response

        async def route_handler(request: Request) -> Response:
            # A deadlock or serialization failure runs the whole unit of work again (it was rolled back, its
            # Idempotency-Key claim with it); when every attempt lost one, the answer is 503.
            try:
                return await retry_conflicts(partial(attempt, request), what=request.url.path)
            except Exception as exc:
                if conflict(exc) is None:
                    raise
                return error_response(conflicted())

        return route_handler


async def _failed(session: AsyncSession, request: Request, exc: Exception) -> Response:
    """An attempt that raised: an outage is 503; a conflict is raised, rolled back, for ``retry_conflicts`` to
    run the attempt again; anything else is a bug: logged here, with its traceback (oms.kit.logging keeps the
    data of a failed statement out of it), and answered 500 in the envelope. Raised further, a bug would reach
    the client as Starlette's plain-text 500 and the log as the server's own rendering of it."""
    outage = unavailable(exc)
    if outage is not None:
        return await _outage(session, outage)
    await session.rollback()
    if conflict(exc) is not None:
        raise exc
    log.exception("unhandled error", extra={"path": request.url.path})
    return error_response(InternalError())


async def _outage(session: AsyncSession, outage: OMSError) -> Response:
    """Answer 503 without another word to the database: the connection is closed, not rolled back (a
    ROLLBACK would wait on the dead network too), and closing it rolls the transaction back on the server."""
    log.warning("database or chain unavailable", extra={"error": outage.message})
    await abandon(session)
    return error_response(outage)


def _reject_unknown_query(request: Request, allowed: set[str]) -> None:
    for name in request.query_params:
        if name not in allowed:
            raise InvalidRequest("unknown_parameter", f"Received unknown parameter: {name}.", param=name)


_NUL = "\x00"
_NUL_IN_JSON = b"\\u0000"


async def _reject_nul(request: Request) -> None:
    """NUL is refused in every string, on both databases: PostgreSQL cannot store it in text."""
    for name, value in request.path_params.items():
        if _NUL in str(value):
            raise _nul_error(name)
    for name, value in request.query_params.multi_items():
        if _NUL in name or _NUL in value:
            raise _nul_error(name)
    body = await request.body()
    if _NUL_IN_JSON not in body:  # the only way to write a NUL in valid JSON is its escape
        return
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # the endpoint answers invalid_json
    location = _nul_location(document, [])
    if location is not None:
        raise _nul_error(".".join(location) or None)


def _nul_location(value: Any, path: list[str]) -> list[str] | None:
    """Where the first NUL is in a JSON document (a key or a string), as validation errors name it."""
    pending: list[tuple[Any, list[str]]] = [(value, path)]
    while pending:
        item, at = pending.pop()
        if isinstance(item, str) and _NUL in item:
            return at
        if isinstance(item, dict):
            for key, child in item.items():
                if _NUL in key:
                    return [*at, key.replace(_NUL, "")]
                pending.append((child, [*at, key]))
        elif isinstance(item, list):
            pending.extend((child, [*at, str(index)]) for index, child in enumerate(item))
    return None


def _nul_error(param: str | None) -> InvalidRequest:
    return InvalidRequest("parameter_invalid", f"Invalid {param}: must not contain NUL characters.", param=param)


def _undecodable(exc: HTTPException) -> OMSError:
    if exc.status_code == 400:
        return InvalidRequest("invalid_json", "The request body is not valid JSON in UTF-8.")
    return http_error(exc)


def http_error(exc: HTTPException) -> OMSError:
    """Starlette's and FastAPI's own errors in the envelope; 405 keeps its ``Allow`` header (RFC 9110)."""
    error = OMSError("http_error", str(exc.detail), headers=dict(exc.headers or {}))
    error.status = exc.status_code
    error.type = "invalid_request_error" if exc.status_code < 500 else "api_error"
    return error


async def _store_business_error(db: Database, request: Request, error: OMSError, response: Response) -> None:
    """A 4xx decided while executing is the request's answer: store it (its effects were rolled back)."""
    claim: idempotency.Claim | None = getattr(request.state, "idempotency", None)
    if claim is None or not error.replayable or not 400 <= error.status < 500:
        return
    async with db.session(write=True) as session:
        try:
            await idempotency.take(session, claim)
            await idempotency.store(session, claim, response)
            await session.commit()
        except (idempotency.Replay, OMSError):
            await session.rollback()
        except Exception as exc:  # the answer stands; only its replay is not stored (a retry executes again)
            if conflict(exc) is not None:
                await session.rollback()
                return
            if unavailable(exc) is None:
                raise
            await abandon(session)


# --- the audit log -------------------------------------------------------------------------------------


def _entry(
    request: Request, action: str, status: int, response: Response | None = None, code: str | None = None
) -> Entry:
    """What the audit log keeps of a request: ids, never its body. The object is the resource the answer
    names (a created one's ``id``; a route answering no JSON names it in ``request.state.object_id``), else the
    route's last path parameter."""
    actor: Actor = getattr(request.state, "actor", None) or ANONYMOUS
    object_id = getattr(response, "resource_id", None) or getattr(request.state, "object_id", None)
    if object_id is None and request.path_params:
        # the client's text (a refused request's path may hold anything): as the column can keep it
        object_id = str(list(request.path_params.values())[-1]).replace("\x00", "")[:255]
    return (
        provided_by(request)
        .get(audit.AuditLog)
        .entry(
            actor,
            action,
            tenant_id=getattr(request.state, "tenant_id", None),
            object_id=object_id,
            request_id=request_id_var.get(),
            client_address=provided_by(request).get(ClientAddress).of(request.scope),
            status=status,
            error_code=code,
        )
    )


async def _refused(
    session: AsyncSession, db: Database, request: Request, action: str, write: bool, error: OMSError
) -> Response:
    if write:
        await session.rollback()  # nothing was changed; and on SQLite the write lock is free for the record
        await _record_refusal(db, request, action, error)
    return error_response(error)


async def _record_refusal(db: Database, request: Request, action: str, error: OMSError) -> None:
    """A refused request's change was rolled back: its refusal is recorded in a transaction of its own."""
    entry = _entry(request, action, error.status, code=error.code)
    async with db.session(write=True) as session:
        try:
            await audit.record(session, entry)
            await session.commit()
        except Exception as exc:  # the answer stands; only its record is lost (logged)
            if unavailable(exc) is not None:
                await abandon(session)
            else:
                await session.rollback()
            log.warning("refusal not recorded in the audit log", extra={"action": action, "error": type(exc).__name__})


# --- dependencies -----------------------------------------------------------------------------------


def provided(kind: type[T]) -> Callable[[Request], Coroutine[Any, Any, T]]:
    """The dependency answering the app's ``kind`` (``Annotated[CustomerService, Depends(provided(...))]``)."""

    async def dependency(request: Request) -> T:  # async: a sync dependency would run in a thread
        return provided_by(request).get(kind)

    return dependency


async def get_session(request: Request) -> AsyncSession:
    session: AsyncSession = request.state.session  # set by OMSRoute for the request's unit of work
    return session


Session = Annotated[AsyncSession, Depends(get_session)]
