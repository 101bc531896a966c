"""Customers and their endorsements (KYC state)."""

from __future__ import annotations

import builtins
import json
import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.service import AuthContext
from oms.config import Mode
from oms.customer import kyc, repository, schemas
from oms.customer.schemas import CustomerCreate, CustomerUpdate
from oms.errors import NotFound, PermissionDenied
from oms.event import service as events
from oms.kit.crypto import open_sealed, seal
from oms.kit.money import ASSETS, format_amount
from oms.kit.pagination import PageParams, paginate
from oms.kit.patch import merge_metadata
from oms.kit.time import Clock, isoformat
from oms.ledger import service as ledger
from oms.models import Customer, Endorsement, Wallet
from oms.models.customer import CustomerStatus

log = logging.getLogger(__name__)
PII_FIELDS = ("birthDate", "residentialAddress", "ipAddress", "identifyingInformation")
_PLAIN_FIELDS = {
    "firstName": "first_name",
    "middleName": "middle_name",
    "lastName": "last_name",
    "email": "email",
    "phone": "phone",
    "nationality": "nationality",
    "externalId": "external_id",
}


class CustomerService:
    def __init__(self, *, clock: Clock, mode: Mode, pii_key: bytes, review_delay: float) -> None:
        self._clock = clock
        self._mode = mode
        self._pii_key = pii_key
        self._review_delay = timedelta(seconds=review_delay)

    # --- commands -------------------------------------------------------------------------------------

    async def create(
        self, session: AsyncSession, auth: AuthContext, body: CustomerCreate, *, customer_id: str
    ) -> schemas.Customer:
        now = self._clock.now()
        fields = body.model_dump(exclude_unset=True, mode="json")
        customer = Customer(
            id=customer_id,
            tenant_id=auth.tenant_id,
            type=body.type,
            status="active",
            signed_agreement=False,
            signed_agreement_at=None,
            metadata_={},
            provided_fields={},
            version=1,
            created_at=now,
            updated_at=now,
        )
        self._apply(customer, fields)
        session.add(customer)
        await session.flush()
        # The quickstart's empty customer is approved at once in sandbox; anything else goes to review.
        instant = self._mode is Mode.sandbox and not (kyc.IDENTITY_FIELDS & fields.keys())
        endorsements = [
            self._new_endorsement(customer, name, instant=instant) for name in kyc.requested(body.endorsements)
        ]
        session.add_all(endorsements)
        await session.flush()
        resource = _resource(customer, endorsements, [])  # a new customer has no wallets yet
        if instant:
            for sequence, _ in enumerate(endorsements, start=1):
                await events.record(
                    session,
                    tenant_id=customer.tenant_id,
                    type="customer.endorsement.granted",
                    object_id=customer.id,
                    resource=resource,
                    at=now,
                    sequence=sequence,
                )
        return resource

    async def update(
        self, session: AsyncSession, auth: AuthContext, customer_id: str, body: CustomerUpdate
    ) -> schemas.Customer:
        customer = await self._get(session, auth, customer_id, for_update=True)
        fields = body.model_dump(exclude_unset=True, mode="json")
        self._apply(customer, fields)
        customer.updated_at = self._clock.now()
        customer.version += 1
        held = {e.name: e for e in (await repository.endorsements_of(session, [customer.id]))[customer.id]}
        for name in kyc.requested([*held, *(body.endorsements or [])]):
            if name not in held:
                session.add(self._new_endorsement(customer, name, instant=False))
        for endorsement in held.values():
            if endorsement.status == "pending":
                self._refresh_pending(customer, endorsement)
        await session.flush()
        return (await self.render(session, [customer]))[0]

    async def set_status(self, session: AsyncSession, customer_id: str, status: CustomerStatus) -> str:
        """Operator action (no API in v0.9): an ``inactive`` customer can neither create quotes nor move money.
        Returns the tenant of the customer."""
        customer = await session.get(Customer, customer_id, with_for_update={"key_share": True})
        if customer is None:
            raise NotFound.resource("customer", customer_id)
        if customer.status != status:
            customer.status, customer.updated_at = status, self._clock.now()
            customer.version += 1
        return customer.tenant_id

    async def review_due(self, session: AsyncSession, *, limit: int = 100) -> int:
        """Sandbox KYC reviewer: decide pending endorsements whose requirements are complete, one customer
        at a time (one lock, one render, its events in order)."""
        due = await repository.due_for_review(session, self._clock.now(), limit)
        by_customer: dict[str, builtins.list[Endorsement]] = defaultdict(builtins.list)
        for endorsement in due:
            by_customer[endorsement.customer_id].append(endorsement)
        for customer_id, endorsements in by_customer.items():
            customer = await session.get(Customer, customer_id, with_for_update={"key_share": True})
            assert customer is not None
            now = self._clock.now()
            decided = [self._decide(customer, endorsement, now) for endorsement in endorsements]
            customer.version += 1
            customer.updated_at = now
            await session.flush()
            resource = (await self.render(session, [customer]))[0]
            first = await events.next_sequence(session, customer.id)
            for offset, event_type in enumerate(decided):
                await events.record(session, tenant_id=customer.tenant_id, type=event_type, object_id=customer.id,
                                    resource=resource, at=now, sequence=first + offset)  # fmt: skip
        return len(due)

    def _decide(self, customer: Customer, endorsement: Endorsement, now: datetime) -> str:
        """The sandbox decision for one endorsement (``lastName: "Reject"`` always fails); its event type."""
        provided = set(customer.provided_fields)
        endorsement.review_after, endorsement.updated_at = None, now
        if (customer.last_name or "").strip().lower() == kyc.SANDBOX_REJECT_LAST_NAME:
            endorsement.status = "rejected"
            endorsement.rejection_reasons = {"items": [{
                "reason": "We could not verify this customer's identity.",
                "developerReason": "Sandbox: customers whose lastName is 'Reject' always fail review.",
            }]}  # fmt: skip
            endorsement.requirements = kyc.requirements(
                endorsement.name, "rejected", provided, issues=["identityVerificationFailed"]
            )
            return "customer.endorsement.rejected"
        endorsement.status = "active"
        endorsement.requirements = kyc.requirements(endorsement.name, "active", provided)
        return "customer.endorsement.granted"

    # --- queries --------------------------------------------------------------------------------------

    async def get(self, session: AsyncSession, auth: AuthContext, customer_id: str) -> schemas.Customer:
        return (await self.render(session, [await self._get(session, auth, customer_id)]))[0]

    async def get_model(
        self, session: AsyncSession, auth: AuthContext, customer_id: str, *, param: str | None = None
    ) -> Customer:
        return await self._get(session, auth, customer_id, param=param)

    async def list(
        self,
        session: AsyncSession,
        auth: AuthContext,
        page: PageParams,
        *,
        status: str | None,
        email: str | None,
        external_id: str | None,
    ) -> schemas.CustomerList:
        statement = repository.list_statement(auth.tenant_id, status=status, email=email, external_id=external_id)
        result = await paginate(session, statement, Customer, page, scope=Customer.tenant_id == auth.tenant_id)
        listed = result.listed(await self.render(session, result.items))
        return {**listed, "cursor": listed["nextCursor"]}

    async def require_endorsement(
        self, session: AsyncSession, auth: AuthContext, customer_id: str, name: str, *, param: str | None = None
    ) -> Customer:
        """The customer, if it is active and holds an active ``name`` endorsement; else 404 / 403."""
        return await self.require_endorsements(session, auth, customer_id, (name,), param=param)

    async def require_endorsements(
        self,
        session: AsyncSession,
        auth: AuthContext,
        customer_id: str,
        names: Sequence[str],
        *,
        param: str | None = None,
    ) -> Customer:
        """The customer, if it is active and holds every endorsement in ``names``; else 404 / 403."""
        found = await repository.get_with_active_endorsements(session, auth.tenant_id, customer_id)
        if found is None:
            raise NotFound.resource("customer", customer_id, param=param)
        customer, active = found
        refused = refusal(customer.id, customer.status, active, names, param=param)
        if refused is not None:
            raise refused
        return customer

    async def may_move_money(self, session: AsyncSession, customer_id: str, names: Sequence[str]) -> bool:
        """For background work (no request): is the customer active with every endorsement in ``names``?"""
        customer = await session.get(Customer, customer_id)
        if customer is None:
            return False
        held = (await repository.endorsements_of(session, [customer.id]))[customer.id]
        return refusal(customer.id, customer.status, {e.name for e in held if e.status == "active"}, names) is None

    async def render(self, session: AsyncSession, customers: Sequence[Customer]) -> builtins.list[schemas.Customer]:
        ids = [customer.id for customer in customers]
        endorsements = await repository.endorsements_of(session, ids)
        owned = await repository.wallets_of(session, ids)
        balances = await ledger.wallet_balances(session, [w.id for ws in owned.values() for w in ws])
        return [
            _resource(c, endorsements[c.id], [_wallet_summary(w, balances[w.id].balance) for w in owned[c.id]])
            for c in customers
        ]

    # --- helpers --------------------------------------------------------------------------------------

    async def _get(
        self,
        session: AsyncSession,
        auth: AuthContext,
        customer_id: str,
        *,
        for_update: bool = False,
        param: str | None = None,
    ) -> Customer:
        customer = await repository.get(session, auth.tenant_id, customer_id, for_update=for_update)
        if customer is None:
            raise NotFound.resource("customer", customer_id, param=param)
        return customer

    def _apply(self, customer: Customer, fields: dict[str, Any]) -> None:
        for wire, column in _PLAIN_FIELDS.items():
            if wire in fields:
                setattr(customer, column, fields[wire])
        if fields.get("signedAgreement") and not customer.signed_agreement:
            customer.signed_agreement_at = self._clock.now()
        if "signedAgreement" in fields:
            customer.signed_agreement = bool(fields["signedAgreement"])
            if not customer.signed_agreement:
                customer.signed_agreement_at = None
        if fields.get("metadata") is not None:
            customer.metadata_ = merge_metadata(customer.metadata_, fields["metadata"])
        pii_present = {key for key in PII_FIELDS if customer.provided_fields.get(key)}
        changes = {key: fields[key] for key in PII_FIELDS if key in fields}
        if changes:
            pii_present = self._seal_pii(customer, changes)
        provided = {wire for wire, column in _PLAIN_FIELDS.items() if getattr(customer, column) is not None}
        if customer.signed_agreement:
            provided.add("signedAgreement")
        customer.provided_fields = {name: True for name in sorted(provided | pii_present)}

    def _seal_pii(self, customer: Customer, changes: dict[str, Any]) -> set[str]:
        """Merge the changes into the sealed personal data; returns which PII fields are now present."""
        current = {**self._open_pii(customer), **changes}
        current = {key: value for key, value in current.items() if value is not None}
        customer.pii_nonce, customer.pii_ciphertext = seal(
            self._pii_key, json.dumps(current).encode(), customer.id.encode()
        )
        return set(current)

    def _open_pii(self, customer: Customer) -> dict[str, Any]:
        if customer.pii_ciphertext is None or customer.pii_nonce is None:
            return {}
        return dict(
            json.loads(open_sealed(self._pii_key, customer.pii_nonce, customer.pii_ciphertext, customer.id.encode()))
        )

    def _new_endorsement(self, customer: Customer, name: str, *, instant: bool) -> Endorsement:
        now = self._clock.now()
        endorsement = Endorsement(
            customer_id=customer.id,
            name=name,
            status="active" if instant else "pending",
            requirements={},
            rejection_reasons={"items": []},
            review_after=None,
            created_at=now,
            updated_at=now,
        )
        provided = set(customer.provided_fields)
        if instant:
            endorsement.requirements = kyc.requirements(name, "active", provided)
        else:
            self._refresh_pending(customer, endorsement)
        return endorsement

    def _refresh_pending(self, customer: Customer, endorsement: Endorsement) -> None:
        provided = set(customer.provided_fields)
        endorsement.requirements = kyc.requirements(endorsement.name, "pending", provided)
        complete = kyc.is_complete(endorsement.name, provided)
        if complete and endorsement.review_after is None and self._mode is Mode.sandbox:
            endorsement.review_after = self._clock.now() + self._review_delay
        elif not complete:
            endorsement.review_after = None
        endorsement.updated_at = self._clock.now()


