"""The OpenAPI document: FastAPI's, completed with what the request pipeline really does.

FastAPI knows each operation's parameters, body and success. What ``OMSRoute`` and its dependencies add is
derived here, once, from each route: every operation can be a 400 (an unknown parameter, a malformed value),
a 429 (a rate limit, with ``RateLimit-Policy`` and ``RateLimit`` on every answer) and a 503 (the database or
the chain node unavailable); an authenticated one a 401 and carries the bearer scheme with the one scope its
route needs (``needs``: the security requirement's role, a sentence of the description, and the 403 of a key
without it); one with a path id a 404; a write a 413 (the body limit); an idempotent POST a required
``Idempotency-Key`` and its 409 (in use) and 422 (reused). The business answers an endpoint gives besides (403
endorsements, 409 states, 422 rules) are declared on its route with ``errors(…)`` (``oms.responses``).
FastAPI's own 422 "validation error" is dropped: the API answers 400 in its envelope instead.

Examples: each error status has one here; each operation's request, parameters and success answer were
recorded from a real sandbox server (``openapi_examples.json``, made by ``python -m tests.openapi_examples``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic.json_schema import models_json_schema

from oms.auth.dependencies import ScopeNeeded, authenticate, require_idempotency_key
from oms.idempotency import MAX_KEY_LENGTH, ORIGINAL_REQUEST_HEADER, REPLAY_HEADER
from oms.responses import ERRORS, ErrorEnvelope
from oms.routing import WRITE_METHODS

BEARER = "bearerAuth"
REF = "#/components/schemas/{model}"


_HEADERS: dict[str, dict[str, Any]] = {
    "Request-Id": {"description": "This request's id (also the error body's requestId)", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}},
    "RateLimit-Policy": {"description": "The rate limits of this route, for the key and for the address "
                         "(draft-ietf-httpapi-ratelimit-headers-11): `\"read-key\";q=600000;w=60`",
                         "schema": {"type": "string"}},
    "RateLimit": {"description": "What is left of each limit and the seconds until its window ends: "
                  "`\"read-key\";r=599990;t=42`", "schema": {"type": "string"}},
    "WWW-Authenticate": {"description": "The scheme to authenticate with", "schema": {"type": "string"}},
    REPLAY_HEADER: {"description": "`true` on a replay of a stored answer", "schema": {"type": "string"}},
    ORIGINAL_REQUEST_HEADER: {"description": "On a replay: the id of the request that made the answer",
                              "schema": {"type": "string"}},
}  # fmt: skip


def install(app: FastAPI) -> None:
    """Serve the completed document at the app's ``openapi_url`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend its document


def document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
        separate_input_output_schemas=app.separate_input_output_schemas,
    )
    components = add_error_envelope(doc)
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The accessToken from POST /auth/token (valid 3600 s).",
        }
    }
    recorded = json.loads(resources.files("oms").joinpath("openapi_examples.json").read_text())
    # A parameter's example is its value in any recorded call (the same webhook_id, the same limit).
    parameters = {name: value for call in recorded.values() for name, value in call.get("parameters", {}).items()}
    for route in iter_route_contexts(app.routes):  # the included routers' routes, with their prefixes
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                operation = doc["paths"][route.path_format][method.lower()]
                _complete(operation, route, method)
                _exemplify(operation, recorded.get(f"{method.lower()} {route.path_format}", {}), parameters)
    _exemplify_by_schema(doc)
    return doc


def add_error_envelope(doc: dict[str, Any]) -> dict[str, Any]:
    """The error envelope's schemas in place of FastAPI's validation error's (a validation failure is a 400 in
    the envelope here); the document's components, to complete. Route schemas are all collected by now."""
    components: dict[str, Any] = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _, envelope = models_json_schema([(ErrorEnvelope, "serialization")], ref_template=REF)
    schemas.update(envelope["$defs"])
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return components


def drop_validation_error(responses: dict[str, Any]) -> None:
    """FastAPI's own 422 "Validation Error" answer: a validation failure is a 400 in the envelope instead."""
    if responses.get("422", {}).get("description") == "Validation Error":
        del responses["422"]


def scopes_needed(dependant: Dependant) -> list[str]:
    """The scopes a route's dependencies need (``needs``): one for every authenticated ``/v0.9`` route."""
    return sorted({call.scope for each in dependants(dependant) if isinstance(call := each.call, ScopeNeeded)})


