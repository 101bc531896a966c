from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from oms.auth.dependencies import Auth, Idempotent, needs
from oms.auth.scopes import Scope
from oms.customer.schemas import Customer, CustomerCreate, CustomerList, CustomerUpdate
from oms.customer.service import CustomerService
from oms.kit.ids import new_id
from oms.kit.pagination import PageQuery
from oms.responses import JSONResponse
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Customers"])
Customers = Annotated[CustomerService, Depends(provided(CustomerService))]


@router.post(
    "/customers",
    status_code=201,
    response_model=Customer,
    dependencies=[needs(Scope.CUSTOMERS_WRITE), Idempotent],
    summary="Create a customer",
)
async def create_customer(body: CustomerCreate, auth: Auth, session: Session, customers: Customers) -> JSONResponse:
    resource = await customers.create(session, auth, body, customer_id=new_id("cst"))
    return JSONResponse(resource, status_code=201)


@router.get("/customers", dependencies=[needs(Scope.READ)], response_model=CustomerList, summary="List customers")
async def list_customers(
    auth: Auth,
    session: Session,
    customers: Customers,
    page: PageQuery,
    status: Literal["active", "inactive"] | None = None,
    email: str | None = None,
    external_id: Annotated[str | None, Query(alias="externalId")] = None,
) -> JSONResponse:
    return JSONResponse(await customers.list(session, auth, page, status=status, email=email, external_id=external_id))


@router.get(
    "/customers/{customer_id}", dependencies=[needs(Scope.READ)], response_model=Customer, summary="Retrieve a customer"
)
async def get_customer(customer_id: str, auth: Auth, session: Session, customers: Customers) -> JSONResponse:
    return JSONResponse(await customers.get(session, auth, customer_id))


@router.patch(
    "/customers/{customer_id}",
    dependencies=[needs(Scope.CUSTOMERS_WRITE)],
    response_model=Customer,
    summary="Update a customer",
)
async def update_customer(
    customer_id: str, body: CustomerUpdate, auth: Auth, session: Session, customers: Customers
) -> JSONResponse:
    return JSONResponse(await customers.update(session, auth, customer_id, body))
