"""Virtual accounts: bank details, management, and simulated ACH / wire / SWIFT deposits credited on chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from oms.funding.virtual_account.bank import aba_checksum_ok
from oms.models import Customer
from tests.funding.support import customer_with_wallet, event_types, identified_customer_with_wallet, settle_funding
from tests.support import Api, OffsetClock, assert_error, balance, create_customer, fields, ledger_is_sound


async def open_account(api: Api, customer: dict[str, Any], wallet: dict[str, Any], **extra: Any) -> Any:
    body = {
        "source": {"asset": "usd", "network": "usBank"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}},
        **extra,
    }
    return await api.post(f"/customers/{customer['id']}/virtual-accounts", body)


async def new_account(api: Api, ctx, **extra: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:  # type: ignore[no-untyped-def]
    customer, wallet = await identified_customer_with_wallet(api, ctx)
    response = await open_account(api, customer, wallet, **extra)
    assert response.status_code == 201, response.text
    return customer, wallet, response.json()


async def simulate(api: Api, account: dict[str, Any], rail: str, amount: str, **extra: Any) -> Any:
    return await api.post(f"/virtual-accounts/{account['id']}/simulate", {"rail": rail, "amount": amount, **extra})


async def test_a_virtual_account_has_realistic_bank_details(api: Api, ctx) -> None:
    # The quickstart's empty customer is approved at once, without a name; the holder falls back to its id.
    customer, wallet = await customer_with_wallet(api)
    nameless = (await open_account(api, customer, wallet, accountholderName="customer")).json()
    assert nameless["bankDetails"]["ownerName"] == f"Customer {customer['id']}"
    _, wallet, created = await new_account(api, ctx, label="Payroll", bankMemo="salary", metadata={"team": "ops"})
    account = fields(created)
    assert account.id.startswith("va_") and account.status == "active" and account.accountholderName == "oms"
    bank = account.bankDetails
    assert aba_checksum_ok(bank.routingNumber) and len(bank.accountNumber) == 12 and bank.accountNumber.isdigit()
    assert bank.accountType == "checking" and bank.ownerName == "Polygon OMS FBO Ada Lovelace"
    assert bank.swiftCode.startswith("OMSB") and bank.reference.startswith("VA")
    assert account.destination.wallet.id == wallet["id"] and account.destination.asset == "usdc"
    assert (account.label, account.bankMemo, account.metadata) == ("Payroll", "salary", {"team": "ops"})
    assert (await api.get(f"/virtual-accounts/{account.id}")).json() == created
    listed = fields((await api.get(f"/customers/{account.customerId}/virtual-accounts")).json())
    assert [a.id for a in listed.data] == [account.id]
    second = (await open_account(api, {"id": account.customerId}, wallet, accountholderName="developer")).json()
    assert second["bankDetails"]["accountNumber"] != bank.accountNumber
    assert second["bankDetails"]["ownerName"].endswith("FBO Ada Lovelace")


async def test_ach_wire_and_swift_deposits_credit_the_wallet_less_their_fees(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet, account = await new_account(api, ctx)
    ach = await simulate(api, account, "ach_in", "1000.00", senderName="Acme Payroll", description="PAYROLL",
                         senderRoutingNumber="021000021", senderAccountNumber="000123456789")  # fmt: skip
    wire = await simulate(api, account, "wire_in", "1000.00", senderBankName="First Bank", reference="inv 42")
    swift = await simulate(api, account, "swift_in", "1000.00", senderBic="DEUTDEFFXXX", senderCountry="DE")
    results = [fields(r.json()) for r in (ach, wire, swift)]
    assert [r.rail for r in results] == ["ach_in", "wire_in", "swift_in"]
    # ACH 0.5 % = 5.00 ; wire 8.00 flat ; SWIFT 0.1 % + 20.00 = 21.00 (the configured defaults)
    assert [r.fee.value for r in results] == ["5.00", "8.00", "21.00"]
    assert results[0].traceNumber and len(results[0].traceNumber) == 15
    assert results[1].imad and results[2].uetr
    transactions = [fields((await api.get(f"/transactions/{r.transactionId}")).json()) for r in results]
    assert {t.type for t in transactions} == {"fiatToCrypto"}
    assert [(t.source.asset, t.source.network, t.rail) for t in transactions] == [
        ("usd", "ach", "ach"),
        ("usd", "wire", "wire"),
        ("usd", "wire", "international_wire"),
    ]
    assert [t.destination.amountNet for t in transactions] == ["995.00", "992.00", "979.00"]
    first = (await api.get(f"/transactions/{results[0].transactionId}")).json()
    assert first["virtualAccountId"] == account["id"] and first["cashInId"] is None
    assert first["source"]["bankTransfer"]["senderAccountNumber"] == "********6789"
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")

    await settle_funding(ctx, clock)
    assert await balance(api, wallet) == ("2966.00", "2966.00", "0.00")
    for result in results:
        assert (await api.get(f"/transactions/{result.transactionId}")).json()["status"] == "completed"
        assert await event_types(ctx, result.transactionId) == [
            "transaction.fiatToCrypto.processing",
            "transaction.fiatToCrypto.completed",
        ]
    assert len((await api.get(f"/customers/{customer['id']}/transactions")).json()["data"]) == 3
    await ledger_is_sound(ctx, api)


async def test_a_paused_account_credits_nothing_until_reactivated(api: Api, ctx, clock: OffsetClock) -> None:
    _, wallet, account = await new_account(api, ctx)
    paused = await api.patch(f"/virtual-accounts/{account['id']}", {"status": "paused", "label": "on hold"})
    assert paused.status_code == 200 and paused.json()["status"] == "paused" and paused.json()["label"] == "on hold"
    for rail in ("ach_in", "wire_in", "swift_in"):
        assert_error(await simulate(api, account, rail, "100.00"), 422, "virtual_account_paused")
    await settle_funding(ctx, clock, rounds=3)
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")
    assert (await api.get("/transactions")).json()["data"] == []

    assert (await api.patch(f"/virtual-accounts/{account['id']}", {"status": "active"})).json()["status"] == "active"
    assert (await simulate(api, account, "ach_in", "100.00")).status_code == 200
    await settle_funding(ctx, clock)
    assert await balance(api, wallet) == ("99.50", "99.50", "0.00")
    await ledger_is_sound(ctx, api)


async def test_a_deleted_account_stays_readable_and_takes_nothing(api: Api, ctx) -> None:
    customer, _, account = await new_account(api, ctx)
    deleted = await api.client.delete(f"/virtual-accounts/{account['id']}", headers=api.headers())
    assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
    assert (await api.get(f"/virtual-accounts/{account['id']}")).json()["status"] == "deleted"
    assert_error(await simulate(api, account, "wire_in", "100.00"), 422, "virtual_account_deleted")
    assert_error(await api.patch(f"/virtual-accounts/{account['id']}", {"status": "active"}), 409,
                 "virtual_account_deleted")  # fmt: skip
    assert (await api.get(f"/customers/{customer['id']}/virtual-accounts")).json()["data"] == []
    only_deleted = (await api.get(f"/customers/{customer['id']}/virtual-accounts", status="deleted")).json()["data"]
    assert [a["id"] for a in only_deleted] == [account["id"]]


async def test_simulations_are_validated(api: Api, ctx) -> None:
    _, _, account = await new_account(api, ctx)
    assert_error(await simulate(api, account, "wire_in", "8.00"), 422, "amount_too_small", param="amount")
    assert_error(await simulate(api, account, "ach_in", "1.001"), 400, "invalid_amount", param="amount")
    assert_error(await simulate(api, account, "ach_in", "10.00", senderRoutingNumber="021000022"), 400,
                 "invalid_routing_number", param="senderRoutingNumber")  # fmt: skip
    assert_error(await simulate(api, account, "swift_in", "100.00", senderBic="nope"), 400, "invalid_bic")
    assert (await simulate(api, account, "sepa_in", "100.00")).status_code == 400
    assert_error(
        await simulate(api, account, "ach_in", "100.00", imad="20260101OMSBWIRE000001"),
        400,
        "unknown_parameter",
        param="imad",
    )
    assert_error(await simulate(api, {"id": "va_01h455vb4pex5vsknk084sn02q"}, "ach_in", "10.00"), 404,
                 "resource_missing")  # fmt: skip
    assert (await api.get("/transactions")).json()["data"] == []  # nothing was booked
    await ledger_is_sound(ctx, api)


async def test_a_simulation_takes_the_amount_as_a_value_object_too(api: Api, ctx, clock: OffsetClock) -> None:
    """The deposit addresses' form, `{"amount": {"value": …}}`, with an optional currency that must be USD."""
    _, wallet, account = await new_account(api, ctx)
    path = f"/virtual-accounts/{account['id']}/simulate"
    response = await api.post(path, {"rail": "ach_in", "amount": {"value": "100.00", "currency": "USD"}})
    assert response.status_code == 200, response.text
    assert response.json()["amount"] == {"value": "100.00", "currency": "USD"}
    assert_error(await api.post(path, {"rail": "ach_in", "amount": {"value": "100.00", "currency": "EUR"}}), 400,
                 "invalid_currency", param="amount.currency")  # fmt: skip
    assert_error(await api.post(path, {"rail": "ach_in", "amount": {"value": "1.001"}}), 400, "invalid_amount",
                 param="amount.value")  # fmt: skip
    await settle_funding(ctx, clock)
    assert await balance(api, wallet) == ("99.50", "99.50", "0.00")  # less ach_in's 0.5 %


