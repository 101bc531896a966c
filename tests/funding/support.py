"""Helpers of the funding tests: locations, cash-ins, the simulated cash provider and the pipeline."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from oms.context import AppContext
from oms.models import Event
from tests.support import FULL_IDENTITY, Api, OffsetClock, create_customer, create_wallet, settle

NYC = {"latitude": 40.7128, "longitude": -74.0060}


async def customer_with_wallet(api: Api, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customer approved at once (the sandbox quickstart's empty body) and its USDC wallet on Polygon."""
    customer = await create_customer(api, **fields)
    return customer, await create_wallet(api, customer["id"])


async def review(ctx: AppContext) -> None:
    """Run the sandbox KYC reviewer once (it decides endorsements whose fields are complete)."""
    async with ctx.db.session_scope() as session:
        await ctx.customers.review_due(session)


async def identified_customer_with_wallet(
    api: Api, ctx: AppContext, **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A customer with a full identity, approved by the sandbox reviewer, and its wallet."""
    customer = await create_customer(api, **{**FULL_IDENTITY, **fields})
    await review(ctx)
    return customer, await create_wallet(api, customer["id"])


async def location(api: Api, retailer: str, *, flow: str = "cashIn", provider: str = "greendot") -> dict[str, Any]:
    """The nearest location of ``retailer`` to New York City."""
    response = await api.get("/cash-locations", provider=provider, flow=flow, radius=100, limit=100, **NYC)
    assert response.status_code == 200, response.text
    return next(item for item in response.json()["data"] if item["retailer"] == retailer)


async def create_cash_in(
    api: Api, customer: dict[str, Any], wallet: dict[str, Any], place: dict[str, Any], **extra: Any
) -> Any:
    body = {
        "customerId": customer["id"],
        "source": {"asset": "usd", "network": "cash"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}},
        "cash": {"locationId": place["id"], "locationReference": place["locationReference"]},
        **extra,
    }
    return await api.post("/cash-ins", body)


async def cash_in(api: Api, customer: dict[str, Any], wallet: dict[str, Any], place: dict[str, Any]) -> dict[str, Any]:
    response = await create_cash_in(api, customer, wallet, place)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def barcode_auth(api: Api, code: str, amount: str, reference: str = "store-1/lane-2") -> Any:
    return await api.post(
        "/cash-ins/simulate/barcode-auth",
        {"accountNumber": code, "accountReferenceNumber": reference, "amount": amount},
    )


async def deposit(api: Api, cash_in: dict[str, Any], amount: str, **commit: Any) -> Any:
    """The retailer scans the code for ``amount`` and takes the cash: the auth-commit response (or the
    barcode-auth refusal)."""
    code = cash_in["depositInstructions"]["code"]
    authorised = await barcode_auth(api, code, amount)
    if authorised.status_code != 200:
        return authorised
    body = {
        "accountNumber": code,
        "accountReferenceNumber": "store-1/lane-2",
        "amount": amount,
        "originalConfirmationId": authorised.json()["confirmationId"],
        **commit,
    }
    return await api.post("/cash-ins/simulate/auth-commit", body)


async def deposited(
    api: Api, customer: dict[str, Any], wallet: dict[str, Any], place: dict[str, Any], amount: str
) -> Any:
    """A new cash-in and a deposit of ``amount`` into it: the auth-commit (or refusal) response."""
    created = await create_cash_in(api, customer, wallet, place)
    if created.status_code != 201:
        return created
    return await deposit(api, created.json(), amount)


async def advance(api: Api, **delta: int) -> dict[str, Any]:
    """Move this tenant's sandbox clock forward."""
    seconds = delta.get("seconds", 0) + 60 * delta.get("minutes", 0) + 3600 * delta.get("hours", 0)
    seconds += 86_400 * delta.get("days", 0)
    response = await api.post("/sandbox/clock/advance", {"seconds": seconds}, key=str(uuid.uuid4()))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def settle_funding(ctx: AppContext, clock: OffsetClock, *, rounds: int = 12) -> None:
    """The money pipeline as the worker runs it, long enough for funding's two hops to become final."""
    await settle(ctx, clock, rounds=rounds)


async def event_types(ctx: AppContext, object_id: str) -> list[str]:
    async with ctx.db.session_scope(write=False) as session:
        rows = await session.execute(select(Event.type).where(Event.object_id == object_id).order_by(Event.sequence))
        return list(rows.scalars())
