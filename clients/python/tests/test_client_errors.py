"""Errors: one exception tree mirroring the error envelope's ``type``, each carrying the HTTP status, ``code``,
``param`` and ``request_id`` of the server's answer."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Server

from oms.auth.service import IssuedKey
from oms_client import (
    OMS,
    AsyncOMS,
    InvalidRequestError,
    NotFoundError,
    OMSError,
    PermissionDeniedError,
    UnprocessableError,
)
from tests.support import FULL_IDENTITY


async def test_a_missing_resource_is_a_not_found_error(oms: AsyncOMS) -> None:
    with pytest.raises(NotFoundError) as raised:
        await oms.get_customer("cst_01m87v8v0eeg3vtmzv0jcx0g3d")
    error = raised.value
    assert isinstance(error, OMSError) and error.type == "not_found_error"
    assert (error.status, error.code) == (404, "resource_missing")
    assert error.request_id and error.request_id.startswith("req_")
    assert "cst_01m87v8v0eeg3vtmzv0jcx0g3d" in error.message


async def test_a_bad_parameter_is_an_invalid_request_error_naming_it(oms: AsyncOMS) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        await oms.list_transactions(ending_before="txn_unknown")
    assert (raised.value.status, raised.value.code, raised.value.param) == (400, "invalid_cursor", "endingBefore")


async def test_a_business_rule_is_an_unprocessable_error(oms: AsyncOMS) -> None:
    customer = await oms.create_customer({})
    await oms.create_wallet(customer.id, {"asset": "usdc", "chain": "polygon"}, idempotency_key="wlt-1")
    with pytest.raises(UnprocessableError) as raised:
        await oms.create_wallet(customer.id, {"asset": "usdt", "chain": "polygon"}, idempotency_key="wlt-1")
    assert (raised.value.status, raised.value.code) == (422, "idempotency_key_reused")
    assert raised.value.param == "Idempotency-Key"


async def test_a_customer_without_the_endorsement_is_a_permission_error(oms: AsyncOMS) -> None:
    rejected = await oms.create_customer({**FULL_IDENTITY, "lastName": "Reject"})
    with pytest.raises(PermissionDeniedError) as raised:
        await oms.create_wallet(rejected.id, {"asset": "usdc", "chain": "polygon"})
    assert raised.value.status == 403 and raised.value.code


async def test_the_sync_client_raises_the_same_errors(oms_server: Server, issued: IssuedKey) -> None:
    def missing() -> NotFoundError:
        with OMS(oms_server.url, issued.key_id, issued.secret) as oms, pytest.raises(NotFoundError) as raised:
            oms.get_wallet_balance("wlt_01m87v8v96ep69k7ss0nt3wjmm")
        return raised.value

    error = await asyncio.to_thread(missing)
    assert (error.status, error.code, error.param) == (404, "resource_missing", None)