async def test_a_virtual_account_needs_the_usd_endorsement_and_an_active_customer(api: Api, ctx) -> None:
    custody_only = await create_customer(api, endorsements=["cryptoCustody"])
    wallet = (await api.post(f"/customers/{custody_only['id']}/wallets", {"asset": "usdc", "chain": "polygon"})).json()
    assert_error(await open_account(api, custody_only, wallet), 403, "endorsement_required")
    customer, wallet, account = await new_account(api, ctx)
    async with ctx.db.session_scope() as session:
        await session.execute(update(Customer).where(Customer.id == customer["id"]).values(status="inactive"))
    assert_error(await open_account(api, customer, wallet), 403, "customer_inactive")
    assert_error(await simulate(api, account, "ach_in", "100.00"), 403, "customer_inactive")
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")
    await ledger_is_sound(ctx, api)


async def test_destination_must_be_the_customers_own_wallet_on_a_served_network(api: Api) -> None:
    customer, wallet = await customer_with_wallet(api)
    _, other_wallet = await customer_with_wallet(api)
    assert_error(await open_account(api, customer, other_wallet), 400, "wallet_not_owned")
    body = {"destination": {"asset": "usdc", "network": "solana", "wallet": {"id": wallet["id"]}}}
    assert_error(await api.post(f"/customers/{customer['id']}/virtual-accounts", body), 400, "unsupported_network",
                 param="destination.network")  # fmt: skip
    body = {"destination": {"asset": "usdc", "network": "polygon", "wallet": {"externalAccount": "cpBcAddr_1"}}}
    assert_error(await api.post(f"/customers/{customer['id']}/virtual-accounts", body), 400,
                 "external_accounts_unavailable")  # fmt: skip
    many = {f"k{i}": "v" for i in range(21)}
    assert_error(await open_account(api, customer, wallet, metadata=many), 400, "parameter_invalid", param="metadata")
