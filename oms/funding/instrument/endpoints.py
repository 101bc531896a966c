"""The routes every funding instrument has, built once by ``instrument_router``: create (idempotent, 201),
a customer's list, retrieve, update (PATCH) and delete. An instrument's endpoints module names itself
(``Kind``, its plural), its wire models, its service and the summaries that differ; its operation ids, path
parameter, tag and paths follow from its name, as they did when each instrument wrote these routes out.

No ``from __future__ import annotations`` here: the handlers are closures over the instrument's models, and
FastAPI reads a parameter's type from the handler's annotations, which must therefore be objects, not names.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Path

from oms.auth.dependencies import Auth, Idempotent, needs
from oms.auth.scopes import Scope
from oms.funding.instrument.lifecycle import Kind
from oms.funding.instrument.service import CreateT, InstrumentService, UpdateT
from oms.kit.pagination import PageQuery
from oms.models import InstrumentStatus
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session

H = TypeVar("H", bound=Callable[..., Any])


@dataclass(frozen=True)
class InstrumentRoutes(Generic[CreateT, UpdateT]):
    kind: Kind
    plural: str  # "virtual accounts": the paths (/virtual-accounts), the tag (VirtualAccounts), list_virtual_accounts
    resource: type[object]  # the TypedDicts of the answers (response_model)
    listing: type[object]
    create: type[CreateT]
    update: type[UpdateT]
    # A dependency that gives the instrument's service (``provided(VirtualAccountService)``).
    service: Callable[..., Awaitable[InstrumentService[Any, CreateT, UpdateT, Any]]]
    create_summary: str
    update_summary: str
    delete_summary: str


def instrument_router(routes: InstrumentRoutes[CreateT, UpdateT]) -> APIRouter:
    kind, resource = routes.kind, routes.resource
    collection = routes.plural.replace(" ", "-")
    item = f"/{collection}/{{{kind.code}_id}}"
    router = APIRouter(route_class=OMSRoute, tags=[routes.plural.title().replace(" ", "")])
    service_of = Depends(routes.service)
    instrument_id = Path(alias=f"{kind.code}_id")

    async def create(
        customer_id: str,
        body: CreateT,
        auth: Auth,
        session: Session,
        service: Annotated[InstrumentService[Any, CreateT, UpdateT, Any], service_of],
    ) -> JSONResponse:
        return JSONResponse(await service.create(session, auth, customer_id, body), status_code=201)

    async def list_(
        customer_id: str,
        auth: Auth,
        session: Session,
        service: Annotated[InstrumentService[Any, CreateT, UpdateT, Any], service_of],
        page: PageQuery,
        status: InstrumentStatus | None = None,
    ) -> JSONResponse:
        return JSONResponse(await service.list(session, auth, customer_id, page, status=status))

    async def get(
        id_: Annotated[str, instrument_id],
        auth: Auth,
        session: Session,
        service: Annotated[InstrumentService[Any, CreateT, UpdateT, Any], service_of],
    ) -> JSONResponse:
        return JSONResponse(await service.get(session, auth, id_))

    async def update(
        id_: Annotated[str, instrument_id],
        body: UpdateT,
        auth: Auth,
        session: Session,
        service: Annotated[InstrumentService[Any, CreateT, UpdateT, Any], service_of],
    ) -> JSONResponse:
        return JSONResponse(await service.update(session, auth, id_, body))

    async def delete(
        id_: Annotated[str, instrument_id],
        auth: Auth,
        session: Session,
        service: Annotated[InstrumentService[Any, CreateT, UpdateT, Any], service_of],
    ) -> JSONResponse:
        return JSONResponse(await service.delete(session, auth, id_))

    plural_code = routes.plural.replace(" ", "_")
    router.add_api_route(
        f"/customers/{{customer_id}}/{collection}",
        _bind(create, body=routes.create),
        methods=["POST"],
        name=f"create_{kind.code}",
        status_code=201,
        response_model=resource,
        responses=errors(403),
        dependencies=[needs(Scope.MONEY_WRITE), Idempotent],
        summary=routes.create_summary,
    )
    router.add_api_route(
        f"/customers/{{customer_id}}/{collection}",
        list_,
        methods=["GET"],
        name=f"list_{plural_code}",
        dependencies=[needs(Scope.READ)],
        response_model=routes.listing,
        summary=f"List a customer's {routes.plural} (deleted ones only when asked for by status)",
    )
    router.add_api_route(
        item, get, methods=["GET"], name=f"get_{kind.code}", dependencies=[needs(Scope.READ)],
        response_model=resource, summary=f"Retrieve a {kind.noun}",
    )  # fmt: skip
    router.add_api_route(
        item,
        _bind(update, body=routes.update),
        methods=["PATCH"],
        name=f"update_{kind.code}",
        dependencies=[needs(Scope.MONEY_WRITE)],
        response_model=resource,
        responses=errors(403, 409),
        summary=routes.update_summary,
    )
    router.add_api_route(
        item, delete, methods=["DELETE"], name=f"delete_{kind.code}", dependencies=[needs(Scope.MONEY_WRITE)],
        response_model=resource, summary=routes.delete_summary,
    )  # fmt: skip
    return router


def _bind(handler: H, **models: type[Any]) -> H:
    """The handlers are generic over the instrument's request models (for the type checker); FastAPI reads the
    body's model from the annotation, so it is set to this instrument's model before the route is added."""
    handler.__annotations__.update(models)
    return handler
