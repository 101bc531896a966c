"""Wire models for webhook subscriptions and their deliveries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from oms.webhook.catalogue import validate_patterns
from oms.webhook.ssrf import MAX_URL_LENGTH

Url = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL_LENGTH)]
EventPatterns = Annotated[list[Annotated[str, StringConstraints(max_length=80)]], AfterValidator(validate_patterns)]
DAY = 24 * 3600


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookCreate(Strict):
    url: Url
    events: EventPatterns = Field(default_factory=list)
    enabled: StrictBool = True


class WebhookUpdate(Strict):
    url: Url | None = None
    events: EventPatterns | None = None
    enabled: StrictBool | None = None


class SecretRotation(Strict):
    # How long the replaced secret keeps signing alongside the new one (0 = stop at once).
    previousSecretExpiresIn: Annotated[int, Field(ge=0, le=7 * DAY)] = DAY


class Webhook(BaseModel):
    id: str
    object: Literal["webhook"] = "webhook"
    url: str
    events: list[str]
    enabled: bool
    status: Literal["active", "disabled"]
    complianceOnly: bool
    disabledReason: Literal["endpoint_gone"] | None
    previousSecretExpiresAt: str | None
    createdAt: str
    updatedAt: str


class WebhookWithSecret(Webhook):
    secret: str


class WebhookList(BaseModel):
    data: list[Webhook]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


class DeletedWebhook(BaseModel):
    id: str
    object: Literal["webhook"] = "webhook"
    deleted: Literal[True] = True


class Attempt(BaseModel):
    number: int
    outcome: Literal["in_flight", "succeeded", "failed", "abandoned"]
    startedAt: str
    finishedAt: str | None
    statusCode: int | None
    latencyMs: int | None
    responseExcerpt: str | None
    error: str | None


class Delivery(BaseModel):
    id: str
    object: Literal["webhookDelivery"] = "webhookDelivery"
    webhookId: str
    eventId: str
    eventType: str
    status: Literal["pending", "delivered", "failed"]
    attemptCount: int
    nextAttemptAt: str | None
    retryUntil: str
    deliveredAt: str | None
    failedAt: str | None
    attempts: list[Attempt]
    createdAt: str
    updatedAt: str


class DeliveryList(BaseModel):
    data: list[Delivery]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None
