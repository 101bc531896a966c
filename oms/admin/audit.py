"""The audit log through the admin API: every state-changing action of the server, newest first, with filters
and the OMS API's cursors (``limit``, ``startingAfter`` / ``endingBefore``, ``createdAfter`` / ``createdBefore``).
Any operator may read it (``Viewer``): it holds ids only, no secret and no personal data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from oms.admin.dependencies import Viewer
from oms.audit import service as audit
from oms.audit.repository import Filters
from oms.audit.schemas import AuditRecord, AuditRecordList, Outcome
from oms.errors import NotFound
from oms.kit.pagination import PageQuery
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session

router = APIRouter(route_class=OMSRoute, tags=["Audit log"])
Text = Annotated[str | None, Query(max_length=255)]


@router.get("/audit-records", response_model=AuditRecordList, summary="List audit records, newest first")
async def list_audit_records(
    caller: Viewer,
    db: Session,
    page: PageQuery,
    tenant_id: Annotated[str | None, Query(alias="tenantId", max_length=64)] = None,
    actor_kind: Annotated[str | None, Query(alias="actorKind", max_length=16)] = None,
    actor_id: Annotated[str | None, Query(alias="actorId", max_length=255)] = None,
    action: Text = None,
    object_id: Annotated[str | None, Query(alias="objectId", max_length=255)] = None,
    outcome: Outcome | None = None,
    request_id: Annotated[str | None, Query(alias="requestId", max_length=64)] = None,
) -> JSONResponse:
    filters = Filters(
        tenant_id=tenant_id,
        actor_kind=actor_kind,
        actor_id=actor_id,
        action=action,
        object_id=object_id,
        outcome=outcome,
        request_id=request_id,
    )
    return JSONResponse(await audit.query(db, filters, page))


@router.get(
    "/audit-records/{record_id}", response_model=AuditRecord, responses=errors(404), summary="Retrieve an audit record"
)
async def get_audit_record(record_id: str, caller: Viewer, db: Session) -> JSONResponse:
    found = await audit.get(db, record_id)
    if found is None:
        raise NotFound.resource("audit record", record_id)
    return JSONResponse(found)
