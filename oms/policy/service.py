"""Policies: managing them (every change a new version, never an edit) and evaluating them (``PolicyEngine``,
a ``oms.controls`` check).

What a policy says, for every transfer out of a wallet it applies to (the tenant's, narrowed to one customer or one
wallet): at most ``maxAmountPerTransaction``; at most ``maxCount`` transfers and ``maxAmount`` in all per rolling
day or week, per wallet or per customer (on the tenant's clock, the transfer's own ``createdAt``: the sandbox
test clock moves the windows); never to a deny-listed address; with ``denyByDefault`` only to allow-listed
external addresses; and, with ``coolingOff``, more than its ``maxAmount`` to an external address only once
``seconds`` have passed since the customer's first transfer to it (an allow-listed address is exempt). A broken
rule refuses the transfer (``deny``: 422 with the rule's code) or holds it for ``requiredApprovals`` approvers
(``requireApproval``, expiring after ``expiresInSeconds`` if set).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from oms.audit import Actor
from oms.controls.decision import Allow, Deny, Hold, Movement, Outcome
from oms.errors import Conflict, InvalidRequest, NotFound
from oms.kit.ids import new_id
from oms.kit.pagination import PageParams, paginate
from oms.kit.time import Clock, isoformat
from oms.models import Customer, Policy, PolicyVersion, Tenant, Wallet
from oms.policy import repository, rules, schemas
from oms.policy.repository import Applicable


class PolicyService:
    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    async def create(
        self, session: AsyncSession, tenant_id: str, body: schemas.PolicyWrite, actor: Actor
    ) -> schemas.Policy:
        await self._tenant(session, tenant_id)
        now = self._clock.now()
        policy = Policy(
            id=new_id("pol"), tenant_id=tenant_id, status="active", current_version_id="", version=0,
            created_at=now, updated_at=now,
        )  # fmt: skip
        version = await self._version(session, policy, body, "active", actor)
        session.add(policy)
        await session.flush()
        session.add(version)
        await session.flush()
        return _render(policy, version)

    async def update(
        self, session: AsyncSession, tenant_id: str, policy_id: str, body: schemas.PolicyWrite, actor: Actor
    ) -> schemas.Policy:
        """The policy's next version (a full replacement of the last), in the policy's status."""
        policy = await self._policy(session, tenant_id, policy_id, for_update=True)
        version = await self._version(session, policy, body, policy.status, actor)
        session.add(version)
        await session.flush()
        return _render(policy, version)

    async def disable(self, session: AsyncSession, tenant_id: str, policy_id: str, actor: Actor) -> schemas.Policy:
        """A last version, the current one's rules, disabled: the policy no longer applies."""
        policy = await self._policy(session, tenant_id, policy_id, for_update=True)
        if policy.status == "disabled":
            raise Conflict("policy_disabled", f"Policy '{policy_id}' is already disabled.")
        current = (await repository.versions(session, [policy.current_version_id]))[policy.current_version_id]
        version = self._next(policy, actor, status="disabled", copy=current)
        session.add(version)
        await session.flush()
        return _render(policy, version)

    async def get(self, session: AsyncSession, tenant_id: str, policy_id: str) -> schemas.Policy:
        policy = await self._policy(session, tenant_id, policy_id)
        current = (await repository.versions(session, [policy.current_version_id]))[policy.current_version_id]
        return _render(policy, current)

    async def list(
        self, session: AsyncSession, tenant_id: str, page: PageParams, *, status: str | None
    ) -> schemas.PolicyList:
        await self._tenant(session, tenant_id)
        result = await paginate(
            session, repository.list_statement(tenant_id, status), Policy, page, scope=Policy.tenant_id == tenant_id
        )
        current = await repository.versions(session, [policy.current_version_id for policy in result.items])
        return result.listed([_render(policy, current[policy.current_version_id]) for policy in result.items])

    async def versions(self, session: AsyncSession, tenant_id: str, policy_id: str) -> schemas.PolicyVersionList:
        policy = await self._policy(session, tenant_id, policy_id)
        return {"data": [_render_version(version) for version in await repository.versions_of(session, policy.id)]}

    # --- helpers ----------------------------------------------------------------------------------------

    async def _tenant(self, session: AsyncSession, tenant_id: str) -> None:
        if not tenant_id or await session.get(Tenant, tenant_id) is None:
            raise NotFound.resource("tenant", tenant_id)

    async def _policy(
        self, session: AsyncSession, tenant_id: str, policy_id: str, *, for_update: bool = False
    ) -> Policy:
        await self._tenant(session, tenant_id)
        policy = await repository.get(session, tenant_id, policy_id, for_update=for_update)
        if policy is None:
            raise NotFound.resource("policy", policy_id)
        return policy

    async def _version(
        self, session: AsyncSession, policy: Policy, body: schemas.PolicyWrite, status: str, actor: Actor
    ) -> PolicyVersion:
        if body.customerId is not None and body.walletId is not None:
            raise InvalidRequest(
                "invalid_scope", "Narrow a policy to a customer or to a wallet, not both.", param="walletId"
            )
        if body.customerId is not None:
            customer = await session.get(Customer, body.customerId)
            if customer is None or customer.tenant_id != policy.tenant_id:
                raise NotFound.resource("customer", body.customerId, param="customerId")
        if body.walletId is not None:
            wallet = await session.get(Wallet, body.walletId)
            if wallet is None or wallet.tenant_id != policy.tenant_id:
                raise NotFound.resource("wallet", body.walletId, param="walletId")
        if body.approval is not None and body.action != "requireApproval":
            raise InvalidRequest("invalid_approval", "approval is for action requireApproval.", param="approval")
        approval = body.approval or schemas.Approval()
        version = self._next(policy, actor, status=status)
        version.name, version.customer_id, version.wallet_id, version.action = (
            body.name, body.customerId, body.walletId, body.action,
        )  # fmt: skip
        version.required_approvals = approval.requiredApprovals
        version.approval_expires_seconds = approval.expiresInSeconds
        version.rules = rules.stored(body.rules)
        return version

    def _next(self, policy: Policy, actor: Actor, *, status: str, copy: PolicyVersion | None = None) -> PolicyVersion:
        """The policy's next version row (the policy now points at it)."""
        now = self._clock.now()
        policy.version += 1
        version = PolicyVersion(
            id=new_id("polv"), policy_id=policy.id, tenant_id=policy.tenant_id, version=policy.version,
            status=status, name=copy.name if copy else "", customer_id=copy.customer_id if copy else None,
            wallet_id=copy.wallet_id if copy else None, action=copy.action if copy else "deny",
            required_approvals=copy.required_approvals if copy else 1,
            approval_expires_seconds=copy.approval_expires_seconds if copy else None,
            rules=copy.rules if copy else {}, created_by_kind=actor.kind, created_by_id=actor.id, created_at=now,
        )  # fmt: skip
        policy.current_version_id, policy.status, policy.updated_at = version.id, status, now
        return version


