"""Bad input of every kind is a 400 naming its parameter, never a 5xx (issue 12, defect 4), on both databases."""

from __future__ import annotations

from typing import Any

import pytest

from oms.customer.schemas import MAX_METADATA_DEPTH
from tests.support import Api, assert_error, create_customer

LISTS = ["/customers", "/transactions", "/events", "/cash-ins", "/webhooks"]


def nested(levels: int) -> dict[str, Any]:
    """A metadata object ``levels`` deep (the object itself is level 1)."""
    value: dict[str, Any] = {"leaf": "x"}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


async def test_a_body_that_is_not_utf8_is_400(api: Api) -> None:
    headers = api.headers({"Idempotency-Key": "not-utf8", "Content-Type": "application/json"})
    response = await api.client.post("/customers", content=b'{"firstName": "\xc3\x28"}', headers=headers)
    assert_error(response, 400, "invalid_json")


async def test_a_body_nested_beyond_the_parsers_is_400(api: Api) -> None:
    headers = api.headers({"Idempotency-Key": "too-deep", "Content-Type": "application/json"})
    body = b'{"metadata": ' + b'{"k":' * 10_000 + b"1" + b"}" * 10_001
    response = await api.client.post("/customers", content=body, headers=headers)
    assert response.status_code == 400, response.text  # invalid_json, or over the metadata depth: never a 5xx


async def test_nul_in_a_body_string_is_400_naming_it(api: Api) -> None:
    response = await api.post("/customers", {"firstName": "Ada\u0000", "metadata": {"ok": "fine"}})
    assert_error(response, 400, "parameter_invalid", param="firstName")
    response = await api.post("/customers", {"metadata": {"list": ["a", {"deep": "b\u0000"}]}})
    assert_error(response, 400, "parameter_invalid", param="metadata.list.1.deep")


async def test_nul_in_a_metadata_key_is_400(api: Api) -> None:
    response = await api.post("/customers", {"metadata": {"bad\u0000key": "x"}})
    assert_error(response, 400, "parameter_invalid", param="metadata.badkey")


async def test_nul_in_a_path_id_is_400_naming_it(api: Api) -> None:
    assert_error(await api.get("/customers/cst_%00x"), 400, "parameter_invalid", param="customer_id")
    response = await api.post("/customers/cst_%00/wallets", {"asset": "usdc", "chain": "polygon"})
    assert_error(response, 400, "parameter_invalid", param="customer_id")


async def test_nul_in_a_query_value_is_400_naming_it(api: Api) -> None:
    assert_error(await api.get("/customers", email="a\u0000@example.com"), 400, "parameter_invalid", param="email")
    assert_error(await api.get("/transactions", startingAfter="tx_\u0000"), 400, param="startingAfter",
                 code="parameter_invalid")  # fmt: skip


async def test_an_escaped_backslash_before_u0000_is_not_a_nul(api: Api) -> None:
    customer = await create_customer(api, metadata={"path": "C:\\u0000"})
    assert customer["metadata"] == {"path": "C:\\u0000"}


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("name", ["createdAfter", "createdBefore"])
@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
async def test_an_out_of_range_creation_date_is_400(api: Api, path: str, name: str, moment: str) -> None:
    assert_error(await api.get(path, **{name: moment}), 400, "parameter_invalid", param=name)


@pytest.mark.parametrize("value", ["1700000000", "1700000000.5", "0", "true"])
async def test_a_creation_date_given_as_a_number_is_400(api: Api, value: str) -> None:
    assert_error(await api.get("/customers", createdAfter=value), 400, "parameter_invalid", param="createdAfter")


async def test_a_creation_date_at_the_edges_of_the_calendar_is_accepted(api: Api) -> None:
    response = await api.get("/customers", createdAfter="0001-01-01T00:00:00Z", createdBefore="9999-12-31T23:59:59Z")
    assert response.status_code == 200, response.text


async def test_metadata_nested_500_levels_is_400(api: Api) -> None:
    assert_error(await api.post("/customers", {"metadata": nested(500)}), 400, "parameter_invalid", param="metadata")


async def test_metadata_at_the_maximum_depth_is_kept(api: Api) -> None:
    customer = await create_customer(api, metadata=nested(MAX_METADATA_DEPTH))
    assert customer["metadata"] == nested(MAX_METADATA_DEPTH)
    response = await api.post("/customers", {"metadata": nested(MAX_METADATA_DEPTH + 1)})
    assert_error(response, 400, "parameter_invalid", param="metadata")


async def test_a_wrong_method_is_405_with_allow(api: Api) -> None:
    response = await api.client.delete("/customers", headers=api.headers())
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
