"""KYC unlocks funding: endorsements granted or rejected by the sandbox reviewer, and 403 for customers who
may not move money (no ``basic``, rejected, or inactive) on every money-moving endpoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from oms.models import Customer
from tests.funding.support import cash_in, customer_with_wallet, event_types, location, review
from tests.support import FULL_IDENTITY, Api, assert_error, create_customer


def statuses(customer: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["status"] for e in customer["endorsements"]}


async def funding_attempts(api: Api, customer: dict[str, Any], wallet: dict[str, Any]) -> dict[str, Any]:
    """Try every way of moving money in for ``customer`` into ``wallet``; the responses by endpoint."""
    cvs = await location(api, "CVS")
    target = {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}}
    return {
        "cash-in": await api.post(
            "/cash-ins",
            {"customerId": customer["id"], "destination": target, "cash": {"locationId": cvs["id"]}},
        ),
        "virtual account": await api.post(f"/customers/{customer['id']}/virtual-accounts", {"destination": target}),
        "deposit address": await api.post(
            f"/customers/{customer['id']}/deposit-addresses",
            {"source": {"asset": "usdc", "network": "polygon"}, "destination": target},
        ),
        "wallet": await api.post(f"/customers/{customer['id']}/wallets", {"asset": "usdt", "chain": "polygon"}),
        "quote": await api.post(
            "/quotes",
            {
                "customerId": customer["id"],
                "source": {"walletId": wallet["id"], "asset": "usdc", "network": "polygon", "amount": "1.00"},
                "destination": {
                    "asset": "usdc",
                    "network": "polygon",
                    "wallet": {"blockchainAddress": "0x" + "33" * 20},
                },
            },
        ),
    }


async def test_endorsements_are_granted_once_identity_is_complete_and_unlock_funding(api: Api, ctx) -> None:
    customer = await create_customer(api, firstName="Ada", lastName="Lovelace")
    assert set(statuses(customer).values()) == {"pending"}
    requirements = customer["endorsements"][0]["requirements"]
    assert requirements["pending"] == ["firstName", "lastName"] and "birthDate" in requirements["missing"]
    _, borrowed_wallet = await customer_with_wallet(api)
    for name, response in (await funding_attempts(api, customer, borrowed_wallet)).items():
        assert response.status_code == 403, name
        assert_error(response, 403, "endorsement_required")

    rest = {k: v for k, v in FULL_IDENTITY.items() if k not in ("firstName", "lastName")}
    updated = (await api.patch(f"/customers/{customer['id']}", rest)).json()
    assert all(not e["requirements"]["missing"] for e in updated["endorsements"])
    await review(ctx)
    granted = (await api.get(f"/customers/{customer['id']}")).json()
    assert statuses(granted) == {"basic": "active", "cryptoCustody": "active", "usd": "active"}
    assert set(granted["endorsements"][0]["requirements"]["complete"]) >= {"firstName", "birthDate"}
    assert await event_types(ctx, customer["id"]) == ["customer.endorsement.granted"] * 3

    wallet = (await api.post(f"/customers/{customer['id']}/wallets", {"asset": "usdc", "chain": "polygon"})).json()
    attempts = await funding_attempts(api, customer, wallet)
    assert {name: r.status_code for name, r in attempts.items() if name != "quote"} == {
        "cash-in": 201,
        "virtual account": 201,
        "deposit address": 201,
        "wallet": 201,
    }
    assert attempts["virtual account"].json()["bankDetails"]["ownerName"] == "Polygon OMS FBO Ada Lovelace"


async def test_a_rejected_customer_cannot_fund(api: Api, ctx) -> None:
    customer = await create_customer(api, **{**FULL_IDENTITY, "lastName": "Reject"})
    await review(ctx)
    rejected = (await api.get(f"/customers/{customer['id']}")).json()
    assert set(statuses(rejected).values()) == {"rejected"}
    assert rejected["endorsements"][0]["requirements"]["issues"] == ["identityVerificationFailed"]
    assert rejected["endorsements"][0]["rejectionReasons"][0]["developerReason"]
    assert set(await event_types(ctx, customer["id"])) == {"customer.endorsement.rejected"}
    _, wallet = await customer_with_wallet(api)
    for response in (await funding_attempts(api, customer, wallet)).values():
        assert_error(response, 403, "endorsement_required")


async def test_an_inactive_customer_is_refused_everywhere(api: Api, ctx) -> None:
    customer, wallet = await customer_with_wallet(api)
    issued = await cash_in(api, customer, wallet, await location(api, "CVS"))
    async with ctx.db.session_scope() as session:
        await session.execute(update(Customer).where(Customer.id == customer["id"]).values(status="inactive"))
    for response in (await funding_attempts(api, customer, wallet)).values():
        assert_error(response, 403, "customer_inactive")
    code = issued["depositInstructions"]["code"]
    auth = {"accountNumber": code, "accountReferenceNumber": "r", "amount": "50.00"}
    assert_error(await api.post("/cash-ins/simulate/barcode-auth", auth), 403, "customer_inactive")
