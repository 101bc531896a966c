"""What a route answers: JSON rendered with orjson (compact, fast and byte-stable for idempotent replay), and
the error envelope a route declares with ``errors(…)`` (the OpenAPI document, ``oms.openapi``, adds the rest)."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict
from starlette.responses import JSONResponse as StarletteJSONResponse


class JSONResponse(StarletteJSONResponse):
    # The ``id`` of the resource the answer is (a document with a string ``id``): what the audit log records
    # as a write's object, read here so that nothing parses the rendered body again.
    resource_id: str | None = None

    def render(self, content: Any) -> bytes:
        if isinstance(content, dict):
            found = content.get("id")
            self.resource_id = found if isinstance(found, str) else None
        return orjson.dumps(content)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(title="ErrorDetail")
    type: Literal[
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "conflict_error",
        "unprocessable_error",
        "rate_limit_error",
        "api_error",
    ]
    code: str
    message: str
    param: str | None
    requestId: str | None


class ErrorEnvelope(BaseModel):
    """Every error the API answers, whatever its status."""

    model_config = ConfigDict(title="ErrorEnvelope")
    error: ErrorDetail


# Each status: what it means here, and an example of its envelope.
ERRORS: dict[int, tuple[str, str, str, str, str | None]] = {
    400: ("Bad request: a parameter is missing, unknown or invalid", "invalid_request_error", "parameter_invalid",
          "Invalid limit: Input should be less than or equal to 100.", "limit"),
    401: ("The bearer token (or the API key) is missing, invalid or expired", "authentication_error", "invalid_token",
          "Invalid or expired access token.", None),
    403: ("The customer may not do this (inactive, or an endorsement it lacks)", "permission_error",
          "endorsement_required", "Customer 'cst_01m87v8v0eeg3vtmzv0jcx0g3d' lacks the cryptoCustody endorsement.",
          "customerId"),
    404: ("No such resource for this tenant", "not_found_error", "resource_missing",
          "No such customer: 'cst_01m87v8v0eeg3vtmzv0jcx0g3d'.", None),
    409: ("Conflict with the resource's state, or the Idempotency-Key is in use by a request in flight",
          "conflict_error", "idempotency_key_in_use",
          "A request with this Idempotency-Key is still being processed; retry shortly.", "Idempotency-Key"),
    413: ("The request body is larger than the server accepts", "invalid_request_error", "body_too_large",
          "The request body exceeds 65536 bytes.", None),
    422: ("The request is well formed but a rule refuses it, or the Idempotency-Key was used with another request",
          "unprocessable_error", "idempotency_key_reused", "This Idempotency-Key was used with a different request.",
          "Idempotency-Key"),
    429: ("Too many requests (a rate limit of this key or address), or sign-ins locked out after failures: retry "
          "after Retry-After", "rate_limit_error", "rate_limited",
          "Too many requests: 'read-key' allows 600000 per 60 s; retry after 12 s.", None),
    503: ("The database or the chain node is unavailable or timed out: retry after Retry-After", "api_error",
          "service_unavailable", "The database is unavailable; retry later.", None),
}  # fmt: skip


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The business errors a route answers besides those derived from it (for the decorator's ``responses``)."""
    return {status: {"model": ErrorEnvelope, "description": ERRORS[status][0]} for status in statuses}