def refusal(
    customer_id: str, status: str, active: Collection[str], names: Sequence[str], *, param: str | None = None
) -> PermissionDenied | None:
    """Why this customer (its status and active endorsements) may not move money; None if it may."""
    if status != "active":
        return PermissionDenied("customer_inactive", f"Customer '{customer_id}' is inactive.", param=param)
    for name in names:
        if name not in active:
            return PermissionDenied(
                "endorsement_required", f"Customer '{customer_id}' needs an active '{name}' endorsement.", param=param
            )
    return None


def _resource(
    customer: Customer, endorsements: list[Endorsement], wallet_summaries: list[schemas.CustomerWallet]
) -> schemas.Customer:
    order = {name: index for index, name in enumerate(kyc.ORDER)}
    return {
        "id": customer.id,
        "object": "customer",
        "type": customer.type,
        "firstName": customer.first_name,
        "middleName": customer.middle_name,
        "lastName": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "nationality": customer.nationality,
        "externalId": customer.external_id,
        "status": customer.status,
        "signedAgreement": customer.signed_agreement,
        "signedAgreementAt": isoformat(customer.signed_agreement_at),
        "wallets": wallet_summaries,
        "endorsements": [
            {
                "name": e.name,
                "status": e.status,
                "requirements": e.requirements,
                "rejectionReasons": e.rejection_reasons.get("items", []),
            }
            for e in sorted(endorsements, key=lambda e: order[e.name])
        ],
        "metadata": customer.metadata_,
        "createdAt": isoformat(customer.created_at),
        "updatedAt": isoformat(customer.updated_at),
    }


def _wallet_summary(wallet: Wallet, settled: int) -> schemas.CustomerWallet:
    amount = format_amount(settled, ASSETS[wallet.asset].decimals)
    return {
        "id": wallet.id,
        "type": "custodial",
        "address": wallet.address,
        "network": wallet.chain,
        "asset": wallet.asset,
        "balance": amount,
        "estimatedValueUsd": amount,
        "createdAt": isoformat(wallet.created_at),
    }
