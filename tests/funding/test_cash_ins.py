"""Cash-ins through HTTP: every lifecycle path, the object, linking to its transaction, and the ledger."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from oms.models import ChainSend, Customer, LedgerAccount, LedgerEntry, LedgerPosting
from tests.funding.support import (
    advance,
    barcode_auth,
    cash_in,
    create_cash_in,
    customer_with_wallet,
    deposit,
    event_types,
    location,
    settle_funding,
)
from tests.support import (
    Api,
    OffsetClock,
    assert_error,
    balance,
    create_customer,
    create_wallet,
    exchange,
    fields,
    ledger_is_sound,
)


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


async def test_a_cash_in_completes_on_chain_and_is_linked_to_its_transaction(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await customer_with_wallet(api)
    cvs = await location(api, "CVS")
    body = await cash_in(api, customer, wallet, cvs)
    created = fields(body)
    assert created.id.startswith("ci_") and created.status == "pending" and created.type == "fiatToCrypto"
    code = created.depositInstructions.code
    assert len(code) == 12 and code.isdigit()
    assert parse(created.depositInstructions.expiresAt) - parse(created.createdAt) == timedelta(hours=1)
    assert created.depositInstructions.locationName == cvs["name"] == created.location.name
    assert created.cash.locationId == cvs["id"] and created.cash.locationReference == cvs["locationReference"]
    assert body["omsFeeSchedule"] == {
        "feeCurrency": "usd",
        "entries": [{"type": "percentage", "rate": "0.015"}, {"type": "fixed", "amount": "0.50"}],
    }
    # Estimates on the default indicated amount: 100.00 - (1.50 + 0.50) = 98.00.
    assert (created.source.indicatedAmount, created.source.amount) == ("100.00", None)
    assert (created.source.amountGross, created.source.amountNet, created.source.feesDeducted.total) == (
        "100.00",
        "98.00",
        "2.00",
    )
    assert created.destination.amountNet == "98.00" and created.rates.effectiveRate == "0.98"
    assert created.transactionId is None and created.completedAt is None

    authorised = await barcode_auth(api, code, "200.00")
    assert authorised.status_code == 200, authorised.text
    assert authorised.json()["responseCode"] == "00" and authorised.json()["authorizedAmount"] == "200.00"
    committed = await api.post(
        "/cash-ins/simulate/auth-commit",
        {
            "accountNumber": code,
            "accountReferenceNumber": "store-1/lane-2",
            "amount": "200.00",
            "originalConfirmationId": authorised.json()["confirmationId"],
            "customerId": customer["id"],
            "description": "GreenDot reload",
        },
    )
    assert committed.status_code == 200, committed.text
    assert set(committed.json()) == {"authorizedAmount", "confirmationId", "responseCode", "responseId", "responseText"}

    processing = fields((await api.get(f"/cash-ins/{created.id}")).json())
    assert processing.status == "processing" and processing.transactionId is not None
    # 200.00 - (3.00 + 0.50) = 196.50
    assert (processing.source.amount, processing.source.feesDeducted.total, processing.destination.amountNet) == (
        "200.00",
        "3.50",
        "196.50",
    )
    txn = fields((await api.get(f"/transactions/{processing.transactionId}")).json())
    assert txn.type == "fiatToCrypto" and txn.status == "processing" and txn.cashInId == created.id
    assert (txn.source.asset, txn.source.network, txn.source.amountGross, txn.source.feesDeducted.oms) == (
        "usd",
        "cash",
        "200.00",
        "3.50",
    )
    assert txn.destination.wallet.id == wallet["id"] and txn.destination.amountNet == "196.50"
    assert txn.rail == "cash" and txn.rates.pair == "usd/usdc" and txn.quoteId is None
    assert txn.senderCustomerId == txn.recipientCustomerId == customer["id"]
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")  # credited only once final on chain

    await settle_funding(ctx, clock)
    done = fields((await api.get(f"/cash-ins/{created.id}")).json())
    assert done.status == "completed" and done.subStatus == "settled" and done.completedAt is not None
    settled = fields((await api.get(f"/transactions/{txn.id}")).json())
    assert settled.status == "completed" and settled.destination.txHash and settled.completedAt
    assert await balance(api, wallet) == ("196.50", "196.50", "0.00")
    assert await ctx.chains.get("polygon").balance_of("usdc", wallet["address"]) == 196_500_000
    assert await event_types(ctx, created.id) == ["cashIn.processing", "cashIn.completed"]
    assert await event_types(ctx, txn.id) == [
        "transaction.fiatToCrypto.processing",
        "transaction.fiatToCrypto.completed",
    ]
    listed = (await api.get(f"/customers/{customer['id']}/transactions", type="fiatToCrypto")).json()["data"]
    assert [(t["id"], t["role"]) for t in listed] == [(txn.id, "both")]
    await ledger_is_sound(ctx, api)


async def test_the_ledger_books_dollars_in_fees_and_stablecoin_out_once(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await customer_with_wallet(api)
    created = await cash_in(api, customer, wallet, await location(api, "Walgreens"))
    assert (await deposit(api, created, "40.00")).status_code == 200
    await settle_funding(ctx, clock)
    await settle_funding(ctx, clock, rounds=2)  # settling again changes nothing
    txn_id = (await api.get(f"/cash-ins/{created['id']}")).json()["transactionId"]
    async with ctx.db.session_scope(write=False) as session:
        rows = (
            await session.execute(
                select(LedgerEntry.kind, LedgerAccount.kind, LedgerPosting.currency, LedgerPosting.amount)
                .join(LedgerPosting, LedgerPosting.entry_id == LedgerEntry.id)
                .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
                .where(LedgerEntry.reference == txn_id)
                .order_by(LedgerEntry.id, LedgerPosting.id)
            )
        ).all()
    # fee = 0.60 + 0.50 = 1.10 ; net 38.90 USD = 38.90 USDC
    assert sorted(map(tuple, rows)) == sorted(
        [
            ("funding.received", "funding", "usd:cash", -4000),
            ("funding.received", "liquidity", "usd:cash", 3890),
            ("funding.received", "fees", "usd:cash", 110),
            ("funding.received", "liquidity", "usdc:polygon", -38_900_000),
            ("funding.received", "funding_transit", "usdc:polygon", 38_900_000),
            ("funding.delivered", "funding_transit", "usdc:polygon", -38_900_000),
            ("funding.delivered", "available", "usdc:polygon", 38_900_000),
        ]
    )
    await ledger_is_sound(ctx, api)


async def test_a_failed_delivery_fails_the_cash_in_and_reverses_every_entry(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await customer_with_wallet(api)
    created = await cash_in(api, customer, wallet, await location(api, "CVS"))
    assert (await deposit(api, created, "60.00")).status_code == 200
    txn_id = (await api.get(f"/cash-ins/{created['id']}")).json()["transactionId"]
    await ctx.sender.sign_queued()
    await ctx.sender.broadcast_signed()
    async with ctx.db.session_scope(write=False) as session:
        send = (await session.execute(select(ChainSend).where(ChainSend.reference == txn_id))).scalar_one()
    await ctx.chains.get("polygon").fail_when_mined(send.tx_hash)  # type: ignore[attr-defined]
    await settle_funding(ctx, clock)

    failed = (await api.get(f"/cash-ins/{created['id']}")).json()
    assert failed["status"] == "failed" and failed["subStatus"] == "cash_deposit_failed"
    assert failed["error"]["code"] == "cash_deposit_failed" and failed["completedAt"] is None
    txn = (await api.get(f"/transactions/{txn_id}")).json()
    assert txn["status"] == "failed" and txn["error"]["code"] == "chain_transaction_failed"
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")
    assert await event_types(ctx, created["id"]) == ["cashIn.processing", "cashIn.failed"]
    async with ctx.db.session_scope(write=False) as session:
        balances = (
            await session.execute(
                select(LedgerAccount.kind, LedgerAccount.currency, LedgerAccount.balance).where(
                    LedgerAccount.tenant_id == api.tenant_id, LedgerAccount.wallet_id.is_(None)
                )
            )
        ).all()
    assert balances and all(row[2] == 0 for row in balances), balances  # everything booked was reversed
    # A failed (returned) deposit does not count against the limits: the customer may deposit again.
    again = await cash_in(api, customer, wallet, await location(api, "CVS"))
    assert (await deposit(api, again, "60.00")).status_code == 200
    await settle_funding(ctx, clock)
    assert await balance(api, wallet) == ("58.60", "58.60", "0.00")
    await ledger_is_sound(ctx, api)


async def test_the_simulated_provider_can_fail_an_order_and_nothing_is_credited(
    api: Api, ctx, clock: OffsetClock
) -> None:
    customer, wallet = await customer_with_wallet(api)
    created = await cash_in(api, customer, wallet, await location(api, "CVS"))
    declined = await deposit(api, created, "50.00", description="fail")
    assert declined.status_code == 200 and declined.json()["responseCode"] == "05"
    failed = (await api.get(f"/cash-ins/{created['id']}")).json()
    assert (failed["status"], failed["subStatus"], failed["transactionId"]) == (
        "failed",
        "provider_order_failed",
        None,
    )
    assert await event_types(ctx, created["id"]) == ["cashIn.failed"]
    assert_error(await barcode_auth(api, created["depositInstructions"]["code"], "50.00"), 409, "cash_in_not_pending")
    await settle_funding(ctx, clock, rounds=3)
    assert await balance(api, wallet) == ("0.00", "0.00", "0.00")
    assert (await api.get("/transactions", type="fiatToCrypto")).json()["data"] == []
    await ledger_is_sound(ctx, api)


async def test_a_code_expires_by_the_tenant_clock_and_refresh_revives_it(
    api: Api, other_api: Api, ctx, clock: OffsetClock
) -> None:
    customer, wallet = await customer_with_wallet(api)
    created = await cash_in(api, customer, wallet, await location(api, "CVS"))
    other_customer, other_wallet = await customer_with_wallet(other_api)
    others = await cash_in(other_api, other_customer, other_wallet, await location(other_api, "CVS"))

    await advance(api, seconds=3599)
    assert (await api.get(f"/cash-ins/{created['id']}")).json()["status"] == "pending"
    await advance(api, seconds=1)
    expired = (await api.get(f"/cash-ins/{created['id']}")).json()
    assert (expired["status"], expired["subStatus"]) == ("expired", "cash_deposit_expired")
    assert await event_types(ctx, created["id"]) == ["cashIn.expired"]  # made durable by the clock advance
    assert (await other_api.get(f"/cash-ins/{others['id']}")).json()["status"] == "pending"  # its own clock
    old_code = created["depositInstructions"]["code"]
    assert_error(await barcode_auth(api, old_code, "50.00"), 422, "deposit_code_expired", param="accountNumber")

    refreshed = await api.post(f"/cash-ins/{created['id']}/refresh")
    assert refreshed.status_code == 200, refreshed.text
    revived = fields(refreshed.json())
    assert revived.id == created["id"]
    assert revived.status == "pending" and revived.depositInstructions.code != old_code
    assert parse(revived.depositInstructions.expiresAt) - parse(revived.updatedAt) == timedelta(hours=1)
    assert parse(revived.updatedAt) - parse(created["createdAt"]) >= timedelta(hours=1)  # on the tenant's clock
    assert_error(await barcode_auth(api, old_code, "50.00"), 404, "resource_missing", param="accountNumber")
    assert (await deposit(api, refreshed.json(), "50.00")).status_code == 200
    await settle_funding(ctx, clock)
    assert (await api.get(f"/cash-ins/{created['id']}")).json()["status"] == "completed"
    assert await balance(api, wallet) == ("48.75", "48.75", "0.00")
    assert_error(await api.post(f"/cash-ins/{created['id']}/refresh"), 409, "cash_in_not_refreshable")
    await ledger_is_sound(ctx, api)


async def test_expiry_is_read_lazily_and_made_durable_by_the_job(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await customer_with_wallet(api)
    created = await cash_in(api, customer, wallet, await location(api, "CVS"))
    clock.advance(hours=1)  # real time passes; no one touches the cash-in
    api.token = await exchange(api.client, api.issued)  # an hour-old bearer token has expired too
    assert (await api.get(f"/cash-ins/{created['id']}")).json()["status"] == "expired"
    assert [c["id"] for c in (await api.get("/cash-ins", status="expired")).json()["data"]] == [created["id"]]
    assert (await api.get("/cash-ins", status="pending")).json()["data"] == []
    assert await event_types(ctx, created["id"]) == []
    async with ctx.db.session_scope() as session:
        assert await ctx.funding.cash_ins.expire_due(session) >= 1
    assert await event_types(ctx, created["id"]) == ["cashIn.expired"]
    async with ctx.db.session_scope() as session:
        await ctx.funding.cash_ins.expire_due(session)
    assert await event_types(ctx, created["id"]) == ["cashIn.expired"]  # once


async def test_cash_ins_list_newest_first_with_inclusive_dates_and_filters(api: Api, clock: OffsetClock) -> None:
    alice, alice_wallet = await customer_with_wallet(api)
    bob, bob_wallet = await customer_with_wallet(api)
    cvs = await location(api, "CVS")
    first = await cash_in(api, alice, alice_wallet, cvs)
    clock.advance(seconds=1)
    second = await cash_in(api, bob, bob_wallet, cvs)
    clock.advance(seconds=1)
    third = await cash_in(api, alice, alice_wallet, cvs)
    page = fields((await api.get("/cash-ins", limit=2)).json())
    assert [c.id for c in page.data] == [third["id"], second["id"]] and page.hasMore
    rest = (await api.get("/cash-ins", limit=2, startingAfter=page.nextCursor)).json()
    assert [c["id"] for c in rest["data"]] == [first["id"]] and rest["hasMore"] is False
    window = (await api.get("/cash-ins", createdAfter=first["createdAt"], createdBefore=second["createdAt"])).json()
    assert [c["id"] for c in window["data"]] == [second["id"], first["id"]]
    alices = (await api.get("/cash-ins", customerId=alice["id"])).json()
    assert [c["id"] for c in alices["data"]] == [third["id"], first["id"]]
    assert_error(await api.get("/cash-ins", status="done"), 400, "parameter_invalid", param="status")


async def test_creation_is_validated_field_by_field(api: Api) -> None:
    customer, wallet = await customer_with_wallet(api)
    cvs = await location(api, "CVS")
    atm = await location(api, "Walgreens", flow="cashOut", provider="allpoint")
    stranger = await create_customer(api)
    strangers_wallet = await create_wallet(api, stranger["id"])

    async def refused(status: int, code: str, param: str | None = None, **changes) -> None:  # type: ignore[no-untyped-def]
        place = changes.pop("place", cvs)
        target = changes.pop("wallet", wallet)
        response = await create_cash_in(api, customer, target, place, **changes)
        assert_error(response, status, code, param)

    await refused(404, "resource_missing", "cash.locationId", place={**cvs, "id": "loc_01kdvdna00ej3vkzc4vq4x0h8c"})
    await refused(400, "location_unsupported", "cash.locationId", place=atm)
    await refused(400, "location_reference_mismatch", "cash.locationReference", place={**cvs, "locationReference": "X"})
    await refused(400, "unsupported_network", "source.network", source={"asset": "usd", "network": "ach"})
    await refused(400, "wallet_not_owned", "destination.wallet.id", wallet=strangers_wallet)
    await refused(422, "amount_below_minimum", "source.indicatedAmount", source={"indicatedAmount": "19.99"})
    await refused(422, "amount_above_maximum", "source.indicatedAmount", source={"indicatedAmount": "500.01"})
    await refused(400, "invalid_amount", "source.indicatedAmount", source={"indicatedAmount": "20.001"})
    await refused(400, "unknown_parameter", "cash.locationID", cash={"locationId": cvs["id"], "locationID": cvs["id"]})
    walmart = await location(api, "Walmart")
    ok = await create_cash_in(api, customer, wallet, walmart, source={"indicatedAmount": "1000.00"})
    assert ok.status_code == 201 and ok.json()["source"]["indicatedAmount"] == "1000.00"
    spelled = await api.post(
        "/cash-ins",
        {
            "customerId": customer["id"],
            "destination": {"asset": "usdc", "network": "polygon", "wallet": {"wallet": wallet["id"]}},
            "cashLocationId": cvs["id"],
            "cashLocationReference": cvs["locationReference"],
            "source": {"email": "ada@example.com"},
        },
    )
    assert spelled.status_code == 201, spelled.text
    assert spelled.json()["source"]["email"] == "ada@example.com"


async def test_a_customer_must_hold_basic_and_be_active(api: Api, ctx) -> None:
    customer, wallet = await customer_with_wallet(api)
    cvs = await location(api, "CVS")
    created = await cash_in(api, customer, wallet, cvs)
    pending = await create_customer(api, firstName="Pending")
    assert_error(await create_cash_in(api, pending, wallet, cvs), 403, "endorsement_required", param="customerId")
    async with ctx.db.session_scope() as session:
        await session.execute(update(Customer).where(Customer.id == customer["id"]).values(status="inactive"))
    assert_error(await create_cash_in(api, customer, wallet, cvs), 403, "customer_inactive", param="customerId")
    # An inactive customer's code no longer takes cash, and cannot be refreshed.
    assert_error(await barcode_auth(api, created["depositInstructions"]["code"], "50.00"), 403, "customer_inactive")
    assert_error(await api.post(f"/cash-ins/{created['id']}/refresh"), 403, "customer_inactive")


async def test_commit_must_match_its_authorisation(api: Api, ctx, clock: OffsetClock) -> None:
    customer, wallet = await customer_with_wallet(api)
    created = await cash_in(api, customer, wallet, await location(api, "CVS"))
    code = created["depositInstructions"]["code"]
    confirmation = (await barcode_auth(api, code, "75.00")).json()["confirmationId"]
    base = {
        "accountNumber": code,
        "accountReferenceNumber": "store-1/lane-2",
        "amount": "75.00",
        "originalConfirmationId": confirmation,
    }
    commit = "/cash-ins/simulate/auth-commit"
    assert_error(await api.post(commit, {**base, "originalConfirmationId": "1"}), 422, "authorization_not_found")
    assert_error(await api.post(commit, {**base, "amount": "75.01"}), 422, "amount_mismatch", param="amount")
    assert_error(await api.post(commit, {**base, "accountReferenceNumber": "x"}), 422, "reference_mismatch")
    assert_error(await api.post(commit, {**base, "customerId": "cst_01h455vb4pex5vsknk084sn02q"}), 422,
                 "customer_mismatch")  # fmt: skip
    assert_error(await api.post(commit, {**base, "accountNumber": "000000000000"}), 404, "resource_missing")
    done = await api.post(commit, base, key="commit-1")
    assert done.status_code == 200
    replay = await api.post(commit, base, key="commit-1")
    assert replay.json() == done.json() and replay.headers["idempotent-replayed"] == "true"
    assert_error(await api.post(commit, base), 409, "cash_in_not_pending")
    await settle_funding(ctx, clock)
    # 1.5 % of 75.00 is 1.125, rounded half to even: 1.12 ; + 0.50 = 1.62 ; 75.00 - 1.62 = 73.38
    assert await balance(api, wallet) == ("73.38", "73.38", "0.00")
    await ledger_is_sound(ctx, api)


async def test_a_cash_in_can_deliver_to_an_outside_address(api: Api, ctx, clock: OffsetClock) -> None:
    customer, _ = await customer_with_wallet(api)
    outside = "0x" + "4d" * 20
    body = {
        "customerId": customer["id"],
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"blockchainAddress": outside}},
        "cash": {"locationId": (await location(api, "7-Eleven"))["id"]},
    }
    created = await api.post("/cash-ins", body)
    assert created.status_code == 201, created.text
    assert created.json()["destination"]["wallet"]["id"] is None
    before = await ctx.chains.get("polygon").balance_of("usdc", outside)
    assert (await deposit(api, created.json(), "100.00")).status_code == 200
    await settle_funding(ctx, clock)
    assert (await api.get(f"/cash-ins/{created.json()['id']}")).json()["status"] == "completed"
    assert await ctx.chains.get("polygon").balance_of("usdc", outside) - before == 98_000_000
    await ledger_is_sound(ctx, api)