def _approval(version: PolicyVersion) -> schemas.ApprovalOut | None:
    if version.action != "requireApproval":
        return None
    return {"requiredApprovals": version.required_approvals, "expiresInSeconds": version.approval_expires_seconds}


def _render(policy: Policy, version: PolicyVersion) -> schemas.Policy:
    return {
        "id": policy.id,
        "object": "policy",
        "tenantId": policy.tenant_id,
        "status": "active" if policy.status == "active" else "disabled",
        "version": version.version,
        "versionId": version.id,
        "name": version.name,
        "customerId": version.customer_id,
        "walletId": version.wallet_id,
        "action": "deny" if version.action == "deny" else "requireApproval",
        "approval": _approval(version),
        "rules": rules.rendered(version.rules),
        "createdAt": isoformat(policy.created_at),
        "updatedAt": isoformat(policy.updated_at),
    }


def _render_version(version: PolicyVersion) -> schemas.PolicyVersion:
    return {
        "id": version.id,
        "object": "policy_version",
        "policyId": version.policy_id,
        "tenantId": version.tenant_id,
        "status": "active" if version.status == "active" else "disabled",
        "version": version.version,
        "name": version.name,
        "customerId": version.customer_id,
        "walletId": version.wallet_id,
        "action": "deny" if version.action == "deny" else "requireApproval",
        "approval": _approval(version),
        "rules": rules.rendered(version.rules),
        "createdBy": {"kind": version.created_by_kind, "id": version.created_by_id},
        "createdAt": isoformat(version.created_at),
    }


# --- evaluation -----------------------------------------------------------------------------------------------


