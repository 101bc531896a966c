"""Write the database-alone benchmark's SQL (bench/pg_transfer.sql, bench/pg_balance.sql) from the server's own
statements (``oms.fastlane.repository.STATEMENTS``), so that pgbench runs exactly what the fast lane runs.

    .venv/bin/python -m bench.sql          # rewrite both files
    .venv/bin/python -m bench.sql --check  # exit 1 if either differs from what this revision would write

Each statement's parameters ($1, $2, …) become session settings that one bookkeeping statement per batch sets
(the benchmark's only statement of its own: the batch's ids, wallets and accounts, one cheap round trip). This
file holds only the benchmark's data: what each parameter holds for an item of a batch of ``:batch`` pairs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from oms.fastlane.repository import STATEMENTS

HERE = Path(__file__).parent
_ZERO_ADDRESS = "'0x' || repeat('0', 40)"
_NOW = "now()"
_USDC = "'usdc' || chr(58) || 'polygon'"  # a colon would be a pgbench variable

# For an item ``i`` of the batch (see _ITEMS) or a leg ``l`` of its hold: the value of each parameter.
VALUES: dict[str, str] = {
    # the caller (pgbench variables) and the request
    "key_id": ":key::text",
    "tenant_id": ":tenant::text",
    "mode": "'sandbox'",
    "now": _NOW,
    "customer_id": "i.customer",
    "source_wallet_id": "i.source",
    "destination_wallet_id": "i.destination",
    "quote_id": "i.quote_id",
    "wallet_id": "(SELECT id FROM bench_wallets WHERE n = :n)",
    "item.kind": "'transfer.hold'",
    "leg.batch_index": "l.n",
    "leg.account": "l.account",
    "leg.currency": _USDC,
    "leg.amount": "l.amount",
    # the stored answers (their sizes are the server's)
    "idempotency_keys.tenant_id": ":tenant::text",
    "idempotency_keys.fingerprint": "repeat('f', 64)",
    "idempotency_keys.response_status": "201",
    "idempotency_keys.created_at": _NOW,
    "idempotency_keys.expires_at": "now() + interval '1 day'",
    "idempotency_keys.request_id": "NULL::text",
    # the quote
    "quotes.id": "i.quote_id",
    "quotes.tenant_id": ":tenant::text",
    "quotes.customer_id": "i.customer",
    "quotes.type": "'cryptoToCrypto'",
    "quotes.status": "'open'",
    "quotes.asset": "'usdc'",
    "quotes.chain": "'polygon'",
    "quotes.source_wallet_id": "i.source",
    "quotes.destination_wallet_id": "i.destination",
    "quotes.destination_address": _ZERO_ADDRESS,
    "quotes.fixed_side": "'source'",
    "quotes.source_gross": "10000",
    "quotes.fee": "0",
    "quotes.destination_net": "10000",
    "quotes.metadata": "'{}'::jsonb",
    "quotes.created_at": _NOW,
    "quotes.expires_at": "now() + interval '5 min'",
    "quotes.accepted_at": "NULL::timestamptz",
    # the transaction, its send and its event
    "transactions.id": "i.reference",
    "transactions.tenant_id": ":tenant::text",
    "transactions.type": "'cryptoToCrypto'",
    "transactions.status": "'processing'",
    "transactions.sub_status": "'fundsHeld'",
    "transactions.quote_id": "i.quote_id",
    "transactions.sender_customer_id": "i.customer",
    "transactions.recipient_customer_id": "i.recipient",
    "transactions.source_wallet_id": "i.source",
    "transactions.destination_wallet_id": "i.destination",
    "transactions.destination_address": _ZERO_ADDRESS,
    "transactions.asset": "'usdc'",
    "transactions.chain": "'polygon'",
    "transactions.fixed_side": "'source'",
    "transactions.source_gross": "10000",
    "transactions.fee": "0",
    "transactions.destination_net": "10000",
    "transactions.tx_hash": "NULL::text",
    "transactions.error": "NULL::jsonb",
    "transactions.request": "'{}'::jsonb",
    "transactions.metadata": "'{}'::jsonb",
    "transactions.version": "1",
    "transactions.created_at": _NOW,
    "transactions.updated_at": _NOW,
    "transactions.completed_at": "NULL::timestamptz",
    "chain_sends.id": "'send_' || gen_random_uuid()",
    "chain_sends.tenant_id": ":tenant::text",
    "chain_sends.purpose": "'transfer'",
    "chain_sends.reference": "i.reference",
    "chain_sends.chain": "'polygon'",
    "chain_sends.asset": "'usdc'",
    "chain_sends.from_address": _ZERO_ADDRESS,
    "chain_sends.from_key_index": "0",
    "chain_sends.to_address": _ZERO_ADDRESS,
    "chain_sends.to_wallet_id": "i.destination",
    "chain_sends.amount": "10000",
    "chain_sends.status": "'queued'",
    "chain_sends.fee_payer": "NULL::text",
    "chain_sends.nonce": "NULL::bigint",
    "chain_sends.tx_hash": "NULL::text",
    "chain_sends.block_number": "NULL::bigint",
    "chain_sends.settled": "false",
    "chain_sends.last_error": "NULL::text",
    "chain_sends.next_check_at": _NOW,
    "chain_sends.broadcast_at": "NULL::timestamptz",
    "chain_sends.created_at": _NOW,
    "chain_sends.updated_at": _NOW,
    "events.id": "'evt_' || gen_random_uuid()",
    "events.tenant_id": ":tenant::text",
    "events.type": "'transaction.cryptoToCrypto.processing'",
    "events.object_id": "i.reference",
    "events.sequence": "1",
    "events.data": "jsonb_build_object('padding', repeat('e', 1200))",
    "events.created_at": _NOW,
    "events.dispatched_at": "NULL::timestamptz",
}
# What differs between the two requests of a pair: the Idempotency-Key and the size of the stored answer.
PER_STATEMENT: dict[str, dict[str, str]] = {
    "quote_contexts": {"idempotency_key": "i.quote_id"},
    "create_quotes": {
        "idempotency_keys.key": "i.quote_id",
        "idempotency_keys.response_body": "convert_to(repeat('q', 900), 'UTF8')",
    },
    "execution_contexts": {"idempotency_key": "i.reference"},
    "execute": {
        "idempotency_keys.key": "i.reference",
        "idempotency_keys.response_body": "convert_to(repeat('t', 1100), 'UTF8')",
    },
}

# The batch: :batch pairs, each from one of the first :wallets wallets (1: one hot wallet) to one of :payees.
_ITEMS = """WITH i AS MATERIALIZED (
  SELECT row_number() OVER () AS n, 'qt_' || gen_random_uuid() AS quote_id, 'txn_' || gen_random_uuid() AS reference,
         s.id AS source, s.customer_id AS customer, d.id AS destination, d.customer_id AS recipient,
         a.id AS available, h.id AS held
    FROM (SELECT 1 + floor(random() * :wallets)::int AS sn, 1 + floor(random() * :payees)::int AS dn
            FROM generate_series(1, :batch)) AS pick
    JOIN bench_wallets s ON s.n = pick.sn
    JOIN bench_wallets d ON d.n = pick.dn
    JOIN ledger_accounts a ON a.wallet_id = s.id AND a.kind = 'available'
    JOIN ledger_accounts h ON h.wallet_id = s.id AND h.kind = 'held'),
