from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query

from oms.auth.dependencies import Auth, Idempotent, needs
from oms.auth.scopes import Scope
from oms.kit.ids import new_id
from oms.kit.pagination import PageQuery
from oms.responses import JSONResponse
from oms.routing import OMSRoute, Session, provided
from oms.webhook.schemas import (
    DeletedWebhook,
    Delivery,
    DeliveryList,
    SecretRotation,
    Webhook,
    WebhookCreate,
    WebhookList,
    WebhookUpdate,
    WebhookWithSecret,
)
from oms.webhook.service import WebhookService

router = APIRouter(route_class=OMSRoute, tags=["Webhooks"])
Webhooks = Annotated[WebhookService, Depends(provided(WebhookService))]


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookWithSecret,
    dependencies=[needs(Scope.WEBHOOKS_WRITE), Idempotent],
    summary="Create a webhook subscription (the secret is returned only here)",
)
async def create_webhook(body: WebhookCreate, auth: Auth, session: Session, webhooks: Webhooks) -> JSONResponse:
    resource = await webhooks.create(session, auth, body, webhook_id=new_id("whk"))
    return JSONResponse(resource, status_code=201)


@router.get(
    "/webhooks", dependencies=[needs(Scope.READ)], response_model=WebhookList, summary="List webhook subscriptions"
)
async def list_webhooks(auth: Auth, session: Session, webhooks: Webhooks, page: PageQuery) -> JSONResponse:
    return JSONResponse(await webhooks.list(session, auth, page))


@router.get(
    "/webhooks/{webhook_id}",
    dependencies=[needs(Scope.READ)],
    response_model=Webhook,
    summary="Retrieve a webhook subscription",
)
async def get_webhook(webhook_id: str, auth: Auth, session: Session, webhooks: Webhooks) -> JSONResponse:
    return JSONResponse(await webhooks.get(session, auth, webhook_id))


@router.patch(
    "/webhooks/{webhook_id}",
    dependencies=[needs(Scope.WEBHOOKS_WRITE)],
    response_model=Webhook,
    summary="Update a webhook subscription",
)
async def update_webhook(
    webhook_id: str, body: WebhookUpdate, auth: Auth, session: Session, webhooks: Webhooks
) -> JSONResponse:
    return JSONResponse(await webhooks.update(session, auth, webhook_id, body))


@router.delete(
    "/webhooks/{webhook_id}",
    dependencies=[needs(Scope.WEBHOOKS_WRITE)],
    response_model=DeletedWebhook,
    summary="Delete a webhook subscription",
)
async def delete_webhook(webhook_id: str, auth: Auth, session: Session, webhooks: Webhooks) -> JSONResponse:
    return JSONResponse(await webhooks.delete(session, auth, webhook_id))


@router.post(
    "/webhooks/{webhook_id}/rotate-secret",
    response_model=WebhookWithSecret,
    dependencies=[needs(Scope.WEBHOOKS_WRITE), Idempotent],
    summary="Rotate the signing secret; the old one keeps signing during the overlap window",
)
async def rotate_webhook_secret(
    webhook_id: str,
    auth: Auth,
    session: Session,
    webhooks: Webhooks,
    body: Annotated[SecretRotation | None, Body()] = None,
) -> JSONResponse:
    return JSONResponse(await webhooks.rotate_secret(session, auth, webhook_id, body or SecretRotation()))


@router.post(
    "/webhooks/{webhook_id}/test",
    status_code=201,
    response_model=Delivery,
    dependencies=[needs(Scope.WEBHOOKS_WRITE), Idempotent],
    summary="Send a webhook.test event to this endpoint",
)
async def test_webhook(webhook_id: str, auth: Auth, session: Session, webhooks: Webhooks) -> JSONResponse:
    return JSONResponse(await webhooks.send_test(session, auth, webhook_id), status_code=201)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    dependencies=[needs(Scope.READ)],
    response_model=DeliveryList,
    summary="List deliveries and their attempts",
)
async def list_deliveries(
    webhook_id: str,
    auth: Auth,
    session: Session,
    webhooks: Webhooks,
    page: PageQuery,
    status: Literal["pending", "delivered", "failed"] | None = None,
    event_id: Annotated[str | None, Query(alias="eventId")] = None,
) -> JSONResponse:
    return JSONResponse(
        await webhooks.list_deliveries(session, auth, webhook_id, page, status=status, event_id=event_id)
    )


@router.get(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}",
    dependencies=[needs(Scope.READ)],
    response_model=Delivery,
    summary="Retrieve a delivery",
)
async def get_delivery(
    webhook_id: str, delivery_id: str, auth: Auth, session: Session, webhooks: Webhooks
) -> JSONResponse:
    return JSONResponse(await webhooks.get_delivery(session, auth, webhook_id, delivery_id))


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
    response_model=Delivery,
    dependencies=[needs(Scope.WEBHOOKS_WRITE), Idempotent],
    summary="Redeliver a failed (or delivered) event now, with a fresh retry window",
)
async def retry_delivery(
    webhook_id: str, delivery_id: str, auth: Auth, session: Session, webhooks: Webhooks
) -> JSONResponse:
    return JSONResponse(await webhooks.retry_delivery(session, auth, webhook_id, delivery_id))
