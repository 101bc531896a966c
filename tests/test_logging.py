"""No secret, seed, token or personal datum ever reaches a log line."""

from __future__ import annotations

import io
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import text

from oms.config import Settings
from oms.context import AppContext
from oms.kit.logging import RedactingFilter, loggable_path, redact_all, redact_text
from tests.support import (
    FULL_IDENTITY,
    Api,
    assert_error,
    captured_logs,
    create_customer,
    create_key,
    create_wallet,
    exchange,
    new_api,
    stored_mnemonic,
)


async def test_a_whole_session_logs_no_secret(client, ctx) -> None:
    with captured_logs() as stream:
        issued = await create_key(ctx)
        token = await exchange(client, issued)
        api = await new_api(client, ctx)
        customer = await create_customer(api, **FULL_IDENTITY)
        funded = await create_customer(api)
        await create_wallet(api, funded["id"])
        await api.get(f"/customers/{customer['id']}")
        logging.getLogger("oms.test").warning("leaked? Bearer %s and %s", token, issued.secret)
        mnemonic = await stored_mnemonic(ctx)
    output = stream.getvalue()
    assert "oms.access" in output and "leaked?" in output
    for secret in (
        issued.secret,
        token,
        api.token,
        mnemonic,
        mnemonic.split()[0] + " " + mnemonic.split()[1],
        "123-45-6789",
        "1990-12-10",
        # Not sealed, but personal: SQLAlchemy's statement log shows no parameters.
        FULL_IDENTITY["email"],
        FULL_IDENTITY["phone"],
        FULL_IDENTITY["lastName"],
    ):
        assert secret not in output
    assert "[SQL parameters hidden" in output


Refuse = Callable[[str, str, str], Awaitable[None]]