def _complete(operation: dict[str, Any], route: RouteContext, method: str) -> None:
    calls = {dependant.call for dependant in dependants(route.dependant)}
    authenticated, idempotent = authenticate in calls, require_idempotency_key in calls
    scopes = scopes_needed(route.dependant)
    responses: dict[str, Any] = operation["responses"]
    drop_validation_error(responses)
    derived = {400, 429, 503}  # every route is rate limited (oms/ratelimit)
    derived |= {401} if authenticated else set()
    derived |= {404} if any(path_params(route.dependant)) else set()
    derived |= {413} if method in WRITE_METHODS else set()
    derived |= {409, 422} if idempotent else set()
    declared = {int(code) for code in responses if code.startswith(("4", "5"))}
    for status in sorted(derived | declared):
        responses[str(status)] = _error_response(status, authenticated)
    if scopes:
        responses["403"] = _scope_refused(scopes, business=responses.get("403"))
    for code, response in responses.items():
        response.setdefault("headers", {})["Request-Id"] = _HEADERS["Request-Id"]
        for name in ("RateLimit-Policy", "RateLimit"):  # when rate limits are on (OMS_RATE_LIMITS)
            response["headers"][name] = _HEADERS[name]
        if idempotent and code.startswith("2"):
            for name in (REPLAY_HEADER, ORIGINAL_REQUEST_HEADER):
                response["headers"][name] = _HEADERS[name]
    if authenticated:
        # OpenAPI 3.1 lets a non-OAuth scheme's requirement list roles: here, the key's scope the route needs.
        operation["security"] = [{BEARER: scopes}]
    if scopes:
        needed = " and ".join(f"`{scope}`" for scope in scopes)
        sentence = f"Needs an API key with the scope {needed} (otherwise 403 `insufficient_scope`)."
        operation["description"] = (
            f"{operation['description']}\n\n{sentence}" if operation.get("description") else sentence
        )
    if idempotent:
        _require_idempotency_key(operation)


def _scope_refused(scopes: list[str], *, business: dict[str, Any] | None) -> dict[str, Any]:
    """The 403 of a key without the route's scope; a route's own 403 (an endorsement) keeps its example."""
    needed = " and ".join(scopes)
    if business is not None:
        reason = business["description"]
        business["description"] = f"The API key lacks the scope {needed}, or {reason[0].lower()}{reason[1:]}"
        return business
    refused = _error_response(403, authenticated=True)
    refused["description"] = f"The API key lacks the scope {needed}"
    refused["content"]["application/json"]["example"]["error"].update(
        code="insufficient_scope", message=f"This API key lacks the scope {scopes[0]}.", param=None
    )
    return refused


def _error_response(status: int, authenticated: bool) -> dict[str, Any]:
    description, kind, code, message, param = ERRORS[status]
    if status == 401 and not authenticated:
        code, message = "invalid_api_key", "Invalid API key or secret."
    example = {"error": {"type": kind, "code": code, "message": message, "param": param,
                         "requestId": "req_01m87v8v0eeg3vtmzv0jcx0g3e"}}  # fmt: skip
    named = {401: ["WWW-Authenticate"], 429: ["Retry-After"], 503: ["Retry-After"]}.get(status, [])
    headers = {name: _HEADERS[name] for name in named}
    return {
        "description": description,
        "headers": headers,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}, "example": example}},
    }


def _exemplify(operation: dict[str, Any], recorded: dict[str, Any], parameters: dict[str, Any]) -> None:
    """The recorded request, parameters and success answer of this operation, as its examples."""
    values = {**parameters, **recorded.get("parameters", {})}
    for parameter in operation.get("parameters", []):
        if parameter["name"] in values:
            parameter["example"] = values[parameter["name"]]
    if "request" in recorded and "requestBody" in operation:
        operation["requestBody"]["content"]["application/json"]["example"] = recorded["request"]
    for code, body in recorded.get("responses", {}).items():
        if code in operation["responses"]:
            operation["responses"][code]["content"]["application/json"]["example"] = body


def _exemplify_by_schema(doc: dict[str, Any]) -> None:
    """A success answer not recorded for its own operation shows another one's answer of the same schema."""
    media = [
        response["content"]["application/json"]
        for operations in doc["paths"].values()
        for operation in operations.values()
        for response in operation["responses"].values()
        if "application/json" in response.get("content", {})
    ]
    by_schema = {json.dumps(m["schema"], sort_keys=True): m["example"] for m in media if "example" in m}
    for each in media:
        if "example" not in each and (known := by_schema.get(json.dumps(each["schema"], sort_keys=True))):
            each["example"] = known


def _require_idempotency_key(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key":
            parameter["required"] = True
            parameter["description"] = (
                "Unique per intended request (a UUID). A retry with the same key and body replays the first "
                "answer; with another body it is 422."
            )
            # The pattern asks for one non-space character: a blank key is refused as missing.
            parameter["schema"] = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"\S"}
            parameter["example"] = "5f0c6a4e-3b1d-4e8a-9f7e-2a6d1c9b8e41"


def dependants(dependant: Dependant) -> Iterator[Dependant]:
    """A route's dependant and all it depends on, however deep: what the route's pipeline runs."""
    yield dependant
    for sub in dependant.dependencies:
        yield from dependants(sub)


def path_params(dependant: Dependant) -> Iterator[Any]:
    for each in dependants(dependant):
        yield from each.path_params
