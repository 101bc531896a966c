"""No secret, seed, token or personal datum ever reaches a log line."""

from __future__ import annotations

import io
import logging

from hypothesis import example, given
from hypothesis import strategies as st

from oms.kit.logging import _SECRET, RedactingFilter, configure_logging, redact_text, scrub_urls
from tests.support import (
    FULL_IDENTITY,
    create_customer,
    create_key,
    create_wallet,
    exchange,
    new_api,
    stored_mnemonic,
)


async def test_a_whole_session_logs_no_secret(client, ctx) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("DEBUG", stream=stream)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        issued = await create_key(ctx)
        token = await exchange(client, issued)
        api = await new_api(client, ctx)
        customer = await create_customer(api, **FULL_IDENTITY)
        funded = await create_customer(api)
        await create_wallet(api, funded["id"])
        await api.get(f"/customers/{customer['id']}")
        logging.getLogger("oms.test").warning("leaked? Bearer %s and %s", token, issued.secret)
        mnemonic = await stored_mnemonic(ctx)
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
        root.handlers[:], level = saved
        root.setLevel(level)
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
    ):
        assert secret not in output


def test_redaction_covers_tokens_secrets_and_keys() -> None:
    line = (
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl secret sks_abcdefghijklmnop "
        "whsec_0123456789abcdef key 0x" + "ab" * 32
    )
    redacted = redact_text(line)
    assert "eyJ" not in redacted and "sks_" not in redacted and "whsec_" not in redacted and "ab" * 32 not in redacted


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


# A whole instance of every pattern the redaction knows; the property below glues them in any order.
SECRETS = [
    "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dX",
    "sks_abcdefghijkl",
    "whsec_0123456789ab",
    "0x" + "ab" * 32,
    "https://user:pw@h.example/p?k=1",
    "Bearer abc.def",
    "bEaReR\tX",
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
def test_the_quick_check_never_skips_a_line_that_needs_redacting(text: str) -> None:
    full = scrub_urls(_SECRET.sub(lambda m: (m.group("bearer") or "") + "[REDACTED]", text))
    assert redact_text(text) == full
