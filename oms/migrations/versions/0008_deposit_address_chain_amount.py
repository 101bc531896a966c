"""Deposit-address deposits above the maximum amount: their exact amount on chain, as decimal text.

Like ``chain_deposits.chain_amount`` (0007): a chain delivers any uint256, more than a BIGINT holds. Such a
deposit is held (``hold_reason`` ``above_maximum``) with ``amount`` 0, never forwarded.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deposit_address_deposits", sa.Column("chain_amount", sa.String(length=78), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deposit_address_deposits") as batch:
        batch.drop_column("chain_amount")
