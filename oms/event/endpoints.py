from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from oms.auth.dependencies import Auth, needs
from oms.auth.scopes import Scope
from oms.event import service as events
from oms.event.schemas import Event, EventList
from oms.kit.pagination import PageQuery
from oms.responses import JSONResponse
from oms.routing import OMSRoute, Session

router = APIRouter(route_class=OMSRoute, tags=["Events"])
TypeFilter = Annotated[str | None, Query(max_length=80, description="An event type, or a family such as `cashIn.*`")]


@router.get(
    "/events",
    dependencies=[needs(Scope.READ)],
    response_model=EventList,
    summary="List events, newest first: the log to replay from",
)
async def list_events(
    auth: Auth,
    session: Session,
    page: PageQuery,
    type: TypeFilter = None,
    object_id: Annotated[str | None, Query(alias="objectId", max_length=64)] = None,
) -> JSONResponse:
    return JSONResponse(await events.list_events(session, auth.tenant_id, page, type=type, object_id=object_id))


@router.get("/events/{event_id}", dependencies=[needs(Scope.READ)], response_model=Event, summary="Retrieve an event")
async def get_event(event_id: str, auth: Auth, session: Session) -> JSONResponse:
    return JSONResponse(await events.get_event(session, auth.tenant_id, event_id))
