"""Ledger invariants held by the database.

Both databases: postings and entries are immutable (corrections are new, reversing entries).
PostgreSQL also checks, at commit, that every entry's postings sum to zero per currency.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

IMMUTABLE = ("ledger_postings", "ledger_entries")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
    else:
        for table in IMMUTABLE:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"""
                    CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}
                    BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END""")


def _postgresql_upgrade() -> None:
    op.execute("""
        CREATE FUNCTION oms_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% are append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
        END $$""")
    for table in IMMUTABLE:
        op.execute(f"""
            CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION oms_refuse_change()""")
    op.execute("""
        CREATE FUNCTION oms_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            unbalanced text;
        BEGIN
            SELECT currency INTO unbalanced FROM ledger_postings
            WHERE entry_id = NEW.entry_id GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
            IF unbalanced IS NOT NULL THEN
                RAISE EXCEPTION 'ledger entry % does not sum to zero in %', NEW.entry_id, unbalanced
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_postings
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oms_check_entry_balanced()""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_entry_balanced ON ledger_postings")
        op.execute("DROP FUNCTION oms_check_entry_balanced()")
        for table in IMMUTABLE:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION oms_refuse_change()")
    else:
        for table in IMMUTABLE:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{action}")
