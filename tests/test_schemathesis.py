"""The OpenAPI document is the server's contract: schemathesis sends what the document allows (and what it does
not) to a real server on loopback and checks every answer: never a 5xx, every status declared for its
operation, the declared content type, and a body that validates against the declared schema.

Bounded (``MAX_EXAMPLES`` per operation) and derandomized, so a run is reproducible and takes a minute or two.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from oms.config import Settings
from oms.context import AppContext
from tests.support import create_key, free_port, process_env, wait_until_serving

# Per operation, in the suite; a deeper run by hand: OMS_SCHEMATHESIS_EXAMPLES=500 pytest tests/test_schemathesis.py
MAX_EXAMPLES = int(os.environ.get("OMS_SCHEMATHESIS_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
async def served(settings: Settings, ctx: AppContext) -> AsyncIterator[dict[str, str]]:
    """``oms serve`` on loopback over the suite's database, and a bearer token of a tenant of its own."""
    port = free_port()
    env = {**process_env(settings), "OMS_HOST": "127.0.0.1", "OMS_PORT": str(port), "OMS_WORKERS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "oms", "serve"], env=env)
    base = f"http://127.0.0.1:{port}/v0.9"
    try:
        await wait_until_serving(f"{base}/openapi.json")
        issued = await create_key(ctx)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            token = await http.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})
            http.headers["Authorization"] = f"Bearer {token.json()['accessToken']}"
            yield {"base": base, "token": token.json()["accessToken"], **await _resources(http)}
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _resources(http: httpx.AsyncClient) -> dict[str, str]:
    """Resources of the tenant, by the path parameter naming them, so operations on them are reached too."""

    async def create(path: str, body: dict[str, Any]) -> str:
        response = await http.post(path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    customer = await create("/customers", {})  # the quickstart's customer: endorsed at once in sandbox
    usdc = {"asset": "usdc", "network": "polygon"}
    wallet = await create(f"/customers/{customer}/wallets", {"asset": "usdc", "chain": "polygon"})
    payee = await create(f"/customers/{await create('/customers', {})}/wallets", {"asset": "usdc", "chain": "polygon"})
    into_wallet = {**usdc, "wallet": {"id": wallet}}
    return {
        "customer_id": customer,
        "wallet_id": wallet,
        "quote_id": await create(
            "/quotes",
            {
                "customerId": customer,
                "source": {"walletId": wallet, **usdc, "amount": "1.00"},
                "destination": {**usdc, "wallet": {"id": payee}},
            },
        ),
        "virtual_account_id": await create(
            f"/customers/{customer}/virtual-accounts", {"source": {"asset": "usd", "network": "usBank"},
                                                        "destination": into_wallet}
        ),
        "deposit_address_id": await create(
            f"/customers/{customer}/deposit-addresses", {"source": usdc, "destination": into_wallet}
        ),
    }  # fmt: skip


@pytest.fixture(scope="module")
def api_schema(served: dict[str, str]) -> Any:
    return schemathesis.openapi.from_url(f"{served['base']}/openapi.json")


def test_every_answer_conforms_to_the_document(api_schema: Any, served: dict[str, str]) -> None:
    failures: dict[str, BaseException] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        try:
            _explore(operation, served)
        except Exception as failure:  # every operation is explored; all that fail are reported together
            failures[operation.label] = failure
    assert not failures, "\n\n".join(f"{label}:\n{failure}" for label, failure in failures.items())


def _explore(operation: Any, served: dict[str, str]) -> None:
    """What the document allows and what it refuses (positive and negative cases), ``MAX_EXAMPLES`` of them."""
    strategies = [operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    names = {parameter.name for parameter in operation.path_parameters}
    if names and names <= served.keys():  # and the same operation on a resource that exists
        known = {name: served[name] for name in names}
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    cases = st.one_of(strategies)

    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: Any) -> None:
        headers = {"Authorization": f"Bearer {served['token']}"}
        if case.headers and "Idempotency-Key" in case.headers:
            # A fresh key, so each case executes rather than replaying (or colliding with) an earlier one.
            headers["Idempotency-Key"] = str(uuid.uuid4())
        case.call_and_validate(base_url=served["base"].removesuffix("/v0.9"), headers=headers, checks=CHECKS)

    conforms()
