"""Customers' status, set by an operator (v0.9 has no tenant API for it; the CLI: oms customers set-status)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from oms.admin.dependencies import Admin
from oms.admin.schemas import CustomerStatusAnswer, CustomerStatusUpdate
from oms.customer.service import CustomerService
from oms.responses import JSONResponse
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Customers"])
Customers = Annotated[CustomerService, Depends(provided(CustomerService))]


@router.put(
    "/customers/{customer_id}/status",
    response_model=CustomerStatusAnswer,
    summary="Activate or deactivate a customer (inactive: no quote, no money moves)",
)
async def set_customer_status(
    customer_id: str, body: CustomerStatusUpdate, request: Request, caller: Admin, db: Session, customers: Customers
) -> JSONResponse:
    tenant_id = await customers.set_status(db, customer_id, body.status)
    request.state.tenant_id = tenant_id  # the operator acted on this tenant's customer (the audit log says so)
    answer: CustomerStatusAnswer = {
        "id": customer_id,
        "object": "customer",
        "tenantId": tenant_id,
        "status": body.status,
    }
    return JSONResponse(answer)
