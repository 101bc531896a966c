"""The response contract: every 2xx body the suite produces is valid against the OpenAPI document.

Endpoints return ``JSONResponse`` directly, so FastAPI never checks a body against the operation's declared
``response_model`` (on purpose: validating every answer costs the request path). The suite checks instead:
``checking(contract)`` wraps ``httpx.AsyncClient.send`` and ``httpx.Client.send`` for the session, so every
answer any test's client receives (an ASGI client of the app, a client of ``oms serve`` on loopback, the Python
client) whose request is a documented operation and whose status is 2xx is validated at the point of the call,
against the app's own document: the status must be declared for the operation and the body must match that
status's schema. A mismatch raises ``AssertionError`` in the test that produced the body.

Requests to anything else (the health endpoints, the document itself, a webhook receiver, a chain node) pass
unchecked, and so do streamed answers (``stream=True``: their body is not read here) and ``STAND_IN`` answers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jsonschema_rs
import orjson
import pytest

# What a test's stand-in for the regular endpoints answers (the hot lanes' tests put one behind the lane to see
# what it passes on): not an answer of the API, so not checked.
STAND_IN = 299


class Contract:
    """The document's operations, matched by method and path, and a validator per operation and status."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components = document.get("components", {})
        templates = sorted(document["paths"].items(), key=lambda item: item[0].count("{"))  # literal routes first
        self.paths = [(re.compile(re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), path, ops) for path, ops in templates]
        self._validators: dict[tuple[str, str, str], jsonschema_rs.Draft202012Validator | None] = {}
        # What was checked this session: (method, path template, status) -> how many bodies.
        self.checked: Counter[tuple[str, str, int]] = Counter()

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The documented (path template, operation) that answers ``method path``, if any."""
        for pattern, template, operations in self.paths:
            if method.lower() in operations and pattern.match(path):
                return template, operations[method.lower()]
        return None

    def check(self, method: str, path: str, response: httpx.Response) -> None:
        """Raise ``AssertionError`` if ``response`` is a 2xx of a documented operation that its document refuses."""
        if not 200 <= response.status_code < 300 or response.status_code == STAND_IN:
            return
        found = self.operation(method, path)
        if found is None:
            return
        template, operation = found
        where = f"{method.upper()} {template} answered {response.status_code}"
        validator = self._validator(template, method, operation, response.status_code, where)
        self.checked[(method.upper(), template, response.status_code)] += 1
        if validator is None:  # declared without a body
            assert not response.content, f"{where} with a body its document does not declare: {response.text[:500]}"
            return
        content_type = response.headers.get("content-type", "")
        assert content_type.startswith("application/json"), f"{where} as {content_type!r}, not JSON"
        body = orjson.loads(response.content)
        errors = [f"{'/'.join(map(str, error.instance_path)) or '(body)'}: {error.message}"
                  for error in validator.iter_errors(body)]  # fmt: skip
        assert not errors, f"{where} with a body its OpenAPI schema refuses: {errors}\n{response.text[:2000]}"

    def _validator(
        self, template: str, method: str, operation: dict[str, Any], status: int, where: str
    ) -> jsonschema_rs.Draft202012Validator | None:
        key = (template, method.lower(), str(status))
        if key not in self._validators:
            declared = operation["responses"].get(str(status))
            assert declared is not None, f"{where}, a status its document does not declare"
            schema = declared.get("content", {}).get("application/json", {}).get("schema")
            document = None if schema is None else {**schema, "components": self.components}
            self._validators[key] = None if document is None else jsonschema_rs.Draft202012Validator(document)
        return self._validators[key]


_active: Contract | None = None


@contextmanager
def checking(contract: Contract) -> Iterator[Contract]:
    """Every httpx client's answers checked against ``contract`` while inside (see the module's docstring). Inside
    an enclosing ``checking``, the enclosing one goes on checking (once)."""
    global _active
    if _active is not None:
        yield _active
        return
    async_send, sync_send = httpx.AsyncClient.send, httpx.Client.send

    async def checked_async_send(self: httpx.AsyncClient, request: httpx.Request, **options: Any) -> httpx.Response:
        response = await async_send(self, request, **options)
        if not options.get("stream"):
            contract.check(request.method, request.url.path, response)
        return response

    def checked_send(self: httpx.Client, request: httpx.Request, **options: Any) -> httpx.Response:
        response = sync_send(self, request, **options)
        if not options.get("stream"):
            contract.check(request.method, request.url.path, response)
        return response

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx.AsyncClient, "send", checked_async_send)
        patch.setattr(httpx.Client, "send", checked_send)
        _active = contract
        try:
            yield contract
        finally:
            _active = None
