"""The typed error tree. Domain code raises these; one handler renders the API's error envelope."""

from __future__ import annotations

from typing import ClassVar


class OMSError(Exception):
    """An error with its HTTP status, envelope ``type`` and stable ``code``."""

    # Each subclass sets its own; an instance sets them only for Starlette's own statuses (routing.http_error).
    status: int = 500
    type: str = "api_error"
    # Business answers (4xx raised while executing a request) are stored for idempotent replay.
    replayable: ClassVar[bool] = True

    def __init__(
        self, code: str, message: str, *, param: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}

    def envelope(self, request_id: str | None) -> dict[str, object]:
        return {
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
                "requestId": request_id,
            }
        }


class InvalidRequest(OMSError):
    status = 400
    type = "invalid_request_error"


class AuthenticationFailed(OMSError):
    status = 401
    type = "authentication_error"
    replayable = False

    def __init__(self, message: str = "Invalid or expired credentials.", code: str = "invalid_token") -> None:
        super().__init__(code, message, headers={"WWW-Authenticate": "Bearer"})


class PermissionDenied(OMSError):
    status = 403
    type = "permission_error"


class InsufficientScope(PermissionDenied):
    """The caller's API key lacks the scope the request needs. Not stored for replay: once the key is given the
    scope, a retry with the same Idempotency-Key runs (like an authentication failure)."""

    replayable = False

    def __init__(self, scope: str) -> None:
        super().__init__("insufficient_scope", f"This API key lacks the scope {scope}.")
        self.scope = scope


class NotFound(OMSError):
    status = 404
    type = "not_found_error"

    @classmethod
    def resource(cls, name: str, identifier: str, param: str | None = None) -> NotFound:
        return cls("resource_missing", f"No such {name}: '{identifier}'.", param=param)


class Conflict(OMSError):
    status = 409
    type = "conflict_error"


class Unprocessable(OMSError):
    status = 422
    type = "unprocessable_error"


class PayloadTooLarge(OMSError):
    status = 413
    type = "invalid_request_error"
    replayable = False


class InternalError(OMSError):
    status = 500
    type = "api_error"
    replayable = False

    def __init__(self) -> None:
        super().__init__("internal_error", "An unexpected error occurred; it has been logged.")


class ServiceUnavailable(OMSError):
    """A system the request needs (the database, the chain node) is unreachable or timed out: retry later."""

    status = 503
    type = "api_error"
    replayable = False
    retry_after_seconds: ClassVar[int] = 2

    def __init__(self, message: str = "The service is temporarily unavailable; retry later.") -> None:
        super().__init__("service_unavailable", message, headers={"Retry-After": str(self.retry_after_seconds)})


class RateLimited(OMSError):
    """Too many requests for a limit (oms.ratelimit), or sign-ins refused during a lockout: retry after
    ``Retry-After`` seconds. Never stored for idempotent replay: the request did not run."""

    status = 429
    type = "rate_limit_error"
    replayable = False

    def __init__(self, code: str, message: str, *, retry_after: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(code, message, headers={**(headers or {}), "Retry-After": str(max(1, retry_after))})
