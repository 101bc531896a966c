"""PostgreSQL: a ledger entry posted in one round trip (``oms_post_entry``).

The function does what ``oms.ledger.service.post_entry`` does statement by statement on SQLite: every leg's
balance moved in account-id order (one global lock order), a non-negative account refused rather than taken
below zero, then the entry and its postings written. A refusal raises, so the caller's transaction is rolled
back with nothing half-written. One call instead of a statement per leg plus two.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The function raises SQLSTATE OMS01 (a leg would take a non-negative account below zero) or OMS02 (a leg's
# account is in another currency); oms/ledger/repository.py maps them back to its refusals.


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION oms_post_entry(
            p_tenant_id text, p_kind text, p_reference text, p_at timestamptz,
            p_accounts bigint[], p_currencies text[], p_amounts bigint[]
        ) RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE
            leg int;
            entry bigint;
        BEGIN
            FOR leg IN SELECT i FROM generate_subscripts(p_accounts, 1) AS i ORDER BY p_accounts[i], i LOOP
                UPDATE ledger_accounts SET balance = balance + p_amounts[leg]
                 WHERE id = p_accounts[leg] AND currency = p_currencies[leg]
                   AND (allow_negative OR balance + p_amounts[leg] >= 0);
                IF NOT FOUND THEN
                    IF EXISTS (SELECT 1 FROM ledger_accounts WHERE id = p_accounts[leg] AND currency = p_currencies[leg])
                    THEN
                        RAISE EXCEPTION 'account % may not go below zero', p_accounts[leg]
                            USING ERRCODE = 'OMS01';
                    END IF;
                    RAISE EXCEPTION 'account % is not in %', p_accounts[leg], p_currencies[leg]
                        USING ERRCODE = 'OMS02';
                END IF;
            END LOOP;
            INSERT INTO ledger_entries (tenant_id, kind, reference, created_at)
                 VALUES (p_tenant_id, p_kind, p_reference, p_at) RETURNING id INTO entry;
            INSERT INTO ledger_postings (entry_id, account_id, currency, amount)
                 SELECT entry, account, currency, amount FROM unnest(p_accounts, p_currencies, p_amounts)
                     AS legs(account, currency, amount);
            RETURN entry;
        END $$""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION oms_post_entry(text, text, text, timestamptz, bigint[], text[], bigint[])")
