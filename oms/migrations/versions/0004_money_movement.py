"""money movement

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_cursors",
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("scanned_to", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain", "asset", name=op.f("pk_chain_cursors")),
    )
    op.create_table(
        "chain_nonces",
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("next_nonce", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain", "address", name=op.f("pk_chain_nonces")),
    )
    op.create_table(
        "sandbox_blocks",
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("parent_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chain", "number", name=op.f("pk_sandbox_blocks")),
        sa.UniqueConstraint("hash", name=op.f("uq_sandbox_blocks_hash")),
    )
    op.create_table(
        "sandbox_transactions",
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("from_address", sa.String(length=42), nullable=True),
        sa.Column("to_address", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=True),
        sa.Column("fail_on_mine", sa.Boolean(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_sandbox_transactions")),
    )
    with op.batch_alter_table("sandbox_transactions", schema=None) as batch_op:
        batch_op.create_index("ix_sandbox_transactions_block", ["chain", "block_number"], unique=False)
        batch_op.create_index("ix_sandbox_transactions_pending", ["chain", "status"], unique=False)
        batch_op.create_index("ix_sandbox_transactions_sender", ["chain", "from_address", "nonce"], unique=False)

    op.create_table(
        "chain_deposits",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("wallet_id", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("from_address", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_chain_deposits_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_chain_deposits_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_deposits")),
        sa.UniqueConstraint("chain", "tx_hash", "log_index", name=op.f("uq_chain_deposits_chain_tx_hash_log_index")),
    )
    with op.batch_alter_table("chain_deposits", schema=None) as batch_op:
        batch_op.create_index("ix_chain_deposits_status", ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_chain_deposits_wallet_id"), ["wallet_id"], unique=False)

    op.create_table(
        "chain_sends",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("from_address", sa.String(length=42), nullable=False),
        sa.Column("from_key_index", sa.BigInteger(), nullable=False),
        sa.Column("to_address", sa.String(length=42), nullable=False),
        sa.Column("to_wallet_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fee_payer", sa.String(length=42), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("broadcast_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_chain_sends_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["to_wallet_id"], ["wallets.id"], name=op.f("fk_chain_sends_to_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_sends")),
    )
    with op.batch_alter_table("chain_sends", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_sends_reference"), ["reference"], unique=False)
        batch_op.create_index("ix_chain_sends_status", ["status", "next_check_at"], unique=False)

    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("source_wallet_id", sa.String(length=64), nullable=False),
        sa.Column("destination_wallet_id", sa.String(length=64), nullable=True),
        sa.Column("destination_address", sa.String(length=42), nullable=False),
        sa.Column("fixed_side", sa.String(length=16), nullable=False),
        sa.Column("source_gross", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("destination_net", sa.BigInteger(), nullable=False),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_quotes_customer_id_customers")),
        sa.ForeignKeyConstraint(
            ["destination_wallet_id"], ["wallets.id"], name=op.f("fk_quotes_destination_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(["source_wallet_id"], ["wallets.id"], name=op.f("fk_quotes_source_wallet_id_wallets")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_quotes_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index("ix_quotes_tenant_created", ["tenant_id", "created_at", "id"], unique=False)

    op.create_table(
        "chain_send_attempts",
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("send_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["send_id"], ["chain_sends.id"], name=op.f("fk_chain_send_attempts_send_id_chain_sends")
        ),
        sa.PrimaryKeyConstraint("tx_hash", name=op.f("pk_chain_send_attempts")),
    )
    with op.batch_alter_table("chain_send_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_send_attempts_send_id"), ["send_id"], unique=False)

    op.create_table(
        "transactions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("sub_status", sa.String(length=48), nullable=True),
        sa.Column("quote_id", sa.String(length=64), nullable=True),
        sa.Column("sender_customer_id", sa.String(length=64), nullable=True),
        sa.Column("recipient_customer_id", sa.String(length=64), nullable=True),
        sa.Column("source_wallet_id", sa.String(length=64), nullable=True),
        sa.Column("destination_wallet_id", sa.String(length=64), nullable=True),
        sa.Column("destination_address", sa.String(length=42), nullable=True),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("fixed_side", sa.String(length=16), nullable=False),
        sa.Column("source_gross", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("destination_net", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column(
            "error", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column(
            "request", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["destination_wallet_id"], ["wallets.id"], name=op.f("fk_transactions_destination_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_transactions_quote_id_quotes")),
        sa.ForeignKeyConstraint(
            ["recipient_customer_id"], ["customers.id"], name=op.f("fk_transactions_recipient_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["sender_customer_id"], ["customers.id"], name=op.f("fk_transactions_sender_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["source_wallet_id"], ["wallets.id"], name=op.f("fk_transactions_source_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_transactions_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
        sa.UniqueConstraint("quote_id", name=op.f("uq_transactions_quote_id")),
    )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index("ix_transactions_destination_wallet", ["destination_wallet_id"], unique=False)
        batch_op.create_index("ix_transactions_recipient", ["recipient_customer_id", "created_at"], unique=False)
        batch_op.create_index("ix_transactions_sender", ["sender_customer_id", "created_at"], unique=False)
        batch_op.create_index("ix_transactions_source_wallet", ["source_wallet_id"], unique=False)
        batch_op.create_index("ix_transactions_tenant_created", ["tenant_id", "created_at", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_tenant_created")
        batch_op.drop_index("ix_transactions_source_wallet")
        batch_op.drop_index("ix_transactions_sender")
        batch_op.drop_index("ix_transactions_recipient")
        batch_op.drop_index("ix_transactions_destination_wallet")

    op.drop_table("transactions")
    with op.batch_alter_table("chain_send_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_send_attempts_send_id"))

    op.drop_table("chain_send_attempts")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index("ix_quotes_tenant_created")

    op.drop_table("quotes")
    with op.batch_alter_table("chain_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_chain_sends_status")
        batch_op.drop_index(batch_op.f("ix_chain_sends_reference"))

    op.drop_table("chain_sends")
    with op.batch_alter_table("chain_deposits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_deposits_wallet_id"))
        batch_op.drop_index("ix_chain_deposits_status")

    op.drop_table("chain_deposits")
    with op.batch_alter_table("sandbox_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_transactions_sender")
        batch_op.drop_index("ix_sandbox_transactions_pending")
        batch_op.drop_index("ix_sandbox_transactions_block")

    op.drop_table("sandbox_transactions")
    op.drop_table("sandbox_blocks")
    op.drop_table("chain_nonces")
    op.drop_table("chain_cursors")
