"""Sanctions screening of deposit-address transfers: why a transfer was frozen (its sender is listed) and the
operator's decision on it (who, when, why).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deposit_address_deposits") as batch:
        batch.add_column(sa.Column("screening_reason", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("review_note", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deposit_address_deposits") as batch:
        batch.drop_column("review_note")
        batch.drop_column("reviewed_at")
        batch.drop_column("reviewed_by")
        batch.drop_column("screening_reason")
