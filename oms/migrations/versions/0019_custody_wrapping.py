"""Custody key wrapping: which backend and key wrap the seed (configured key or PKCS#11 token), since when, and
the record of retired key-encryption keys (rotation, recovery).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Every seed sealed so far was sealed by the configured key-encryption key: its format is unchanged.
    op.add_column(
        "custody_seeds",
        sa.Column("wrapping_backend", sa.String(length=16), server_default="configured", nullable=False),
    )
    op.add_column("custody_seeds", sa.Column("wrapping_key_label", sa.String(length=300), nullable=True))
    op.add_column("custody_seeds", sa.Column("wrapped_at", UTC, nullable=True))
    op.execute("UPDATE custody_seeds SET wrapped_at = created_at")
    with op.batch_alter_table("custody_seeds") as batch:
        batch.alter_column("wrapped_at", existing_type=UTC, nullable=False)
    op.create_table(
        "custody_retired_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("seed_id", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("key_label", sa.String(length=300), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("wrapped_since", UTC, nullable=False),
        sa.Column("retired_at", UTC, nullable=False),
        sa.Column("replaced_by_backend", sa.String(length=16), nullable=False),
        sa.Column("replaced_by_key_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_retired_keys")),
    )


def downgrade() -> None:
    op.drop_table("custody_retired_keys")
    with op.batch_alter_table("custody_seeds") as batch:
        batch.drop_column("wrapped_at")
        batch.drop_column("wrapping_key_label")
        batch.drop_column("wrapping_backend")