class PolicyEngine:
    """The policies as a control (``oms.controls.decision.Check``). Versions never change, so their parsed rules
    are kept by version id (a deny-list of 10,000 addresses is read and parsed once per process)."""

    def __init__(self) -> None:
        self._rules: dict[str, rules.Rules] = {}

    async def check(self, session: AsyncSession, movement: Movement) -> Sequence[Outcome]:
        versions = await repository.applicable(
            session, movement.tenant_id, movement.customer_id, movement.source_wallet_id
        )
        if not versions:
            return ()
        missing = [version.id for version in versions if version.id not in self._rules]
        for version_id, document in (await repository.rules_of(session, missing)).items():
            self._rules[version_id] = rules.parsed(document)
        evaluated = [(version, self._rules[version.id]) for version in versions]
        if movement.stage == "execution" and any(each.counts for _, each in evaluated):
            await repository.lock_customer(session, movement.customer_id)
        facts = _Facts(session, movement)
        outcomes: list[Outcome] = []
        for version, each in evaluated:
            broken = await _broken(each, movement, facts)
            outcomes.append(_outcome(version, movement, broken))
        return outcomes


class _Facts:
    """What the rules read of the past, each read at most once per evaluation."""

    def __init__(self, session: AsyncSession, movement: Movement) -> None:
        self._session = session
        self._movement = movement
        self._sent: dict[tuple[str, str], tuple[int, int]] = {}
        self._first: tuple[datetime | None] | None = None

    async def sent(self, per: str, span: timedelta) -> tuple[int, int]:
        key = (per, str(span))
        if key not in self._sent:
            owner = self._movement.source_wallet_id if per == "wallet" else self._movement.customer_id
            self._sent[key] = await repository.sent_since(
                self._session, per=per, owner_id=owner, since=self._movement.at - span
            )
        return self._sent[key]

    async def first_sent(self) -> datetime | None:
        if self._first is None:
            movement = self._movement
            found = await repository.first_sent_to(self._session, movement.customer_id, movement.destination_address)
            self._first = (found,)
        return self._first[0]


async def _broken(each: rules.Rules, movement: Movement, facts: _Facts) -> builtins.list[tuple[str, str]]:
    """The rules this movement breaks, as (code, explanation), in the order they are listed above."""
    broken: list[tuple[str, str]] = []
    address = movement.destination_address.lower()
    allow_listed = address in each.allow
    if address in each.deny:
        broken.append(("policy_deny_list", "the destination address is on the policy's deny-list"))
    if each.deny_by_default and movement.external and not allow_listed:
        broken.append(("policy_not_allow_listed", "only allow-listed addresses may receive"))
    if each.max_amount is not None and movement.amount > each.max_amount:
        broken.append(("policy_amount_per_transaction", "the amount is above the policy's limit per transaction"))
    for limit in each.limits:
        count, total = await facts.sent(limit.per, limit.span)
        if limit.max_count is not None and count + 1 > limit.max_count:
            broken.append((limit.code("count"), f"at most {limit.max_count} transfers per {limit.window}"))
        if limit.max_amount is not None and total + movement.amount > limit.max_amount:
            broken.append((limit.code("amount"), f"the {limit.window}'s total would pass the policy's limit"))
    if (
        each.cooling_seconds is not None
        and each.cooling_max_amount is not None
        and movement.external
        and not allow_listed
        and movement.amount > each.cooling_max_amount
    ):
        first = await facts.first_sent()
        if first is None or movement.at - first < timedelta(seconds=each.cooling_seconds):
            broken.append(("policy_cooling_off", "a newly seen address may not receive this much yet"))
    return broken


def _outcome(version: Applicable, movement: Movement, broken: builtins.list[tuple[str, str]]) -> Outcome:
    if not broken:
        return Allow(version.id)
    code, why = broken[0]
    if version.action == "deny":
        message = f"Refused by policy '{version.name}' ({version.policy_id}): {why}."
        return Deny(code, message, rule=code, policy_version_id=version.id)
    expires = version.approval_expires_seconds
    return Hold(
        "approval",
        ", ".join(each for each, _ in broken),
        required_approvals=version.required_approvals,
        expires_at=movement.at + timedelta(seconds=expires) if expires is not None else None,
        policy_version_id=version.id,
    )
