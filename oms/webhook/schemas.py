"""Wire models for webhook subscriptions and their deliveries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.models.webhook import AttemptOutcome, DeliveryStatus, DisabledReason
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


# The answers: what the service renders (checked by mypy) and the operations' OpenAPI schemas (response_model).


class Webhook(TypedDict):
    id: str
    object: Literal["webhook"]
    url: str
    events: list[str]
    enabled: bool
    status: Literal["active", "disabled"]
    complianceOnly: bool
    disabledReason: DisabledReason | None
    previousSecretExpiresAt: str | None
    createdAt: str
    updatedAt: str


class WebhookWithSecret(Webhook):
    secret: str


class WebhookList(TypedDict):
    data: list[Webhook]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


class DeletedWebhook(TypedDict):
    id: str
    object: Literal["webhook"]
    deleted: Literal[True]


class Attempt(TypedDict):
    number: int
    outcome: AttemptOutcome
    startedAt: str
    finishedAt: str | None
    statusCode: int | None
    latencyMs: int | None
    responseExcerpt: str | None
    error: str | None


class Delivery(TypedDict):
    id: str
    object: Literal["webhookDelivery"]
    webhookId: str
    eventId: str
    eventType: str
    status: DeliveryStatus
    attemptCount: int
    nextAttemptAt: str | None
    retryUntil: str
    deliveredAt: str | None
    failedAt: str | None
    attempts: list[Attempt]
    createdAt: str
    updatedAt: str


class DeliveryList(TypedDict):
    data: list[Delivery]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None
