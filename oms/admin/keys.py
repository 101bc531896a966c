"""Tenants and their API keys, administered: tenants (list, create) and keys (list with filters and cursors,
create with scopes and an expiry answering the secret once, retrieve, change scopes, revoke). Viewers read,
admins write (``Viewer``, ``Admin``). The secret is never stored and answered only by the creation; a key's
hash never leaves the server."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from oms.admin.dependencies import Admin, Viewer
from oms.auth.schemas import (
    AdminApiKey,
    AdminApiKeyList,
    ApiKeyCreate,
    ApiKeyUpdate,
    CreatedApiKey,
    TenantCreate,
    TenantList,
    TenantResource,
)
from oms.auth.service import AuthService
from oms.kit.pagination import PageQuery
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Tenants and API keys"])
Keys = Annotated[AuthService, Depends(provided(AuthService))]
KeyStatus = Literal["active", "revoked", "expired"]


@router.get("/tenants", response_model=TenantList, summary="List tenants, newest first")
async def list_tenants(caller: Viewer, db: Session, keys: Keys, page: PageQuery) -> JSONResponse:
    return JSONResponse(await keys.list_tenants(db, page))


@router.post(
    "/tenants",
    status_code=201,
    response_model=TenantResource,
    responses=errors(409),
    summary="Create a tenant (an organisation or environment whose API keys call /v0.9)",
)
async def create_tenant(body: TenantCreate, request: Request, caller: Admin, db: Session, keys: Keys) -> JSONResponse:
    tenant = await keys.create_tenant(db, body.name)
    request.state.tenant_id = tenant["id"]
    return JSONResponse(tenant, status_code=201)


@router.get("/api-keys", response_model=AdminApiKeyList, summary="List API keys, newest first")
async def list_api_keys(
    caller: Viewer,
    db: Session,
    keys: Keys,
    page: PageQuery,
    tenant_id: Annotated[str | None, Query(alias="tenantId", max_length=64)] = None,
    status: KeyStatus | None = None,
    mode: Literal["sandbox", "live"] | None = None,
) -> JSONResponse:
    return JSONResponse(await keys.list_keys(db, page, tenant_id=tenant_id, status=status, mode=mode))


@router.post(
    "/api-keys",
    status_code=201,
    response_model=CreatedApiKey,
    summary="Create an API key for a tenant, with its scopes and expiry: the secret is answered only here",
)
async def create_api_key(body: ApiKeyCreate, request: Request, caller: Admin, db: Session, keys: Keys) -> JSONResponse:
    request.state.tenant_id = body.tenantId
    return JSONResponse(await keys.issue_key(db, body), status_code=201)


@router.get("/api-keys/{key_id}", response_model=AdminApiKey, summary="Retrieve an API key")
async def get_api_key(key_id: str, caller: Viewer, db: Session, keys: Keys) -> JSONResponse:
    return JSONResponse(await keys.key(db, key_id))


@router.patch(
    "/api-keys/{key_id}",
    response_model=AdminApiKey,
    summary="Change an API key's scopes (from its next request on, its tokens included)",
)
async def update_api_key(
    key_id: str, body: ApiKeyUpdate, request: Request, caller: Admin, db: Session, keys: Keys
) -> JSONResponse:
    key = await keys.change_scopes(db, key_id, body.scopes)
    request.state.tenant_id = key["tenantId"]
    return JSONResponse(key)


@router.post(
    "/api-keys/{key_id}/revoke",
    response_model=AdminApiKey,
    summary="Revoke an API key: it and its tokens stop working at once (revoking again changes nothing)",
)
async def revoke_api_key(key_id: str, request: Request, caller: Admin, db: Session, keys: Keys) -> JSONResponse:
    key = await keys.revoke(db, key_id)
    request.state.tenant_id = key["tenantId"]
    return JSONResponse(key)
