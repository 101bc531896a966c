"""Python client for OMS servers: every ``/v0.9`` operation typed, sync (:class:`OMS`) and async
(:class:`AsyncOMS`), refreshing its token, retrying safely with one Idempotency-Key per call, paginating,
and verifying webhooks."""

from __future__ import annotations

from oms_client import models
from oms_client._core import RetryPolicy
from oms_client._operations import AsyncOperations, Operations
from oms_client.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OMSError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableError,
)
from oms_client.webhooks import WebhookVerificationError, parse_event, verify

__all__ = [
    "OMS",
    "APIConnectionError",
    "APIError",
    "AsyncOMS",
    "AuthenticationError",
    "ConflictError",
    "InvalidRequestError",
    "NotFoundError",
    "OMSError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "UnprocessableError",
    "WebhookVerificationError",
    "models",
    "parse_event",
    "verify",
]


class OMS(Operations):
    """A blocking client: ``OMS(base_url, api_key, api_secret)``, e.g. ``http://127.0.0.1:8080/v0.9``.
    Use it as a context manager, or ``close()`` it."""

    def __enter__(self) -> OMS:
        return self


class AsyncOMS(AsyncOperations):
    """The asyncio client, with the same methods as :class:`OMS` (awaited; ``iter_*`` are async iterators)."""

    async def __aenter__(self) -> AsyncOMS:
        return self
