"""Wire models of the reviews (the admin API's)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

ReviewKind = Literal["approval", "review"]
ReviewStatus = Literal["pending", "approved", "rejected", "expired"]


class ReviewVote(TypedDict):
    operatorId: str
    decision: Literal["approve", "reject"]
    reason: str | None
    at: str


class Review(TypedDict):
    id: str
    object: Literal["review"]
    tenantId: str
    transactionId: str
    kind: ReviewKind
    status: ReviewStatus
    requiredApprovals: int
    approvals: int
    votes: list[ReviewVote]
    expiresAt: str | None
    policyVersionId: str | None
    reason: str
    createdAt: str
    decidedAt: str | None


class ReviewList(TypedDict):
    data: list[Review]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Why (kept with the vote; the audit log records who).
    reason: str | None = Field(default=None, max_length=500)
