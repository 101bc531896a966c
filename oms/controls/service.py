"""Held transactions and the operators' decisions on them.

A held execution writes one review per hold (``hold``), in the execution's transaction. An operator with the
approver role approves or rejects a review (``vote``); an operator counts once. A review is approved when
``required_approvals`` distinct operators approved it, and rejected by the first rejection. When every review of
a transaction is approved, its send is released; when one is rejected or expires, the transfer is refused (its
hold released once) and the transaction's other pending reviews are closed with it (``rejected``). Each decision
runs in one database transaction that locks the transaction, then its reviews: two operators deciding at once
are serialised there, and the second sees the first's outcome.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncSession

from oms.audit import Actor
from oms.audit import service as audit
from oms.clock.service import TenantClock
from oms.controls import repository, schemas
from oms.controls.decision import Decision
from oms.controls.ports import HeldTransfers
from oms.errors import Conflict, NotFound
from oms.event import service as events
from oms.kit.ids import new_id
from oms.kit.pagination import PageParams, paginate
from oms.kit.time import Clock, isoformat
from oms.models import ReviewVote, Transaction, TransactionPolicy, TransactionReview

EXPIRY_ACTOR = Actor("system", "review-expiry")
# Compliance-only (oms.event.compliance): a screening review opened, passed, refused.
UNDER_REVIEW_EVENT, REVIEW_RELEASED_EVENT, REVIEW_REJECTED_EVENT = (
    "transaction.underReview", "transaction.reviewReleased", "transaction.reviewRejected",
)  # fmt: skip
EXPIRY_BATCH = 100
# The error a refused transaction carries, by the kind of the review that refused it and how.
_REFUSALS = {
    ("approval", "rejected"): ("approval_rejected", "An approver rejected the transaction; the funds were released."),
    ("approval", "expired"): ("approval_expired", "The approval expired; the funds were released."),
    # A screening refusal reads like any other failure: naming the review would tip the sender off.
    ("review", "rejected"): ("transaction_refused", "The transaction could not be completed; the funds were released."),
    ("review", "expired"): ("transaction_refused", "The transaction could not be completed; the funds were released."),
}


def record_decision(session: AsyncSession, transaction: Transaction, decision: Decision, at: datetime) -> None:
    """What the execution writes of its decision, in its own transaction: the policy versions that decided it,
    and, held, one pending review per hold (``at``: the tenant's time, the transaction's ``createdAt``)."""
    outcomes = {version: "allow" for version in decision.allowed_by}
    for hold in decision.holds:
        if hold.policy_version_id is not None:
            outcomes[hold.policy_version_id] = "hold"
    session.add_all(
        TransactionPolicy(transaction_id=transaction.id, policy_version_id=version, outcome=outcome)
        for version, outcome in outcomes.items()
    )
    reviews = [
        TransactionReview(
            id=new_id("rev"),
            tenant_id=transaction.tenant_id,
            transaction_id=transaction.id,
            kind=hold.kind,
            status="pending",
            required_approvals=hold.required_approvals,
            expires_at=hold.expires_at,
            policy_version_id=hold.policy_version_id,
            reason=hold.reason[:500],
            created_at=at,
            decided_at=None,
        )
        for hold in decision.holds
    ]
    session.add_all(reviews)
    # A screening review is announced to compliance-only endpoints alone (oms.event.compliance): the review is the
    # event's object, so the transaction's own events (what the tenant sees) keep their sequence.
    session.add_all(
        events.new_event(
            tenant_id=review.tenant_id,
            type=UNDER_REVIEW_EVENT,
            object_id=review.id,
            resource=Reviews.render(review, []),
            at=at,
            sequence=1,
        )
        for review in reviews
        if review.kind == "review"
    )


class Reviews:
    def __init__(
        self, *, held: HeldTransfers, tenant_clock: TenantClock, clock: Clock, audit_log: audit.AuditLog
    ) -> None:
        self._held = held
        self._tenant_clock = tenant_clock
        self._clock = clock
        self._audit = audit_log

    # --- decisions ------------------------------------------------------------------------------------

    async def vote(
        self,
        session: AsyncSession,
        review_id: str,
        operator_id: str,
        decision: Literal["approve", "reject"],
        reason: str | None,
    ) -> tuple[str, schemas.Review]:
        """An approver's decision on a review; returns the review's tenant and the review as it now stands.
        409 for a review already decided or expired, and for an operator who voted on it already."""
        found = await repository.get(session, review_id)
        if found is None:
            raise NotFound.resource("review", review_id)
        transaction = await repository.lock_transaction(session, found.transaction_id)
        assert transaction is not None, "a review's transaction is never deleted"
        reviews = await repository.reviews_of(session, transaction.id, for_update=True)
        review = next(each for each in reviews if each.id == review_id)
        if review.status != "pending":
            raise Conflict("review_decided", f"Review '{review_id}' is already {review.status}.")
        now = await self._tenant_clock.now(session, review.tenant_id)
        if review.expires_at is not None and now >= review.expires_at:
            raise Conflict("review_expired", f"Review '{review_id}' expired at {isoformat(review.expires_at)}.")
        votes = (await repository.votes_of(session, [review.id]))[review.id]
        if any(vote.operator_id == operator_id for vote in votes):
            raise Conflict(
                "already_voted", "This operator has already decided on this review; an operator counts once."
            )
        vote = ReviewVote(
            id=new_id("vote"), review_id=review.id, operator_id=operator_id, decision=decision, reason=reason,
            at=self._clock.now(),
        )  # fmt: skip
        session.add(vote)
        votes.append(vote)
        if decision == "reject":
            await self._close(session, transaction, reviews, review, "rejected", now)
        elif sum(each.decision == "approve" for each in votes) >= review.required_approvals:
            review.status, review.decided_at = "approved", now
            await self._announce(session, review, REVIEW_RELEASED_EVENT, now)
            if all(each.status == "approved" for each in reviews):
                await self._held.release(session, transaction)
        await session.flush()
        return review.tenant_id, self.render(review, votes)

    async def expire_due(self, session: AsyncSession) -> int:
        """Expire the pending reviews whose deadline has passed on their tenant's clock (the worker's job);
        each refuses its transfer. Returns how many expired."""
        offsets = await self._tenant_clock.offsets(session)
        now = self._clock.now()
        latest = now + max(offsets.values(), default=timedelta())
        expired = 0
        for candidate in await repository.pending_due(session, latest, EXPIRY_BATCH):
            tenant_now = await self._tenant_clock.now(session, candidate.tenant_id)
            if candidate.expires_at is None or tenant_now < candidate.expires_at:
                continue
            transaction = await repository.lock_transaction(session, candidate.transaction_id)
            assert transaction is not None, "a review's transaction is never deleted"
            reviews = await repository.reviews_of(session, transaction.id, for_update=True)
            review = next(each for each in reviews if each.id == candidate.id)
            if review.status != "pending":  # decided meanwhile
                continue
            await self._close(session, transaction, reviews, review, "expired", tenant_now)
            entry = self._audit.entry(
                EXPIRY_ACTOR, "job review-expiry", tenant_id=review.tenant_id, object_id=review.id, status=200
            )
            await audit.record(session, entry)
            expired += 1
        return expired

    async def _close(
        self,
        session: AsyncSession,
        transaction: Transaction,
        reviews: Sequence[TransactionReview],
        review: TransactionReview,
        status: Literal["rejected", "expired"],
        now: datetime,
    ) -> None:
        review.status, review.decided_at = status, now
        await self._announce(session, review, REVIEW_REJECTED_EVENT, now)
        for other in reviews:
            if other.status == "pending":  # moot: the transfer is refused
                other.status, other.decided_at = "rejected", now
                await self._announce(session, other, REVIEW_REJECTED_EVENT, now)
        code, message = _REFUSALS[(review.kind, status)]
        await self._held.refuse(session, transaction, code, message)

    async def _announce(self, session: AsyncSession, review: TransactionReview, type: str, at: datetime) -> None:
        """A screening review's outcome, to compliance-only endpoints alone (an approval review's outcome shows in
        the transaction's own events)."""
        if review.kind != "review":
            return
        votes = (await repository.votes_of(session, [review.id]))[review.id]
        resource = self.render(review, votes)
        await events.record(
            session, tenant_id=review.tenant_id, type=type, object_id=review.id, resource=resource, at=at
        )

    # --- queries --------------------------------------------------------------------------------------

    async def get(self, session: AsyncSession, review_id: str) -> schemas.Review:
        review = await repository.get(session, review_id)
        if review is None:
            raise NotFound.resource("review", review_id)
        return self.render(review, (await repository.votes_of(session, [review.id]))[review.id])

    async def list(
        self,
        session: AsyncSession,
        page: PageParams,
        *,
        status: str | None,
        kind: str | None,
        tenant_id: str | None,
    ) -> schemas.ReviewList:
        statement = repository.list_statement(status=status, kind=kind, tenant_id=tenant_id)
        result = await paginate(session, statement, TransactionReview, page, scope=true())
        votes = await repository.votes_of(session, [review.id for review in result.items])
        return result.listed([self.render(review, votes[review.id]) for review in result.items])

    @staticmethod
    def render(review: TransactionReview, votes: builtins.list[ReviewVote]) -> schemas.Review:
        return {
            "id": review.id,
            "object": "review",
            "tenantId": review.tenant_id,
            "transactionId": review.transaction_id,
            "kind": review.kind,  # type: ignore[typeddict-item]
            "status": review.status,  # type: ignore[typeddict-item]
            "requiredApprovals": review.required_approvals,
            "approvals": sum(vote.decision == "approve" for vote in votes),
            "votes": [_vote(vote) for vote in votes],
            "expiresAt": isoformat(review.expires_at),
            "policyVersionId": review.policy_version_id,
            "reason": review.reason,
            "createdAt": isoformat(review.created_at),
            "decidedAt": isoformat(review.decided_at),
        }


def _vote(vote: ReviewVote) -> schemas.ReviewVote:
    decision: Literal["approve", "reject"] = "approve" if vote.decision == "approve" else "reject"
    return {"operatorId": vote.operator_id, "decision": decision, "reason": vote.reason, "at": isoformat(vote.at)}
