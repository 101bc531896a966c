"""The lifecycle virtual accounts and deposit addresses share (oms/funding/instrument): each case runs against
both, through the HTTP API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import update

from oms.models import Customer
from tests.funding.support import customer_with_wallet, identified_customer_with_wallet
from tests.support import Api, assert_error


async def _virtual_account(api: Api, ctx) -> tuple[dict[str, Any], dict[str, Any]]:  # type: ignore[no-untyped-def]
    customer, wallet = await identified_customer_with_wallet(api, ctx)
    body = {"destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}}, "label": "one"}
    response = await api.post(f"/customers/{customer['id']}/virtual-accounts", {**body, "metadata": {"a": "1"}})
    assert response.status_code == 201, response.text
    return customer, response.json()


async def _deposit_address(api: Api, ctx) -> tuple[dict[str, Any], dict[str, Any]]:  # type: ignore[no-untyped-def]
    customer, wallet = await customer_with_wallet(api)
    body = {
        "source": {"asset": "usdc", "network": "polygon"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}},
        "label": "one",
        "metadata": {"a": "1"},
    }
    response = await api.post(f"/customers/{customer['id']}/deposit-addresses", body)
    assert response.status_code == 201, response.text
    return customer, response.json()


Opener = Callable[[Api, Any], Awaitable[tuple[dict[str, Any], dict[str, Any]]]]
INSTRUMENTS = [
    pytest.param("virtual-accounts", "virtual_account", _virtual_account, id="virtual-account"),
    pytest.param("deposit-addresses", "deposit_address", _deposit_address, id="deposit-address"),
]


@pytest.mark.parametrize(("path", "code", "open_one"), INSTRUMENTS)
async def test_pause_and_reactivate_change_the_status_and_the_common_fields(
    api: Api, ctx, path: str, code: str, open_one: Opener
) -> None:
    _, created = await open_one(api, ctx)
    paused = await api.patch(f"/{path}/{created['id']}", {"status": "paused", "metadata": {"a": None, "b": "2"}})
    assert paused.status_code == 200, paused.text
    assert (paused.json()["status"], paused.json()["label"], paused.json()["metadata"]) == ("paused", "one", {"b": "2"})
    again = await api.patch(f"/{path}/{created['id']}", {"status": "paused"})  # to the same status: unchanged
    assert again.status_code == 200 and again.json()["status"] == "paused"
    active = (await api.patch(f"/{path}/{created['id']}", {"status": "active", "label": None})).json()
    assert (active["status"], active["label"], active["metadata"]) == ("active", None, {"b": "2"})
    assert (await api.get(f"/{path}/{created['id']}")).json() == active


@pytest.mark.parametrize(("path", "code", "open_one"), INSTRUMENTS)
async def test_reactivating_asks_the_customer_s_endorsements_again(
    api: Api, ctx, path: str, code: str, open_one: Opener
) -> None:
    customer, created = await open_one(api, ctx)
    assert (await api.patch(f"/{path}/{created['id']}", {"status": "paused"})).status_code == 200
    async with ctx.db.session_scope() as session:
        await session.execute(update(Customer).where(Customer.id == customer["id"]).values(status="inactive"))
    assert_error(await api.patch(f"/{path}/{created['id']}", {"status": "active"}), 403, "customer_inactive")
    assert (await api.get(f"/{path}/{created['id']}")).json()["status"] == "paused"
    relabelled = await api.patch(f"/{path}/{created['id']}", {"label": "still paused"})  # no reactivation asked
    assert relabelled.status_code == 200 and relabelled.json()["status"] == "paused"


@pytest.mark.parametrize(("path", "code", "open_one"), INSTRUMENTS)
async def test_a_deleted_instrument_is_frozen_and_deleting_it_again_answers_it_unchanged(
    api: Api, ctx, path: str, code: str, open_one: Opener
) -> None:
    customer, created = await open_one(api, ctx)
    deleted = await api.client.delete(f"/{path}/{created['id']}", headers=api.headers())
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    twice = await api.client.delete(f"/{path}/{created['id']}", headers=api.headers())
    assert twice.status_code == 200 and twice.json() == deleted.json()
    for change in ({"status": "active"}, {"status": "paused"}, {"label": "renamed"}):
        assert_error(await api.patch(f"/{path}/{created['id']}", change), 409, f"{code}_deleted")
    assert (await api.get(f"/customers/{customer['id']}/{path}")).json()["data"] == []
    listed = (await api.get(f"/customers/{customer['id']}/{path}", status="deleted")).json()["data"]
    assert listed == [deleted.json()]


@pytest.mark.parametrize(("path", "code", "open_one"), INSTRUMENTS)
async def test_another_tenant_s_or_another_kind_s_id_is_404(
    api: Api, other_api: Api, ctx, path: str, code: str, open_one: Opener
) -> None:
    _, created = await open_one(api, ctx)
    assert_error(await other_api.get(f"/{path}/{created['id']}"), 404, "resource_missing")
    assert_error(await other_api.patch(f"/{path}/{created['id']}", {"status": "paused"}), 404, "resource_missing")
    other_kind = {"virtual_account": "da", "deposit_address": "va"}[code]
    assert_error(await api.get(f"/{path}/{other_kind}_01h455vb4pex5vsknk084sn02q"), 404, "resource_missing")
