"""The OpenAPI document declares what the API really does: every status each operation answers, in the error
envelope; the bearer scheme on every authenticated operation; the required Idempotency-Key."""

from __future__ import annotations

from typing import Any

import pytest

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
TOKEN_EXCHANGE = ("post", "/v0.9/auth/token")


@pytest.fixture
async def document(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]
    assert len(found) >= 48
    return found


def statuses(operation: dict[str, Any]) -> set[int]:
    return {int(code) for code in operation["responses"]}


def header(operation: dict[str, Any], name: str) -> dict[str, Any] | None:
    found = [p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"] == name]
    return found[0] if found else None


def test_every_error_is_the_envelope_and_no_validation_422_of_fastapi_remains(document: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert set(document["components"]["schemas"]["ErrorEnvelope"]["required"]) == {"error"}
    for method, path, operation in operations(document):
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == ENVELOPE, (method, path, code)
                assert response["content"]["application/json"]["example"]["error"]["code"], (method, path, code)


def test_every_operation_declares_bad_input_and_outages(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        assert {400, 503} <= statuses(operation), (method, path)
        assert "Retry-After" in operation["responses"]["503"]["headers"], (method, path)
        if "{" in path:
            assert 404 in statuses(operation), (method, path)
        if method in {"post", "patch", "delete"}:
            assert 413 in statuses(operation), (method, path)


def test_authenticated_operations_carry_the_bearer_scheme(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for method, path, operation in operations(document):
        assert 401 in statuses(operation), (method, path)  # the token exchange: a wrong key or secret
        if (method, path) == TOKEN_EXCHANGE:
            assert "security" not in operation
        else:
            assert operation["security"] == [{"bearerAuth": []}], (method, path)


def test_every_post_but_the_token_exchange_requires_an_idempotency_key(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        key = header(operation, "Idempotency-Key")
        if method != "post" or (method, path) == TOKEN_EXCHANGE:
            assert key is None, (method, path)
            continue
        assert key is not None and key["required"] is True, (method, path)
        assert {409, 422} <= statuses(operation), (method, path)  # a twin in flight; the key reused


@pytest.mark.parametrize(
    ("method", "path", "business"),
    [
        ("post", "/v0.9/customers/{customer_id}/wallets", {403, 409}),
        ("post", "/v0.9/quotes", {403, 404}),
        ("post", "/v0.9/transactions", {403, 404, 409, 422}),
        ("patch", "/v0.9/virtual-accounts/{virtual_account_id}", {403, 409}),
        ("post", "/v0.9/cash-ins/simulate/barcode-auth", {404, 409, 422}),
    ],
)
def test_business_answers_are_declared(document: dict[str, Any], method: str, path: str, business: set[int]) -> None:
    assert business <= statuses(document["paths"][path][method])
