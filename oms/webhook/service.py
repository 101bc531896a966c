"""Webhook subscriptions: the rules behind the API. Services never commit."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.service import AuthContext
from oms.config import Mode
from oms.errors import Conflict, InvalidRequest, NotFound
from oms.event import service as events
from oms.kit.crypto import open_sealed, seal
from oms.kit.ids import new_id
from oms.kit.pagination import PageParams, paginate
from oms.kit.time import Clock, isoformat
from oms.models import Webhook, WebhookAttempt, WebhookDelivery
from oms.webhook import repository, schemas, signing
from oms.webhook.catalogue import TEST_EVENT
from oms.webhook.schemas import SecretRotation, WebhookCreate, WebhookUpdate
from oms.webhook.ssrf import UnsafeUrl, UrlGuard


class WebhookService:
    def __init__(
        self, *, clock: Clock, mode: Mode, secret_key: bytes, guard: UrlGuard, retry_window: timedelta
    ) -> None:
        self._clock = clock
        self._mode = mode
        self._secret_key = secret_key
        self.guard = guard
        self.retry_window = retry_window

    # --- subscriptions --------------------------------------------------------------------------------

    async def create(
        self, session: AsyncSession, auth: AuthContext, body: WebhookCreate, *, webhook_id: str
    ) -> schemas.WebhookWithSecret:
        await self._check_url(body.url)
        now = self._clock.now()
        secret = signing.new_secret()
        nonce, ciphertext = self._seal(webhook_id, secret)
        webhook = Webhook(
            id=webhook_id,
            tenant_id=auth.tenant_id,
            url=body.url,
            events=list(body.events),
            enabled=body.enabled,
            compliance_only=False,
            disabled_reason=None,
            secret_nonce=nonce,
            secret_ciphertext=ciphertext,
            previous_secret_nonce=None,
            previous_secret_ciphertext=None,
            previous_secret_expires_at=None,
            deleted_at=None,
            created_at=now,
            updated_at=now,
        )
        session.add(webhook)
        await session.flush()
        return {**self.render(webhook), "secret": secret}

    async def list(self, session: AsyncSession, auth: AuthContext, page: PageParams) -> schemas.WebhookList:
        statement = repository.list_statement(auth.tenant_id)
        result = await paginate(session, statement, Webhook, page, scope=Webhook.tenant_id == auth.tenant_id)
        return result.listed([self.render(webhook) for webhook in result.items])

    async def get(self, session: AsyncSession, auth: AuthContext, webhook_id: str) -> schemas.Webhook:
        return self.render(await self._get(session, auth, webhook_id))

    async def update(
        self, session: AsyncSession, auth: AuthContext, webhook_id: str, body: WebhookUpdate
    ) -> schemas.Webhook:
        webhook = await self._get(session, auth, webhook_id, for_update=True)
        fields = body.model_dump(exclude_unset=True)
        for name in ("url", "events", "enabled"):
            if name in fields and fields[name] is None:
                raise InvalidRequest("parameter_invalid", f"Invalid {name}: must not be null.", param=name)
        if body.url is not None and body.url != webhook.url:
            await self._check_url(body.url)
            webhook.url = body.url
        if body.events is not None:
            webhook.events = list(body.events)
        if body.enabled is not None:
            if body.enabled and not webhook.enabled:
                webhook.disabled_reason = None
            webhook.enabled = body.enabled
        webhook.updated_at = self._clock.now()
        await session.flush()
        return self.render(webhook)

    async def set_compliance_only(
        self, session: AsyncSession, webhook_id: str, compliance_only: bool
    ) -> tuple[str, schemas.Webhook]:
        """An operator's switch (the admin API only, shared/spec/decisions.md): whether the subscription also
        receives compliance events. Returns the subscription's tenant and its answer."""
        webhook = await repository.get_any_tenant(session, webhook_id)
        if webhook is None:
            raise NotFound.resource("webhook", webhook_id)
        if webhook.compliance_only != compliance_only:
            webhook.compliance_only = compliance_only
            webhook.updated_at = self._clock.now()
            await session.flush()
        return webhook.tenant_id, self.render(webhook)

    async def delete(self, session: AsyncSession, auth: AuthContext, webhook_id: str) -> schemas.DeletedWebhook:
        webhook = await self._get(session, auth, webhook_id, for_update=True)
        now = self._clock.now()
        webhook.enabled = False
        webhook.deleted_at = now
        webhook.updated_at = now
        await repository.cancel_pending(session, webhook.id, now)
        await session.flush()
        return {"id": webhook.id, "object": "webhook", "deleted": True}

    async def rotate_secret(
        self, session: AsyncSession, auth: AuthContext, webhook_id: str, body: SecretRotation
    ) -> schemas.WebhookWithSecret:
        """A new secret, returned once; the replaced one keeps signing for the overlap window."""
        webhook = await self._get(session, auth, webhook_id, for_update=True)
        now = self._clock.now()
        secret = signing.new_secret()
        if body.previousSecretExpiresIn > 0:
            webhook.previous_secret_nonce = webhook.secret_nonce
            webhook.previous_secret_ciphertext = webhook.secret_ciphertext
            webhook.previous_secret_expires_at = now + timedelta(seconds=body.previousSecretExpiresIn)
        else:
            webhook.previous_secret_nonce = webhook.previous_secret_ciphertext = None
            webhook.previous_secret_expires_at = None
        webhook.secret_nonce, webhook.secret_ciphertext = self._seal(webhook.id, secret)
        webhook.updated_at = now
        await session.flush()
        return {**self.render(webhook), "secret": secret}

    async def send_test(self, session: AsyncSession, auth: AuthContext, webhook_id: str) -> schemas.Delivery:
        """A ``webhook.test`` event delivered to this endpoint only (by the worker, like any other)."""
        webhook = await self._get(session, auth, webhook_id)
        self._require_enabled(webhook)
        now = self._clock.now()
        event = await events.record(
            session,
            tenant_id=auth.tenant_id,
            type=TEST_EVENT,
            object_id=webhook.id,
            resource=self.render(webhook),
            at=now,
        )
        event.dispatched_at = now  # never fanned out to other subscriptions
        delivery = self.new_delivery(webhook, event.id, event.type, now)
        session.add(delivery)
        await session.flush()
        return self.render_delivery(delivery, [])

    # --- deliveries -----------------------------------------------------------------------------------

    async def list_deliveries(
        self,
        session: AsyncSession,
        auth: AuthContext,
        webhook_id: str,
        page: PageParams,
        *,
        status: str | None,
        event_id: str | None,
    ) -> schemas.DeliveryList:
        webhook = await self._get(session, auth, webhook_id)
        statement = repository.deliveries_statement(webhook.id, status=status, event_id=event_id)
        scope = WebhookDelivery.webhook_id == webhook.id
        result = await paginate(session, statement, WebhookDelivery, page, scope=scope)
        attempts = await repository.attempts_of(session, [d.id for d in result.items])
        return result.listed([self.render_delivery(d, attempts[d.id]) for d in result.items])

    async def get_delivery(
        self, session: AsyncSession, auth: AuthContext, webhook_id: str, delivery_id: str
    ) -> schemas.Delivery:
        webhook = await self._get(session, auth, webhook_id)
        delivery = await self._get_delivery(session, webhook, delivery_id)
        attempts = await repository.attempts_of(session, [delivery.id])
        return self.render_delivery(delivery, attempts[delivery.id])

    async def retry_delivery(
        self, session: AsyncSession, auth: AuthContext, webhook_id: str, delivery_id: str
    ) -> schemas.Delivery:
        """Send a failed (or already delivered) event again, with a fresh 24-hour retry window."""
        webhook = await self._get(session, auth, webhook_id)
        delivery = await self._get_delivery(session, webhook, delivery_id, for_update=True)
        if delivery.status == "pending":
            raise Conflict("delivery_pending", "This delivery is still pending; it will be retried on its own.")
        self._require_enabled(webhook)
        now = self._clock.now()
        delivery.status = "pending"
        delivery.next_attempt_at = now
        delivery.retry_until = now + self.retry_window
        delivery.lease_token = None
        delivery.delivered_at = None
        delivery.failed_at = None
        delivery.updated_at = now
        await session.flush()
        attempts = await repository.attempts_of(session, [delivery.id])
        return self.render_delivery(delivery, attempts[delivery.id])

    def new_delivery(self, webhook: Webhook, event_id: str, event_type: str, now: datetime) -> WebhookDelivery:
        return WebhookDelivery(**self.delivery_row(webhook, event_id, event_type, now))

    def delivery_row(self, webhook: Webhook, event_id: str, event_type: str, now: datetime) -> dict[str, Any]:
        return {
            "id": new_id("dlv"),
            "tenant_id": webhook.tenant_id,
            "webhook_id": webhook.id,
            "event_id": event_id,
            "event_type": event_type,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "retry_until": now + self.retry_window,
            "lease_token": None,
            "delivered_at": None,
            "failed_at": None,
            "created_at": now,
            "updated_at": now,
        }

    # --- secrets --------------------------------------------------------------------------------------

    def secrets_in_use(self, webhook: Webhook, now: datetime) -> builtins.list[str]:
        """The current secret, then the replaced one while its overlap window lasts."""
        found = [self._open(webhook.id, webhook.secret_nonce, webhook.secret_ciphertext)]
        if (
            webhook.previous_secret_nonce is not None
            and webhook.previous_secret_ciphertext is not None
            and webhook.previous_secret_expires_at is not None
            and webhook.previous_secret_expires_at > now
        ):
            found.append(self._open(webhook.id, webhook.previous_secret_nonce, webhook.previous_secret_ciphertext))
        return found

    def _seal(self, webhook_id: str, secret: str) -> tuple[bytes, bytes]:
        return seal(self._secret_key, secret.encode(), webhook_id.encode())

    def _open(self, webhook_id: str, nonce: bytes, ciphertext: bytes) -> str:
        return open_sealed(self._secret_key, nonce, ciphertext, webhook_id.encode()).decode()

    # --- rendering ------------------------------------------------------------------------------------

    def render(self, webhook: Webhook) -> schemas.Webhook:
        expires = webhook.previous_secret_expires_at
        return {
            "id": webhook.id,
            "object": "webhook",
            "url": webhook.url,
            "events": list(webhook.events),
            "enabled": webhook.enabled,
            "status": "active" if webhook.enabled else "disabled",
            "complianceOnly": webhook.compliance_only,
            "disabledReason": webhook.disabled_reason,
            "previousSecretExpiresAt": isoformat(expires) if expires and expires > self._clock.now() else None,
            "createdAt": isoformat(webhook.created_at),
            "updatedAt": isoformat(webhook.updated_at),
        }

    @staticmethod
    def render_delivery(delivery: WebhookDelivery, attempts: Sequence[WebhookAttempt]) -> schemas.Delivery:
        return {
            "id": delivery.id,
            "object": "webhookDelivery",
            "webhookId": delivery.webhook_id,
            "eventId": delivery.event_id,
            "eventType": delivery.event_type,
            "status": delivery.status,
            "attemptCount": delivery.attempts,
            "nextAttemptAt": isoformat(delivery.next_attempt_at) if delivery.status == "pending" else None,
            "retryUntil": isoformat(delivery.retry_until),
            "deliveredAt": isoformat(delivery.delivered_at),
            "failedAt": isoformat(delivery.failed_at),
            "attempts": [
                {
                    "number": a.number,
                    "outcome": a.outcome,
                    "startedAt": isoformat(a.started_at),
                    "finishedAt": isoformat(a.finished_at),
                    "statusCode": a.status_code,
                    "latencyMs": a.latency_ms,
                    "responseExcerpt": a.response_excerpt,
                    "error": a.error,
                }
                for a in attempts
            ],
            "createdAt": isoformat(delivery.created_at),
            "updatedAt": isoformat(delivery.updated_at),
        }

    # --- helpers --------------------------------------------------------------------------------------

    async def _get(
        self, session: AsyncSession, auth: AuthContext, webhook_id: str, *, for_update: bool = False
    ) -> Webhook:
        webhook = await repository.get(session, auth.tenant_id, webhook_id, for_update=for_update)
        if webhook is None:
            raise NotFound.resource("webhook", webhook_id)
        return webhook

    async def _get_delivery(
        self, session: AsyncSession, webhook: Webhook, delivery_id: str, *, for_update: bool = False
    ) -> WebhookDelivery:
        delivery = await repository.get_delivery(session, webhook.id, delivery_id, for_update=for_update)
        if delivery is None:
            raise NotFound.resource("webhook delivery", delivery_id)
        return delivery

    async def _check_url(self, url: str) -> None:
        try:
            await self.guard.check(url)
        except UnsafeUrl as exc:
            raise InvalidRequest("url_not_allowed", f"Invalid url: {exc}.", param="url") from exc

    @staticmethod
    def _require_enabled(webhook: Webhook) -> None:
        if not webhook.enabled:
            raise Conflict("webhook_disabled", "This webhook is disabled; enable it first (PATCH enabled=true).")
