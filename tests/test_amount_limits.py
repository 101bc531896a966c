"""The maximum amount (oms/kit/money.py, docs/decisions.md "Amount limits"): refused at every edge with a 400
naming the field, never a 500; and a ledger that can neither overflow nor turn to floating point."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from oms.config import Settings
from oms.kit.money import ASSETS, LEDGER_LIMIT
from oms.ledger import service as ledger
from tests.funding.support import barcode_auth, create_cash_in, customer_with_wallet, identified_customer_with_wallet
from tests.funding.support import location as cash_location
from tests.support import Api, assert_error, balance, fund, process_env, quote, settle

MAXIMUM = "1000000000"  # one billion of the asset: oms.kit.money.MAX_MAJOR_AMOUNT
# Just above the maximum; the 2^63 - 1 units of the issue (9223372036854.775807 USDC); 2^63 units; an exponent.
TOO_LARGE = ["1000000000.01", "9223372036854.775807", "9223372036854.775808", "1" + "0" * 40]
# A final newline: "1\n" was parsed as 1 and "1.00\n" was a 500 (tests/kit/test_money_properties.py).
MALFORMED = ["1e30", "1E+30", "1e3", "-5.00", "NaN", "Infinity", "1\n", "20.00\n"]

Edge = Callable[[Api, str], Awaitable[tuple[httpx.Response, str]]]


async def sandbox_fund(api: Api, amount: str) -> tuple[httpx.Response, str]:
    _, wallet = await customer_with_wallet(api)
    body = {"address": wallet["address"], "amount": amount, "asset": "usdc", "network": "polygon"}
    return await api.post("/sandbox/fund", body), "amount"


async def quote_source(api: Api, amount: str) -> tuple[httpx.Response, str]:
    customer, source = await customer_with_wallet(api)
    _, other = await customer_with_wallet(api)
    return await quote(api, customer, source, to=other, amount=amount), "source.amount"


async def quote_destination(api: Api, amount: str) -> tuple[httpx.Response, str]:
    customer, source = await customer_with_wallet(api)
    _, other = await customer_with_wallet(api)
    return await quote(api, customer, source, to=other, amount=amount, side="destination"), "destination.amount"


async def cash_in_indicated(api: Api, amount: str) -> tuple[httpx.Response, str]:
    customer, wallet = await customer_with_wallet(api)
    place = await cash_location(api, "CVS")
    source = {"asset": "usd", "network": "cash", "indicatedAmount": amount}
    return await create_cash_in(api, customer, wallet, place, source=source), "source.indicatedAmount"


async def cash_in_barcode_auth(api: Api, amount: str) -> tuple[httpx.Response, str]:
    customer, wallet = await customer_with_wallet(api)
    created = await create_cash_in(api, customer, wallet, await cash_location(api, "CVS"))
    assert created.status_code == 201, created.text
    return await barcode_auth(api, created.json()["depositInstructions"]["code"], amount), "amount"


async def cash_in_auth_commit(api: Api, amount: str) -> tuple[httpx.Response, str]:
    customer, wallet = await customer_with_wallet(api)
    created = await create_cash_in(api, customer, wallet, await cash_location(api, "CVS"))
    code = created.json()["depositInstructions"]["code"]
    authorised = await barcode_auth(api, code, "20.00")
    assert authorised.status_code == 200, authorised.text
    commit = {
        "accountNumber": code,
        "accountReferenceNumber": "store-1/lane-2",
        "amount": amount,
        "originalConfirmationId": authorised.json()["confirmationId"],
    }
    return await api.post("/cash-ins/simulate/auth-commit", commit), "amount"


async def virtual_account_deposit(api: Api, amount: str) -> tuple[httpx.Response, str]:
    customer, wallet = await identified_customer_with_wallet(api, api.ctx)  # type: ignore[attr-defined]
    body = {
        "source": {"asset": "usd", "network": "usBank"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}},
    }
    opened = await api.post(f"/customers/{customer['id']}/virtual-accounts", body)
    assert opened.status_code == 201, opened.text
    simulated = {"rail": "ach_in", "amount": amount}
    return await api.post(f"/virtual-accounts/{opened.json()['id']}/simulate", simulated), "amount"


async def deposit_address_deposit(api: Api, amount: str) -> tuple[httpx.Response, str]:
    customer, wallet = await customer_with_wallet(api)
    body = {
        "source": {"asset": "usdc", "network": "polygon"},
        "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": wallet["id"]}},
    }
    opened = await api.post(f"/customers/{customer['id']}/deposit-addresses", body)
    assert opened.status_code == 201, opened.text
    simulated = {"amount": {"value": amount}}
    return await api.post(f"/deposit-addresses/{opened.json()['id']}/simulate", simulated), "amount.value"


EDGES: list[Edge] = [
    sandbox_fund,
    quote_source,
    quote_destination,
    cash_in_indicated,
    cash_in_barcode_auth,
    cash_in_auth_commit,
    virtual_account_deposit,
    deposit_address_deposit,
]


@pytest.fixture
def edge_api(api: Api, ctx) -> Api:  # type: ignore[no-untyped-def]
    api.ctx = ctx  # type: ignore[attr-defined]
    return api


@pytest.mark.parametrize("edge", EDGES, ids=lambda edge: edge.__name__)
async def test_an_amount_above_the_maximum_is_400_naming_its_field(edge_api: Api, edge: Edge) -> None:
    for amount in TOO_LARGE:
        response, param = await edge(edge_api, amount)
        error = assert_error(response, 400, "amount_too_large", param=param)
        assert error["type"] == "invalid_request_error" and "1000000000" in error["message"]


@pytest.mark.parametrize("edge", EDGES, ids=lambda edge: edge.__name__)
async def test_an_exponent_or_sign_in_an_amount_is_400_never_500(edge_api: Api, edge: Edge) -> None:
    for amount in MALFORMED:
        response, param = await edge(edge_api, amount)
        assert_error(response, 400, "invalid_amount", param=param)


@pytest.mark.parametrize("edge", EDGES, ids=lambda edge: edge.__name__)
async def test_an_amount_given_as_a_json_number_is_400_never_500(edge_api: Api, edge: Edge) -> None:
    for amount in (1e30, 2**64, 10):
        response, param = await edge(edge_api, amount)  # type: ignore[arg-type]
        assert_error(response, 400, "parameter_invalid", param=param)


async def test_a_destination_amount_whose_fees_pass_the_maximum_is_400(api: Api) -> None:
    customer, source = await customer_with_wallet(api)
    _, other = await customer_with_wallet(api)
    # The test schedule charges 0.1 % + 0.01: the debit of delivering the maximum would be above it.
    response = await quote(api, customer, source, to=other, amount=MAXIMUM, side="destination")
    assert_error(response, 400, "amount_too_large", param="destination.amount")
    accepted = await quote(api, customer, source, to=other, amount=MAXIMUM)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["source"]["amountGross"] == "1000000000.00"


async def test_the_maximum_itself_is_funded_and_the_balance_is_exact(api: Api, ctx, clock) -> None:  # type: ignore[no-untyped-def]
    _, wallet = await customer_with_wallet(api)
    await fund(api, wallet, MAXIMUM)
    await fund(api, wallet, MAXIMUM)
    await settle(ctx, clock, rounds=4)
    assert await balance(api, wallet) == ("2000000000.00", "2000000000.00", "0.00")


def test_the_cli_refuses_an_amount_above_the_maximum(settings: Settings) -> None:
    address = "0x" + "11" * 20
    for amount in ("9223372036854.775807", "1e30"):
        result = subprocess.run(
            [sys.executable, "-m", "oms", "sandbox", "fund", address, amount],
            env=process_env(settings),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "amount" in result.stderr, result.stderr


def test_configuration_refuses_a_fixed_fee_above_the_maximum(settings: Settings) -> None:
    for name in ("fee_crypto_to_crypto_fixed", "fee_cash_in_fixed", "fee_wire_in_fixed"):
        with pytest.raises(ValueError, match=name):
            Settings(**{**settings.model_dump(), name: "9223372036854.775807"})
        with pytest.raises(ValueError, match=name):
            Settings(**{**settings.model_dump(), name: "1e30"})


# --- the ledger -------------------------------------------------------------------------------------------


async def _accounts(ctx, api: Api) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    _, wallet = await customer_with_wallet(api)
    async with ctx.db.session_scope() as session:
        accounts = await ledger.wallet_account_ids(session, wallet["id"])
        chain = await ledger.system_account(
            session, tenant_id=api.tenant_id, currency="usdc:polygon", kind="chain", at=ctx.clock.now()
        )
    return chain, accounts["available"]


async def test_an_entry_past_the_ledger_limit_is_refused_and_changes_nothing(api: Api, ctx) -> None:  # type: ignore[no-untyped-def]
    chain, available = await _accounts(ctx, api)
    legs = ledger.transfer_legs("usdc:polygon", chain, available, LEDGER_LIMIT)
    async with ctx.db.session_scope() as session:
        await ledger.post_entry(
            session, tenant_id=api.tenant_id, kind="test", reference=None, legs=legs, at=ctx.clock.now()
        )
    for amount in (1, 2**62, 2**63 - 1, 2**63, 2**70):
        with pytest.raises(ledger.LedgerLimitExceeded):
            async with ctx.db.session_scope() as session:
                legs = ledger.transfer_legs("usdc:polygon", chain, available, amount)
                await ledger.post_entry(
                    session, tenant_id=api.tenant_id, kind="test", reference=None, legs=legs, at=ctx.clock.now()
                )
    async with ctx.db.session_scope(write=False) as session:
        assert await ledger.check_invariants(session) == []
        found = (
            await session.execute(text(f"SELECT balance FROM ledger_accounts WHERE id = {available}"))
        ).scalar_one()
    assert type(found) is int and found == LEDGER_LIMIT


async def test_the_database_itself_refuses_a_balance_past_the_limit_or_a_float(api: Api, ctx, is_postgres) -> None:  # type: ignore[no-untyped-def]
    _, available = await _accounts(ctx, api)
    attempts = [f"balance = {LEDGER_LIMIT + 1}", f"balance = -{LEDGER_LIMIT + 1}"]
    if not is_postgres:  # SQLite's column affinity would keep a float: the trigger refuses it
        attempts += ["balance = 1.5", "balance = 9223372036854775807 + 1"]
    for assignment in attempts:
        with pytest.raises(DBAPIError):
            async with ctx.db.session_scope() as session:
                await session.execute(text(f"UPDATE ledger_accounts SET {assignment} WHERE id = {available}"))


async def test_the_balance_api_renders_exact_decimal_strings_at_the_limit(api: Api, ctx) -> None:  # type: ignore[no-untyped-def]
    _, wallet = await customer_with_wallet(api)
    async with ctx.db.session_scope() as session:
        accounts = await ledger.wallet_account_ids(session, wallet["id"])
        chain = await ledger.system_account(
            session, tenant_id=api.tenant_id, currency="usdc:polygon", kind="chain", at=ctx.clock.now()
        )
        for kind in ("available", "pending"):
            legs = ledger.transfer_legs("usdc:polygon", chain, accounts[kind], LEDGER_LIMIT // 2)
            await ledger.post_entry(
                session, tenant_id=api.tenant_id, kind="test", reference=None, legs=legs, at=ctx.clock.now()
            )
    body: dict[str, Any] = (await api.get(f"/wallets/{wallet['id']}/balance")).json()
    whole = LEDGER_LIMIT // 2 // 10 ** ASSETS["usdc"].decimals
    assert (body["available"], body["pending"], body["balance"]) == (f"{whole}.00", f"{whole}.00", f"{whole}.00")
