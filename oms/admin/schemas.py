"""Wire models of the admin API's own resources (operators' are oms.operator.schemas)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.models import MAX_REVIEW_NOTE
from oms.models.customer import CustomerStatus
from oms.webhook.schemas import Webhook


class CustomerStatusUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: CustomerStatus


class CustomerStatusAnswer(TypedDict):
    id: str
    object: Literal["customer"]
    tenantId: str
    status: CustomerStatus


class WebhookAdminUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Also deliver compliance events (screening, no tipping off) to this subscription.
    complianceOnly: StrictBool


class AdminWebhook(Webhook):
    tenantId: str


class Decision(BaseModel):
    """An operator's decision on a frozen deposit or deposit-address transfer."""

    model_config = ConfigDict(extra="forbid")
    # Why (kept with the deposit for the compliance record; at most 500 characters).
    reason: str = Field(min_length=1, max_length=MAX_REVIEW_NOTE, pattern=r"\S")
