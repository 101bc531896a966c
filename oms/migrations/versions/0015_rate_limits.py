"""Rate limits and lockouts: the shared counters of the rate limits on PostgreSQL (UNLOGGED there) and the
failed sign-ins of each subject.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A counter lives a window long: after a crash none is worth recovering, so it skips the WAL (and replicas).
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_counters")),
        prefixes=unlogged,
    )
    op.create_table(
        "auth_lockouts",
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC, nullable=True),
        sa.Column("last_failure_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_auth_lockouts")),
    )
    op.create_index(op.f("ix_auth_lockouts_last_failure_at"), "auth_lockouts", ["last_failure_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_auth_lockouts_last_failure_at"), table_name="auth_lockouts")
    op.drop_table("auth_lockouts")
    op.drop_table("rate_limit_counters")
