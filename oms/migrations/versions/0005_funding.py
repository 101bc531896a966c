"""funding: cash-ins, virtual accounts, deposit addresses, funded transactions, tenant test clocks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deposit_address_cursors",
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("scanned_to", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain", "asset", name=op.f("pk_deposit_address_cursors")),
    )
    op.create_table(
        "tenant_clocks",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("offset_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_clocks_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_clocks")),
    )
    op.create_table(
        "deposit_addresses",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("key_index", sa.BigInteger(), nullable=False),
        sa.Column("destination_wallet_id", sa.String(length=64), nullable=True),
        sa.Column("destination_address", sa.String(length=42), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_deposit_addresses_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["destination_wallet_id"], ["wallets.id"], name=op.f("fk_deposit_addresses_destination_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(
            ["key_index"], ["custody_keys.index"], name=op.f("fk_deposit_addresses_key_index_custody_keys")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_deposit_addresses_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_addresses")),
    )
    with op.batch_alter_table("deposit_addresses", schema=None) as batch_op:
        batch_op.create_index("ix_deposit_addresses_chain_address", ["chain", "address"], unique=False)
        batch_op.create_index(
            "ix_deposit_addresses_customer_created", ["customer_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deposit_addresses_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "virtual_accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("destination_wallet_id", sa.String(length=64), nullable=True),
        sa.Column("destination_address", sa.String(length=42), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("bank_name", sa.String(length=200), nullable=False),
        sa.Column("bank_address", sa.String(length=300), nullable=False),
        sa.Column("routing_number", sa.String(length=9), nullable=False),
        sa.Column("account_number", sa.String(length=17), nullable=False),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("swift_code", sa.String(length=11), nullable=False),
        sa.Column("owner_name", sa.String(length=300), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("accountholder_name", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("bank_memo", sa.String(length=200), nullable=True),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_virtual_accounts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["destination_wallet_id"], ["wallets.id"], name=op.f("fk_virtual_accounts_destination_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_virtual_accounts_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_accounts")),
        sa.UniqueConstraint("reference", name=op.f("uq_virtual_accounts_reference")),
        sa.UniqueConstraint(
            "routing_number", "account_number", name=op.f("uq_virtual_accounts_routing_number_account_number")
        ),
    )
    with op.batch_alter_table("virtual_accounts", schema=None) as batch_op:
        batch_op.create_index("ix_virtual_accounts_customer_created", ["customer_id", "created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_virtual_accounts_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "cash_ins",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sub_status", sa.String(length=48), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("location_reference", sa.String(length=128), nullable=False),
        sa.Column("location_name", sa.String(length=200), nullable=False),
        sa.Column("location_address", sa.String(length=300), nullable=False),
        sa.Column("retailer", sa.String(length=64), nullable=False),
        sa.Column("destination_wallet_id", sa.String(length=64), nullable=True),
        sa.Column("destination_address", sa.String(length=42), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("indicated_amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "fee_schedule",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("fee", sa.BigInteger(), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "authorization",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("deposited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("source_email", sa.String(length=320), nullable=True),
        sa.Column(
            "error", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column(
            "metadata", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_cash_ins_customer_id_customers")),
        sa.ForeignKeyConstraint(
            ["destination_wallet_id"], ["wallets.id"], name=op.f("fk_cash_ins_destination_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_cash_ins_tenant_id_tenants")),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_cash_ins_transaction_id_transactions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cash_ins")),
        sa.UniqueConstraint("code", name=op.f("uq_cash_ins_code")),
    )
    with op.batch_alter_table("cash_ins", schema=None) as batch_op:
        batch_op.create_index("ix_cash_ins_customer_deposited", ["customer_id", "deposited_at"], unique=False)
        batch_op.create_index("ix_cash_ins_expiry", ["status", "code_expires_at"], unique=False)
        batch_op.create_index("ix_cash_ins_tenant_created", ["tenant_id", "created_at", "id"], unique=False)

    op.create_table(
        "deposit_address_deposits",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("deposit_address_id", sa.String(length=64), nullable=False),
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("asset", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("from_address", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hold_reason", sa.String(length=32), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deposit_address_id"],
            ["deposit_addresses.id"],
            name=op.f("fk_deposit_address_deposits_deposit_address_id_deposit_addresses"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_deposit_address_deposits_tenant_id_tenants")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
            name=op.f("fk_deposit_address_deposits_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_address_deposits")),
        sa.UniqueConstraint(
            "chain", "tx_hash", "log_index", name=op.f("uq_deposit_address_deposits_chain_tx_hash_log_index")
        ),
    )
    with op.batch_alter_table("deposit_address_deposits", schema=None) as batch_op:
        batch_op.create_index("ix_deposit_address_deposits_held", ["deposit_address_id", "status"], unique=False)

    op.create_table(
        "transaction_funding",
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("cash_in_id", sa.String(length=64), nullable=True),
        sa.Column("virtual_account_id", sa.String(length=64), nullable=True),
        sa.Column("deposit_address_id", sa.String(length=64), nullable=True),
        sa.Column("source_asset", sa.String(length=16), nullable=False),
        sa.Column("source_network", sa.String(length=32), nullable=False),
        sa.Column("rail", sa.String(length=32), nullable=False),
        sa.Column("source_gross", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cash_in_id"], ["cash_ins.id"], name=op.f("fk_transaction_funding_cash_in_id_cash_ins")
        ),
        sa.ForeignKeyConstraint(
            ["deposit_address_id"],
            ["deposit_addresses.id"],
            name=op.f("fk_transaction_funding_deposit_address_id_deposit_addresses"),
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_transaction_funding_tenant_id_tenants")),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_transaction_funding_transaction_id_transactions")
        ),
        sa.ForeignKeyConstraint(
            ["virtual_account_id"],
            ["virtual_accounts.id"],
            name=op.f("fk_transaction_funding_virtual_account_id_virtual_accounts"),
        ),
        sa.PrimaryKeyConstraint("transaction_id", name=op.f("pk_transaction_funding")),
        sa.UniqueConstraint("cash_in_id", name=op.f("uq_transaction_funding_cash_in_id")),
    )
    with op.batch_alter_table("transaction_funding", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transaction_funding_deposit_address_id"), ["deposit_address_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_transaction_funding_virtual_account_id"), ["virtual_account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("transaction_funding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transaction_funding_virtual_account_id"))
        batch_op.drop_index(batch_op.f("ix_transaction_funding_deposit_address_id"))

    op.drop_table("transaction_funding")
    with op.batch_alter_table("deposit_address_deposits", schema=None) as batch_op:
        batch_op.drop_index("ix_deposit_address_deposits_held")

    op.drop_table("deposit_address_deposits")
    with op.batch_alter_table("cash_ins", schema=None) as batch_op:
        batch_op.drop_index("ix_cash_ins_tenant_created")
        batch_op.drop_index("ix_cash_ins_expiry")
        batch_op.drop_index("ix_cash_ins_customer_deposited")

    op.drop_table("cash_ins")
    with op.batch_alter_table("virtual_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_virtual_accounts_tenant_id"))
        batch_op.drop_index("ix_virtual_accounts_customer_created")

    op.drop_table("virtual_accounts")
    with op.batch_alter_table("deposit_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deposit_addresses_tenant_id"))
        batch_op.drop_index("ix_deposit_addresses_customer_created")
        batch_op.drop_index("ix_deposit_addresses_chain_address")

    op.drop_table("deposit_addresses")
    op.drop_table("tenant_clocks")
    op.drop_table("deposit_address_cursors")