@pytest.fixture
async def refuse(ctx: AppContext) -> AsyncIterator[Refuse]:
    """``await refuse(table, column, value)``: the database itself refuses a row of ``table`` whose ``column``
    holds ``value`` (a trigger or constraint added for this test alone), so that a statement fails inside it."""
    removals: list[str] = []

    async def install(table: str, column: str, value: str) -> None:
        name = f"test_refuse_{uuid.uuid4().hex[:12]}"
        if ctx.db.is_sqlite:
            statement = (
                f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN NEW.{column} = '{value}' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
            removals.append(f"DROP TRIGGER {name}")
        else:  # its DETAIL line quotes the whole failing row
            statement = f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({column} IS DISTINCT FROM '{value}')"
            removals.append(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        async with ctx.db.session_scope() as session:
            await session.execute(text(statement))

    try:
        yield install
    finally:
        for removal in removals:
            async with ctx.db.session_scope() as session:
                await session.execute(text(removal))


async def test_a_failed_statement_logs_neither_its_parameters_nor_the_database_s_quote_of_them(
    api: Api, refuse: Refuse
) -> None:
    surname = f"Hopper-{uuid.uuid4().hex[:8]}"
    refused_email = f"refused-{uuid.uuid4().hex[:12]}@example.com"
    await refuse("customers", "email", refused_email)
    with captured_logs() as stream:
        response = await api.post(
            "/customers", {"firstName": "Grace", "lastName": surname, "email": refused_email, "phone": "+12125550199"}
        )
    assert_error(response, 500, "internal_error")
    output = stream.getvalue()
    for datum in (surname, refused_email, "+12125550199"):
        assert datum not in output
        assert datum not in response.text
    # Still useful: what failed, where, and as which error.
    assert '"message":"unhandled error"' in output and '"path":"/v0.9/customers"' in output
    assert "IntegrityError" in output and "in INSERT INTO customers (statement and parameters not logged)" in output


async def test_a_failure_storing_the_answer_is_a_500_in_the_envelope_logged_like_any_other(
    api: Api, refuse: Refuse
) -> None:
    """The answer is stored for replay after the handler returned, just before the commit."""
    key = f"refused-{uuid.uuid4().hex[:12]}"
    await refuse("idempotency_keys", "key", key)
    with captured_logs() as stream:
        response = await api.post("/customers", {"email": "grace@example.com"}, key=key)
    assert_error(response, 500, "internal_error")
    output = stream.getvalue()
    assert "grace@example.com" not in output
    assert '"message":"unhandled error"' in output and "in INSERT INTO idempotency_keys" in output


def test_redaction_covers_tokens_secrets_and_keys() -> None:
    line = (
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl secret sks_abcdefghijklmnop "
        "whsec_0123456789abcdef key 0x" + "ab" * 32
    )
    redacted = redact_text(line)
    assert "eyJ" not in redacted and "sks_" not in redacted and "whsec_" not in redacted and "ab" * 32 not in redacted


def test_redaction_covers_operators_tokens_cookies_and_setup_links() -> None:
    line = "token oat_abcdefghijklmnop cookie oss_abcdefghijklmnop link /admin/v1/setup#token=ost_abcdefghijklmnop"
    redacted = redact_text(line)
    assert "abcdefghijklmnop" not in redacted and redacted.count("[REDACTED]") == 3


def test_secret_named_fields_are_redacted() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    record.apiSecret = "plain"
    RedactingFilter().filter(record)
    assert record.apiSecret == "[REDACTED]"


def test_urls_keep_only_scheme_and_host() -> None:
    line = "connect to https://user:pw@polygon-mainnet.example.com/v2/abcdef123?k=1 failed; see http://host:8545"
    redacted = redact_text(line)
    assert "abcdef123" not in redacted and "pw@" not in redacted and "k=1" not in redacted
    assert "https://polygon-mainnet.example.com/[REDACTED]" in redacted and "http://host:8545" in redacted


def test_text_quoting_a_database_error_s_data_is_redacted() -> None:
    """A traceback rendered as text elsewhere (granian writes an escaped exception's into its message)."""
    line = (
        'IntegrityError: duplicate key value violates unique constraint "uq"\n'
        "DETAIL:  Key (email)=(ada@example.com) already exists.\n"
        "[SQL: INSERT INTO customers (email) VALUES ($1)]\n[parameters: ('ada@example.com',)]\n"
        "DataError: invalid input for query argument $1: 'Lovelace' (expected int)"
    )
    redacted = redact_text(line)
    assert "ada@example.com" not in redacted and "Lovelace" not in redacted
    assert "DETAIL:  [REDACTED]" in redacted and "[SQL: INSERT INTO customers (email) VALUES ($1)]" in redacted


# A whole instance of every pattern the redaction knows; the property below glues them in any order.
SECRETS = [
    "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dX",
    "sks_abcdefghijkl",
    "whsec_0123456789ab",
    "oat_0123456789ab",
    "oss_0123456789ab",
    "ost_0123456789ab",
    "0x" + "ab" * 32,
    "https://user:pw@h.example/p?k=1",
    "Bearer abc.def",
    "bEaReR\tX",
    "DETAIL:  Key (email)=(a@b.example) already exists.",
    "invalid input for query argument $2: 'Ada' (expected int)",
    "[parameters: ('Ada', 'a@b.example')]",
]
SECRET_LIKE = st.lists(st.sampled_from([*SECRETS, "eyJ", "0x", "://", " ", ".", "-", "Z9"]), max_size=20).map("".join)


@given(st.one_of(SECRET_LIKE, st.text(max_size=80)))
@example(SECRETS[0])
@example(SECRETS[1])
@example(SECRETS[2])
@example(SECRETS[3])
@example(SECRETS[4])
@example(SECRETS[5])
@example(SECRETS[6])
@example(SECRETS[7])
@example(SECRETS[8])
@example(SECRETS[9])
def test_the_quick_check_never_skips_a_line_that_needs_redacting(text: str) -> None:
    assert redact_text(text) == redact_all(text)


async def test_text_logs_show_time_level_method_path_status_duration_and_the_fields(api: Api) -> None:
    with captured_logs(json_lines=False) as stream:
        response = await api.post("/customers", {"email": "ada@example.com"}, key="text-log-1")
        logging.getLogger("oms.test").warning("held for review", extra={"transaction": "txn_1", "reason": "two words"})
    lines = stream.getvalue().splitlines()
    [access] = [line for line in lines if " oms.access " in line]
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO    oms\.access POST /v0\.9/customers 201 [\d.]+ms "
        rf"requestId={response.headers['request-id']}",
        access,
    ), access
    [warning] = [line for line in lines if "held for review" in line]
    assert ' WARNING oms.test held for review transaction=txn_1 reason="two words"' in warning
    assert "ada@example.com" not in stream.getvalue()


def test_text_logs_redact_secrets_like_json_lines() -> None:
    with captured_logs(json_lines=False) as stream:
        logging.getLogger("oms.test").info("exchanged", extra={"apiSecret": "plain", "note": "sks_abcdefghijklmnop"})
    line = stream.getvalue()
    assert "plain" not in line and "sks_" not in line and "apiSecret=[REDACTED] note=[REDACTED]" in line


def test_logs_are_text_on_a_sandbox_terminal_and_json_elsewhere() -> None:
    primary, secondary = os.openpty()  # a real terminal
    with os.fdopen(secondary, "w") as terminal, io.StringIO() as pipe:
        assert Settings(log_json="auto").json_logs(terminal) is False
        assert Settings(log_json="auto").json_logs(pipe) is True
        assert Settings(log_json="auto", mode="live", secret_key="ab" * 32, custody_kek="cd" * 32).json_logs(terminal)
        assert Settings(log_json=True).json_logs(terminal) is True
        assert Settings(log_json=False).json_logs(pipe) is False
    os.close(primary)


def test_a_logged_url_path_keeps_words_and_versions_and_hides_what_may_be_a_token() -> None:
    assert loggable_path("https://hooks.example.com/v1/oms/payment-events") == "/v1/oms/payment-events"
    assert loggable_path("http://127.0.0.1:9000/in") == "/in"
    assert loggable_path("https://h.example") == "/"
    assert (
        loggable_path("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX?token=abc")
        == "/services/T00000000/B00000000/[REDACTED]?[REDACTED]"
    )
    assert loggable_path("https://node.example/v3/0123456789abcdef0123456789abcdef") == "/v3/[REDACTED]"
    assert loggable_path("https://h.example/in/whsec_abcdefghijkl") == "/in/[REDACTED]"
