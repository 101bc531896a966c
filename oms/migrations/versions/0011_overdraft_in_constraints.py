"""The ledger's refusals stated once, in the schema: ``oms_post_entry`` no longer checks anything itself.

An overdraft is refused by ``ck_ledger_accounts_non_negative`` (CHECK: allow_negative OR balance >= 0), a
balance beyond the ledger's limit by ``ck_ledger_accounts_within_limit`` (0007), a leg in another currency
than its account by the postings' foreign key on (account_id, currency) (0001). The function only moves the
balances in account-id order (one global lock order) and writes the entry and its postings, as the SQLite
path does statement by statement; the same constraints refuse on both databases, and
``oms.ledger.repository.refusal`` names which (docs/architecture.md, "Money rules").

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE OR REPLACE FUNCTION oms_post_entry(
            p_tenant_id text, p_kind text, p_reference text, p_at timestamptz,
            p_accounts bigint[], p_currencies text[], p_amounts bigint[]
        ) RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE
            leg int;
            entry bigint;
        BEGIN
            FOR leg IN SELECT i FROM generate_subscripts(p_accounts, 1) AS i ORDER BY p_accounts[i], i LOOP
                UPDATE ledger_accounts SET balance = balance + p_amounts[leg] WHERE id = p_accounts[leg];
            END LOOP;
            INSERT INTO ledger_entries (tenant_id, kind, reference, created_at)
                 VALUES (p_tenant_id, p_kind, p_reference, p_at) RETURNING id INTO entry;
            INSERT INTO ledger_postings (entry_id, account_id, currency, amount)
                 SELECT entry, account, currency, amount FROM unnest(p_accounts, p_currencies, p_amounts)
                     AS legs(account, currency, amount);
            RETURN entry;
        END $$""")


def downgrade() -> None:
    """Back to 0007's function, which checked each leg itself (raising OMS01, OMS02 or OMS03)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    spec = importlib.util.spec_from_file_location("0007", Path(__file__).with_name("0007_amount_limits.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.post_entry_function()
