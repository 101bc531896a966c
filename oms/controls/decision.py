"""The outcome of the checks before money leaves, and the one function that asks for it.

Each ``Check`` (the policy engine, the screening port) answers a ``Movement`` with outcomes: ``Allow``, ``Deny``
(422 ``Unprocessable`` with the rule's code: nothing held, only the refusal's audit record written) or ``Hold``
(kind ``approval`` for m-of-n approvers, ``review`` for a screening hit). ``Controls.decide`` runs every check in
order and combines: a deny wins over any hold; a review hold wins over an approval hold in what the transaction
shows (``underReview``), and every hold is recorded (each is a review the transaction waits for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from oms.errors import Unprocessable

Stage = Literal["quote", "execution"]
HoldKind = Literal["approval", "review"]
AWAITING_APPROVAL, UNDER_REVIEW, FUNDS_HELD = "awaitingApproval", "underReview", "fundsHeld"
# What a tenant is shown of a sub-status: a screening review is compliance-only (no tipping off).
_TENANT_SUB_STATUS = {UNDER_REVIEW: FUNDS_HELD}


def tenant_sub_status(sub_status: str | None) -> str | None:
    """A transaction's ``subStatus`` as the tenant's endpoints and events show it."""
    return _TENANT_SUB_STATUS.get(sub_status, sub_status) if sub_status is not None else None


@dataclass(frozen=True, slots=True)
class Movement:
    """An outgoing transfer as the checks see it, at ``at`` on the tenant's clock. ``amount``: what leaves the
    source wallet (the quote's gross), in the asset's smallest unit; ``destination_wallet_id`` None: the
    destination address is outside the OMS."""

    stage: Stage
    tenant_id: str
    customer_id: str
    source_wallet_id: str
    destination_wallet_id: str | None
    destination_address: str
    asset: str
    chain: str
    amount: int
    at: datetime

    @property
    def external(self) -> bool:
        return self.destination_wallet_id is None


@dataclass(frozen=True, slots=True)
class Allow:
    """Nothing against it; ``policy_version_id``: the policy version that allowed it (None: no policy)."""

    policy_version_id: str | None = None


@dataclass(frozen=True, slots=True)
class Deny:
    """Refused: ``code`` names the rule (the 422's code), ``rule`` the rule's name in the policy."""

    code: str
    message: str
    rule: str | None = None
    policy_version_id: str | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """Held until decided: ``approval`` (``required_approvals`` distinct approvers before ``expires_at``, on the
    tenant's clock; None: never expires) or ``review`` (screening). ``reason``: for operators only."""

    kind: HoldKind
    reason: str
    required_approvals: int = 1
    expires_at: datetime | None = None
    policy_version_id: str | None = None


Outcome = Allow | Deny | Hold


class Check(Protocol):
    """One control: the outcomes of its rules for a movement (none: nothing to say). At the execution stage it
    runs inside the execution's database transaction, before the hold is posted: whatever it must count it
    counts under a lock it takes there."""

    async def check(self, session: AsyncSession, movement: Movement) -> Sequence[Outcome]: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """The checks' combined answer."""

    deny: Deny | None = None
    holds: tuple[Hold, ...] = ()
    allowed_by: tuple[str, ...] = field(default=())  # the policy versions that allowed it

    @property
    def held(self) -> bool:
        return self.deny is None and bool(self.holds)

    @property
    def sub_status(self) -> str:
        """The held transaction's sub-status: a review wins over an approval."""
        return UNDER_REVIEW if any(hold.kind == "review" for hold in self.holds) else AWAITING_APPROVAL

    def refuse_if_denied(self) -> None:
        if self.deny is not None:
            raise Unprocessable(self.deny.code, self.deny.message)


def combine(outcomes: Sequence[Outcome]) -> Decision:
    """Deny wins over every hold; every hold is kept (each is a review to pass)."""
    denied = next((outcome for outcome in outcomes if isinstance(outcome, Deny)), None)
    if denied is not None:
        return Decision(deny=denied)
    holds = tuple(outcome for outcome in outcomes if isinstance(outcome, Hold))
    allowed = tuple(
        outcome.policy_version_id
        for outcome in outcomes
        if isinstance(outcome, Allow) and outcome.policy_version_id is not None
    )
    return Decision(holds=holds, allowed_by=allowed)


class Controls:
    """The one decision before money leaves, asked by every entrance to the money path (quote and execution, the
    endpoints; the fast lane passes whatever a check applies to on to them: ``repository.checks_apply``)."""

    def __init__(self) -> None:
        self._checks: list[Check] = []
        self._ungated: list[Check] = []
        self._external: list[Check] = []

    def add(self, check: Check, *, gated: bool = False, external: bool = False) -> None:
        """Add a check, asked after those added before. ``gated``: ``repository.checks_apply`` (the fast lane's
        test) is true for every tenant the check may say anything about. ``external``: the check says something
        only about destinations outside the OMS (screening), so the fast lane passes every such request on
        (``checks_external``). A check that is neither sends every money request to the endpoints: the fast
        lane never bypasses a control it cannot see."""
        self._checks.append(check)
        if external:
            self._external.append(check)
        elif not gated:
            self._ungated.append(check)

    def remove(self, check: Check) -> None:
        self._checks.remove(check)
        for kind in (self._ungated, self._external):
            if check in kind:
                kind.remove(check)

    @property
    def checks_external(self) -> bool:
        """Whether a check applies to every external destination: the fast lane passes those on."""
        return bool(self._external)

    @property
    def all_gated(self) -> bool:
        """Whether the fast lane may answer a money request for which ``repository.checks_apply`` is false."""
        return not self._ungated

    async def decide(self, session: AsyncSession, movement: Movement) -> Decision:
        """The policy engine first, then screening (the order they were added), combined."""
        outcomes: list[Outcome] = []
        for check in self._checks:
            outcomes.extend(await check.check(session, movement))
        return combine(outcomes)
