"""A deposit from a sender on the sanctions list, made through the public API: a customer of another tenant sends
to the wallet's address as an external address (the scanner sees its sender), and that sender is listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oms.context import AppContext
from tests.funding.support import customer_with_wallet
from tests.screening.support import list_addresses
from tests.support import Api, OffsetClock, execute, funded_wallet, quote, settle, settle_until_completed


async def frozen_deposit(
    api: Api, sender_api: Api, ctx: AppContext, clock: OffsetClock, directory: Path, amount: str = "10.00"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the receiving wallet, the listed sender's wallet), the deposit settled (so frozen)."""
    _, wallet = await customer_with_wallet(api)
    sender_customer, sender = await funded_wallet(sender_api, ctx, clock, "50.00")
    await list_addresses(ctx, directory, sender["address"].lower())
    quoted = await quote(sender_api, sender_customer, sender, to=wallet["address"], amount=amount)
    assert quoted.status_code == 201, quoted.text
    executed = await execute(sender_api, quoted.json()["id"])
    assert executed.status_code == 201, executed.text
    await settle_until_completed(ctx, clock, sender_api, executed.json()["id"])
    await settle(ctx, clock, rounds=4)
    return wallet, sender


async def deposit_address_with_wallet(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A deposit address forwarding to a new customer's wallet, and that wallet."""
    customer, wallet = await customer_with_wallet(api)
    body = {
        "source": {"asset": "usdc", "network": "polygon"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}},
    }
    opened = await api.post(f"/customers/{customer['id']}/deposit-addresses", body)
    assert opened.status_code == 201, opened.text
    return opened.json(), wallet


async def sent_to_deposit_address(
    address: dict[str, Any], sender_api: Api, ctx: AppContext, clock: OffsetClock, directory: Path, *, listed: bool
) -> dict[str, Any]:
    """A customer of another tenant sends 10.00 to the deposit address on chain (its sender listed first, if told),
    and the watcher has seen it final; returns the sender's wallet."""
    sender_customer, sender = await funded_wallet(sender_api, ctx, clock, "50.00")
    if listed:
        await list_addresses(ctx, directory, sender["address"].lower())
    to = address["source"]["depositInstructions"]["address"]
    quoted = await quote(sender_api, sender_customer, sender, to=to, amount="10.00")
    assert quoted.status_code == 201, quoted.text
    executed = await execute(sender_api, quoted.json()["id"])
    assert executed.status_code == 201, executed.text
    await settle_until_completed(ctx, clock, sender_api, executed.json()["id"])
    await settle(ctx, clock, rounds=6)
    return sender


async def screened_deposits(admin: Any, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    found = await admin.get("/deposits", params=params, headers=headers)
    assert found.status_code == 200, found.text
    return list(found.json()["data"])