l AS (SELECT i.n, leg.* FROM i CROSS JOIN LATERAL (VALUES (1, i.available, -10000::bigint), (2, i.held, 10000::bigint))
        AS leg(leg, account, amount))"""

_TRANSFER_HEADER = """-- Written by `python -m bench.sql` from oms.fastlane.repository.STATEMENTS: do not edit.
-- The statements of :batch quotes (POST /quotes) and their executions (POST /transactions) as the fast lane runs
-- them on PostgreSQL under load: the reads of concurrent requests as one statement, their writes as one statement
-- and one transaction (group commit). :batch=1 is an idle server. The first statement is the benchmark's own
-- bookkeeping (each statement's parameters for the batch, kept in session settings), one extra round trip.
"""
_BALANCE_HEADER = """-- Written by `python -m bench.sql` from oms.fastlane.repository.STATEMENTS: do not edit.
-- The statement of one GET /wallets/{id}/balance as the fast lane runs it.
\\set n random(1, :wallets)
"""


def _setting(statement: str, number: int) -> str:
    return f"bench.{statement}_{number}"


def _array(statement: str, parameter: str) -> str:
    """The batch's array of one parameter: a value per item, or per leg of the items' holds."""
    value = PER_STATEMENT.get(statement, {}).get(parameter) or VALUES[parameter]
    if re.fullmatch(r"'[^']*'", value):  # a bare literal is of unknown type to array_agg
        value += "::text"
    if parameter.startswith("leg."):
        return f"(SELECT array_agg({value} ORDER BY l.n, l.leg) FROM l)"
    return f"(SELECT array_agg({value} ORDER BY i.n) FROM i)"


def _bookkeeping(statements: list[str]) -> str:
    settings = [
        f"set_config('{_setting(statement, number)}', {_array(statement, parameter)}::text, false)"
        for statement in statements
        for number, parameter in enumerate(STATEMENTS[statement][1], start=1)
    ]
    return f"{_ITEMS}\nSELECT " + ",\n       ".join(settings) + ";\n"


def _with_settings(statement: str) -> str:
    """The server's statement, each parameter read from its session setting."""
    sql = STATEMENTS[statement][0]
    return re.sub(r"\$(\d+)", lambda number: f"current_setting('{_setting(statement, int(number.group(1)))}')", sql)


def _balance() -> str:
    sql, parameters = STATEMENTS["balance"]
    return _BALANCE_HEADER + re.sub(r"\$(\d+)", lambda n: VALUES[parameters[int(n.group(1)) - 1]], sql) + ";\n"


def transfer() -> str:
    order = ["quote_contexts", "create_quotes", "execution_contexts", "execute"]
    body = "".join(f"{_with_settings(statement).strip()};\n" for statement in order)
    return _TRANSFER_HEADER + _bookkeeping(order) + body


FILES = {HERE / "pg_transfer.sql": transfer, HERE / "pg_balance.sql": _balance}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file differs (default: rewrite them)")
    arguments = parser.parse_args()
    stale = [path for path, write in FILES.items() if not path.exists() or path.read_text() != write()]
    if arguments.check:
        for path in stale:
            print(f"{path} is stale: run python -m bench.sql", file=sys.stderr)
        return 1 if stale else 0
    for path, write in FILES.items():
        path.write_text(write())
    return 0


if __name__ == "__main__":
    sys.exit(main())
