"""The OpenAPI document declares what the API really does: every status each operation answers, in the error
envelope; the bearer scheme on every authenticated operation; the required Idempotency-Key; an example of
each request, parameter and answer, valid against its schema and answered as declared by the real app."""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema_rs
import pytest

from oms import API_PREFIX
from tests.support import Api

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
            # with the one scope the route needs as its role (tests/auth/test_scopes.py)
            [requirement] = operation["security"]
            assert list(requirement) == ["bearerAuth"] and len(requirement["bearerAuth"]) == 1, (method, path)


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


def validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    """A JSON Schema 2020-12 validator (OpenAPI 3.1's dialect) resolving the document's components."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})


def test_every_request_response_and_parameter_has_an_example_valid_against_its_schema(
    document: dict[str, Any],
) -> None:
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" or parameter.get("required"):
                assert "example" in parameter, (method, path, parameter["name"])
        media = (
            [("request", operation["requestBody"]["content"]["application/json"])] if "requestBody" in operation else []
        )
        media += [(code, response["content"]["application/json"]) for code, response in operation["responses"].items()]
        for where, content in media:
            assert "example" in content, (method, path, where)
            errors = [str(e) for e in validator(document, content["schema"]).iter_errors(content["example"])]
            assert errors == [], (method, path, where, errors)


async def test_each_request_example_gets_a_declared_answer_that_matches_its_schema(
    api: Api, document: dict[str, Any]
) -> None:
    """Each operation's example request, sent as it is (its ids are another tenant's, so most are a 404): the
    answer's status is declared and its body is that status's declared schema."""
    for method, path, operation in operations(document):
        values = {p["name"]: p["example"] for p in operation.get("parameters", []) if "example" in p}
        query = {p["name"]: values[p["name"]] for p in operation.get("parameters", []) if p["in"] == "query"
                 and p["name"] in values}  # fmt: skip
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
        headers = api.headers({"Idempotency-Key": str(uuid.uuid4())} if header(operation, "Idempotency-Key") else {})
        response = await api.client.request(
            method, path.removeprefix(API_PREFIX).format(**values), params=query, json=body, headers=headers
        )
        declared = operation["responses"].get(str(response.status_code))
        assert declared is not None, (method, path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/json", (method, path)
        schema = declared["content"]["application/json"]["schema"]
        errors = [str(e) for e in validator(document, schema).iter_errors(response.json())]
        assert errors == [], (method, path, response.status_code, errors)
