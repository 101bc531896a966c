"""Webhooks' ``complianceOnly`` flag: settable only through the admin API (shared/spec/decisions.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from oms.admin.dependencies import Admin
from oms.admin.schemas import AdminWebhook, WebhookAdminUpdate
from oms.responses import JSONResponse
from oms.routing import OMSRoute, Session, provided
from oms.webhook.service import WebhookService

router = APIRouter(route_class=OMSRoute, tags=["Webhooks"])
Webhooks = Annotated[WebhookService, Depends(provided(WebhookService))]


@router.patch(
    "/webhooks/{webhook_id}",
    response_model=AdminWebhook,
    summary="Set a webhook subscription's complianceOnly flag (any tenant's)",
)
async def update_webhook(
    webhook_id: str, body: WebhookAdminUpdate, request: Request, caller: Admin, db: Session, webhooks: Webhooks
) -> JSONResponse:
    tenant_id, webhook = await webhooks.set_compliance_only(db, webhook_id, body.complianceOnly)
    request.state.tenant_id = tenant_id
    answer: AdminWebhook = {**webhook, "tenantId": tenant_id}
    return JSONResponse(answer)
