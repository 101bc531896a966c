"""The controls before money leaves: policies (a head row and its versions, never edited), the reviews a held
transaction waits for (an approval, a screening review) and the operators' votes on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base

ReviewKind = Literal["approval", "review"]
ReviewStatus = Literal["pending", "approved", "rejected", "expired"]
VoteDecision = Literal["approve", "reject"]
PolicyAction = Literal["deny", "requireApproval"]
PolicyStatus = Literal["active", "disabled"]


class Policy(Base):
    """A tenant's policy: which version is current (the one evaluated) and whether it is active."""

    __tablename__ = "policies"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
        Index("ix_policies_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    status: Mapped[str] = mapped_column(String(16))
    current_version_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PolicyVersion(Base):
    """One version of a policy, as it was written: a change is a new row, never an update."""

    __tablename__ = "policy_versions"
    __table_args__ = (
        UniqueConstraint("policy_id", "version"),
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
        CheckConstraint("action IN ('deny', 'requireApproval')", name="action"),
        CheckConstraint("required_approvals >= 1", name="required_approvals"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    # Narrowed to one customer or one wallet (neither: the whole tenant).
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    wallet_id: Mapped[str | None] = mapped_column(ForeignKey("wallets.id"))
    # What a broken rule does: refuse (422) or hold the transaction for m-of-n approvers.
    action: Mapped[str] = mapped_column(String(24))
    required_approvals: Mapped[int] = mapped_column(Integer)
    approval_expires_seconds: Mapped[int | None] = mapped_column(Integer)
    # The rules, amounts in the asset's smallest unit (oms/policy/rules.py reads and writes them).
    rules: Mapped[dict[str, Any]] = mapped_column()
    created_by_kind: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class TransactionPolicy(Base):
    """The policy versions that decided a transaction (allowed it or held it)."""

    __tablename__ = "transaction_policies"

    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), primary_key=True)
    policy_version_id: Mapped[str] = mapped_column(ForeignKey("policy_versions.id"), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))


class TransactionReview(Base):
    """A decision a held transaction waits for: an approval (a policy) or a review (screening)."""

    __tablename__ = "transaction_reviews"
    __table_args__ = (
        CheckConstraint("kind IN ('approval', 'review')", name="kind"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'expired')", name="status"),
        CheckConstraint("required_approvals >= 1", name="required_approvals"),
        Index("ix_transaction_reviews_transaction", "transaction_id"),
        Index("ix_transaction_reviews_status_expires", "status", "expires_at"),
        Index("ix_transaction_reviews_created", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    required_approvals: Mapped[int] = mapped_column(Integer)
    # On the tenant's clock, like the transaction's own times (None: never expires).
    expires_at: Mapped[datetime | None]
    policy_version_id: Mapped[str | None] = mapped_column(ForeignKey("policy_versions.id"))
    # Why it is held (a rule's code, a screening list's name): for operators, never shown to the tenant.
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class ReviewVote(Base):
    """One operator's decision on a review; an operator counts once."""

    __tablename__ = "review_votes"
    __table_args__ = (
        UniqueConstraint("review_id", "operator_id"),
        CheckConstraint("decision IN ('approve', 'reject')", name="decision"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    review_id: Mapped[str] = mapped_column(ForeignKey("transaction_reviews.id"))
    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.id"))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime]
