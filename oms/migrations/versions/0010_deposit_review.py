"""Flagged deposits an operator reviewed: ``oms deposits dismiss`` keeps the row (status ``dismissed``) and
records when and why, so the deposit stays on record and ``oms reconcile`` counts its tokens as knowingly
outside the ledger instead of reporting them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("chain_deposits", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("chain_deposits", sa.Column("review_note", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chain_deposits") as batch:
        batch.drop_column("review_note")
        batch.drop_column("reviewed_at")
