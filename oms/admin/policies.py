"""A tenant's policies: any operator reads them (``Viewer``), an admin writes them (``Admin``). A change is a new
version (``PUT``: a full replacement; ``POST …/disable``); every version is kept (``GET …/versions``). The audit log
records each change with the operator as its actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from oms.admin.dependencies import Admin, Viewer
from oms.audit import Actor
from oms.kit.pagination import PageQuery
from oms.operator.service import OperatorContext
from oms.policy.schemas import Policy, PolicyList, PolicyStatus, PolicyVersionList, PolicyWrite
from oms.policy.service import PolicyService
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Policies"])
Policies = Annotated[PolicyService, Depends(provided(PolicyService))]
BASE = "/tenants/{tenant_id}/policies"


def _actor(caller: OperatorContext) -> Actor:
    return Actor("operator", caller.operator_id)


@router.post(BASE, status_code=201, response_model=Policy, responses=errors(404), summary="Create a policy")
async def create_policy(
    tenant_id: str, body: PolicyWrite, request: Request, caller: Admin, db: Session, policies: Policies
) -> JSONResponse:
    request.state.tenant_id = tenant_id
    return JSONResponse(await policies.create(db, tenant_id, body, _actor(caller)), status_code=201)


@router.get(BASE, response_model=PolicyList, responses=errors(404), summary="List a tenant's policies, newest first")
async def list_policies(
    tenant_id: str, caller: Viewer, db: Session, page: PageQuery, policies: Policies, status: PolicyStatus | None = None
) -> JSONResponse:
    return JSONResponse(await policies.list(db, tenant_id, page, status=status))


@router.get(BASE + "/{policy_id}", response_model=Policy, responses=errors(404), summary="Retrieve a policy")
async def get_policy(tenant_id: str, policy_id: str, caller: Viewer, db: Session, policies: Policies) -> JSONResponse:
    return JSONResponse(await policies.get(db, tenant_id, policy_id))


@router.put(
    BASE + "/{policy_id}", response_model=Policy, responses=errors(404), summary="Change a policy (a new version)"
)
async def update_policy(
    tenant_id: str,
    policy_id: str,
    body: PolicyWrite,
    request: Request,
    caller: Admin,
    db: Session,
    policies: Policies,
) -> JSONResponse:
    request.state.tenant_id = tenant_id
    return JSONResponse(await policies.update(db, tenant_id, policy_id, body, _actor(caller)))


@router.post(
    BASE + "/{policy_id}/disable",
    response_model=Policy,
    responses=errors(404, 409),
    summary="Disable a policy (a last version; it no longer applies)",
)
async def disable_policy(
    tenant_id: str, policy_id: str, request: Request, caller: Admin, db: Session, policies: Policies
) -> JSONResponse:
    request.state.tenant_id = tenant_id
    return JSONResponse(await policies.disable(db, tenant_id, policy_id, _actor(caller)))


@router.get(
    BASE + "/{policy_id}/versions",
    response_model=PolicyVersionList,
    responses=errors(404),
    summary="Every version of a policy, oldest first",
)
async def list_policy_versions(
    tenant_id: str, policy_id: str, caller: Viewer, db: Session, policies: Policies
) -> JSONResponse:
    return JSONResponse(await policies.versions(db, tenant_id, policy_id))
