"""The response contract (tests/contract.py) can fail: a body its schema refuses, an undeclared success status and
a non-JSON answer are each caught at the call that received them; what is not a documented operation is not."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from oms.wallet import service as wallets
from tests.contract import STAND_IN, Contract
from tests.support import Api, create_customer, create_wallet


async def test_a_body_its_schema_refuses_fails_the_call_that_received_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    rendered = wallets.render

    def without_address(wallet: Any) -> Any:
        body = dict(rendered(wallet))
        del body["address"]
        return body | {"status": "frozen"}

    monkeypatch.setattr(wallets, "render", without_address)
    with pytest.raises(AssertionError, match=r"GET /v0\.9/customers/\{customer_id\}/wallets answered 200") as caught:
        await api.get(f"/customers/{customer['id']}/wallets")
    assert 'data/0: "address" is a required property' in str(caught.value)
    assert "data/0/status" in str(caught.value)
    monkeypatch.undo()
    listed = await api.get(f"/customers/{customer['id']}/wallets")  # the same call, rendered right: checked, passes
    assert [w["id"] for w in listed.json()["data"]] == [wallet["id"]]


def test_an_undeclared_success_status_or_a_body_that_is_not_json_is_caught(response_contract: Contract) -> None:
    request = httpx.Request("GET", "http://oms.test/v0.9/wallets/wlt_1/balance")
    with pytest.raises(AssertionError, match="a status its document does not declare"):
        response_contract.check("GET", request.url.path, httpx.Response(201, json={}, request=request))
    with pytest.raises(AssertionError, match="not JSON"):
        response_contract.check("GET", request.url.path, httpx.Response(200, text="0.00", request=request))


def test_what_is_not_a_documented_operation_or_not_a_success_is_not_checked(response_contract: Contract) -> None:
    before = sum(response_contract.checked.values())
    unchecked = [("GET", "/health/ready", 200), ("GET", "/v0.9/wallets/wlt_1/balance", 404),
                 ("PUT", "/v0.9/wallets/wlt_1/balance", 200), ("POST", "/hooks/receiver", 200),
                 ("POST", "/v0.9/quotes", STAND_IN)]  # fmt: skip
    for method, path, status in unchecked:
        response_contract.check(method, path, httpx.Response(status, text="anything"))
    assert sum(response_contract.checked.values()) == before


def test_a_literal_route_wins_over_a_template_beside_it(response_contract: Contract) -> None:
    found = response_contract.operation("post", "/v0.9/cash-ins/simulate/barcode-auth")
    assert found is not None and found[0] == "/v0.9/cash-ins/simulate/barcode-auth"
