"""One exception tree mirroring the error envelope's ``type``.

Every error the server answers is ``{"error": {"type", "code", "message", "param", "requestId"}}``; the client
raises the class of its ``type`` (or, for an answer without the envelope, of its HTTP status), carrying ``status``,
``code``, ``param`` and ``request_id``. Failures to reach the server at all are :class:`APIConnectionError`.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx


class OMSError(Exception):
    """Base of every error the client raises."""

    type: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.param = param
        self.request_id = request_id
        # Seconds the server asked the client to wait (``Retry-After``), if it did.
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.status} {self.code}: {self.message}{where}" if self.status else self.message


class APIConnectionError(OMSError):
    """The server could not be reached, or the connection broke or timed out before an answer."""

    type = "connection_error"

    def __init__(self, message: str, *, repeatable: bool = True) -> None:
        super().__init__(message)
        # Whether sending the request again is safe (a DELETE that may have reached the server is not).
        self.repeatable = repeatable


class InvalidRequestError(OMSError):
    type = "invalid_request_error"


class AuthenticationError(OMSError):
    type = "authentication_error"


class PermissionDeniedError(OMSError):
    type = "permission_error"


class NotFoundError(OMSError):
    type = "not_found_error"


class ConflictError(OMSError):
    type = "conflict_error"


class UnprocessableError(OMSError):
    type = "unprocessable_error"


class RateLimitError(OMSError):
    type = "rate_limit_error"


class APIError(OMSError):
    """The server's own trouble (``api_error``): 5xx, including 503 ``service_unavailable``."""

    type = "api_error"


BY_TYPE: dict[str, type[OMSError]] = {
    cls.type: cls
    for cls in (
        InvalidRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableError,
        RateLimitError,
        APIError,
    )
}
# For an answer without the envelope (a proxy's, a load balancer's).
BY_STATUS: dict[int, type[OMSError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: InvalidRequestError,
    422: UnprocessableError,
    429: RateLimitError,
}


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


def from_response(response: httpx.Response) -> OMSError:
    """The typed error of a non-2xx answer."""
    envelope: dict[str, Any] = {}
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            envelope = body["error"]
    except ValueError:
        pass
    status = response.status_code
    cls = BY_TYPE.get(str(envelope.get("type")), BY_STATUS.get(status, APIError if status >= 500 else OMSError))
    return cls(
        str(envelope.get("message") or response.reason_phrase or f"HTTP {status}"),
        status=status,
        code=envelope.get("code"),
        param=envelope.get("param"),
        request_id=envelope.get("requestId") or response.headers.get("request-id"),
        retry_after=retry_after(response),
    )
