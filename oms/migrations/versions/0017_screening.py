"""Sanctions screening: the imported lists (date and source of each), the active list's digital-currency
addresses, and what a frozen deposit needs (why it was frozen, who decided).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "screening_lists",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("address_count", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("imported_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screening_lists")),
        sa.UniqueConstraint("sha256", name=op.f("uq_screening_lists_sha256")),
    )
    op.create_index(
        "uq_screening_lists_active",
        "screening_lists",
        ["active"],
        unique=True,
        postgresql_where=sa.text("active"),
        sqlite_where=sa.text("active"),
    )
    op.create_table(
        "screening_addresses",
        sa.Column("list_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("entry_ref", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["screening_lists.id"], name=op.f("fk_screening_addresses_list_id_screening_lists")
        ),
        sa.PrimaryKeyConstraint("list_id", "address", "currency", name=op.f("pk_screening_addresses")),
    )
    op.create_index("ix_screening_addresses_address", "screening_addresses", ["address"])
    op.add_column("chain_deposits", sa.Column("screening_reason", sa.String(length=300), nullable=True))
    op.add_column("chain_deposits", sa.Column("reviewed_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chain_deposits") as batch:
        batch.drop_column("reviewed_by")
        batch.drop_column("screening_reason")
    op.drop_index("ix_screening_addresses_address", table_name="screening_addresses")
    op.drop_table("screening_addresses")
    op.drop_index("uq_screening_lists_active", table_name="screening_lists")
    op.drop_table("screening_lists")
