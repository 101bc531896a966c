"""Amount limits: no ledger balance or posting beyond the ledger's limit, and deposits flagged, not credited.

Both databases refuse a balance or a posting outside ±10^17 smallest units (``oms.kit.money.LEDGER_LIMIT``;
docs/decisions.md, "Amount limits"), so the ledger's integers can never overflow a BIGINT, and on SQLite
can never become floating point (SQLite turns an integer sum beyond 2^63 into a REAL without a word).
``oms_post_entry`` refuses such a leg with SQLSTATE OMS03 before any row changes, as it refuses an overdraft.

``chain_deposits`` gains ``chain_amount`` (the exact amount seen on chain, as decimal text: a chain can
deliver any uint256) and ``flag_reason``, for deposits the ledger cannot take: they are ``flagged``, never
credited, and reported by ``oms reconcile``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LIMIT = 10**17  # oms.kit.money.LEDGER_LIMIT when this revision was written; a migration never changes
_WITHIN = f"BETWEEN -{LIMIT} AND {LIMIT}"


def upgrade() -> None:
    op.add_column("chain_deposits", sa.Column("chain_amount", sa.String(length=78), nullable=True))
    op.add_column("chain_deposits", sa.Column("flag_reason", sa.String(length=200), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
        return
    # SQLite cannot add a CHECK to an existing table without rebuilding it (and its append-only triggers):
    # triggers hold the same rule, and also refuse a value that is not an integer.
    for table, column in (("ledger_accounts", "balance"), ("ledger_postings", "amount")):
        for action in ("INSERT", f"UPDATE OF {column}"):
            name = f"{table}_{column}_within_limit_{action.split()[0].lower()}"
            op.execute(f"""
                CREATE TRIGGER {name} BEFORE {action} ON {table}
                WHEN typeof(NEW.{column}) <> 'integer' OR NEW.{column} NOT {_WITHIN}
                BEGIN SELECT RAISE(ABORT, '{table}.{column} beyond the ledger limit'); END""")


def _postgresql_upgrade() -> None:
    op.execute(f"ALTER TABLE ledger_accounts ADD CONSTRAINT ck_ledger_accounts_within_limit CHECK (balance {_WITHIN})")
    op.execute(f"ALTER TABLE ledger_postings ADD CONSTRAINT ck_ledger_postings_within_limit CHECK (amount {_WITHIN})")
    post_entry_function()


def post_entry_function() -> None:
    """This revision's ``oms_post_entry`` (0011 replaces it, and restores it on downgrade)."""
    op.execute(f"""
        CREATE OR REPLACE FUNCTION oms_post_entry(
            p_tenant_id text, p_kind text, p_reference text, p_at timestamptz,
            p_accounts bigint[], p_currencies text[], p_amounts bigint[]
        ) RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE
            leg int;
            entry bigint;
            current bigint;
        BEGIN
            -- Each leg within the limit first, so that balance + leg below cannot overflow a bigint.
            IF EXISTS (SELECT 1 FROM unnest(p_amounts) AS a WHERE a NOT {_WITHIN}) THEN
                RAISE EXCEPTION 'a leg is beyond the ledger limit' USING ERRCODE = 'OMS03';
            END IF;
            FOR leg IN SELECT i FROM generate_subscripts(p_accounts, 1) AS i ORDER BY p_accounts[i], i LOOP
                UPDATE ledger_accounts SET balance = balance + p_amounts[leg]
                 WHERE id = p_accounts[leg] AND currency = p_currencies[leg]
                   AND (allow_negative OR balance + p_amounts[leg] >= 0)
                   AND balance + p_amounts[leg] {_WITHIN};
                IF NOT FOUND THEN
                    SELECT balance INTO current FROM ledger_accounts
                     WHERE id = p_accounts[leg] AND currency = p_currencies[leg];
                    IF NOT FOUND THEN
                        RAISE EXCEPTION 'account % is not in %', p_accounts[leg], p_currencies[leg]
                            USING ERRCODE = 'OMS02';
                    END IF;
                    IF current + p_amounts[leg] NOT {_WITHIN} THEN
                        RAISE EXCEPTION 'account % would pass the ledger limit', p_accounts[leg]
                            USING ERRCODE = 'OMS03';
                    END IF;
                    RAISE EXCEPTION 'account % may not go below zero', p_accounts[leg] USING ERRCODE = 'OMS01';
                END IF;
            END LOOP;
            INSERT INTO ledger_entries (tenant_id, kind, reference, created_at)
                 VALUES (p_tenant_id, p_kind, p_reference, p_at) RETURNING id INTO entry;
            INSERT INTO ledger_postings (entry_id, account_id, currency, amount)
                 SELECT entry, account, currency, amount FROM unnest(p_accounts, p_currencies, p_amounts)
                     AS legs(account, currency, amount);
            RETURN entry;
        END $$""")  # noqa: S608 (constants only)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_postings DROP CONSTRAINT ck_ledger_postings_within_limit")
        op.execute("ALTER TABLE ledger_accounts DROP CONSTRAINT ck_ledger_accounts_within_limit")
        # 0006's function again, without the limit.
        op.execute("DROP FUNCTION oms_post_entry(text, text, text, timestamptz, bigint[], text[], bigint[])")
        _revision("0006_post_entry_function").upgrade()
    else:
        for table, column in (("ledger_accounts", "balance"), ("ledger_postings", "amount")):
            for action in ("insert", "update"):
                op.execute(f"DROP TRIGGER {table}_{column}_within_limit_{action}")
    with op.batch_alter_table("chain_deposits") as batch:
        batch.drop_column("flag_reason")
        batch.drop_column("chain_amount")


def _revision(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
