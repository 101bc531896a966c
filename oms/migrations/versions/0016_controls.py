"""Controls before money leaves: policies and their versions (a version is never edited), the policy versions
that decided each transaction, the reviews a held transaction waits for and the operators' votes on them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_version_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f("ck_policies_status")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_policies_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
    )
    op.create_index("ix_policies_tenant_status", "policies", ["tenant_id", "status"])
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("wallet_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("approval_expires_seconds", sa.Integer(), nullable=True),
        sa.Column("rules", JSON, nullable=False),
        sa.Column("created_by_kind", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f("ck_policy_versions_status")),
        sa.CheckConstraint("action IN ('deny', 'requireApproval')", name=op.f("ck_policy_versions_action")),
        sa.CheckConstraint("required_approvals >= 1", name=op.f("ck_policy_versions_required_approvals")),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_policy_versions_policy_id_policies")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_policy_versions_tenant_id_tenants")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_policy_versions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_policy_versions_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("policy_id", "version", name=op.f("uq_policy_versions_policy_id_version")),
    )
    op.create_table(
        "transaction_policies",
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("policy_version_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_transaction_policies_transaction_id_transactions")
        ),
        sa.ForeignKeyConstraint(
            ["policy_version_id"],
            ["policy_versions.id"],
            name=op.f("fk_transaction_policies_policy_version_id_policy_versions"),
        ),
        sa.PrimaryKeyConstraint("transaction_id", "policy_version_id", name=op.f("pk_transaction_policies")),
    )
    op.create_table(
        "transaction_reviews",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTC, nullable=True),
        sa.Column("policy_version_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("decided_at", UTC, nullable=True),
        sa.CheckConstraint("kind IN ('approval', 'review')", name=op.f("ck_transaction_reviews_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'expired')", name=op.f("ck_transaction_reviews_status")
        ),
        sa.CheckConstraint("required_approvals >= 1", name=op.f("ck_transaction_reviews_required_approvals")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_transaction_reviews_tenant_id_tenants")),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["transactions.id"], name=op.f("fk_transaction_reviews_transaction_id_transactions")
        ),
        sa.ForeignKeyConstraint(
            ["policy_version_id"],
            ["policy_versions.id"],
            name=op.f("fk_transaction_reviews_policy_version_id_policy_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transaction_reviews")),
    )
    op.create_index("ix_transaction_reviews_transaction", "transaction_reviews", ["transaction_id"])
    op.create_index("ix_transaction_reviews_status_expires", "transaction_reviews", ["status", "expires_at"])
    op.create_index("ix_transaction_reviews_created", "transaction_reviews", ["created_at", "id"])
    op.create_table(
        "review_votes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("review_id", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("at", UTC, nullable=False),
        sa.CheckConstraint("decision IN ('approve', 'reject')", name=op.f("ck_review_votes_decision")),
        sa.ForeignKeyConstraint(
            ["review_id"], ["transaction_reviews.id"], name=op.f("fk_review_votes_review_id_transaction_reviews")
        ),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], name=op.f("fk_review_votes_operator_id_operators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_votes")),
        sa.UniqueConstraint("review_id", "operator_id", name=op.f("uq_review_votes_review_id_operator_id")),
    )


def downgrade() -> None:
    op.drop_table("review_votes")
    op.drop_index("ix_transaction_reviews_created", table_name="transaction_reviews")
    op.drop_index("ix_transaction_reviews_status_expires", table_name="transaction_reviews")
    op.drop_index("ix_transaction_reviews_transaction", table_name="transaction_reviews")
    op.drop_table("transaction_reviews")
    op.drop_table("transaction_policies")
    op.drop_table("policy_versions")
    op.drop_index("ix_policies_tenant_status", table_name="policies")
    op.drop_table("policies")
