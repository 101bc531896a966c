"""Held transactions' reviews: any operator reads them (``Viewer``), an approver decides (``Approver``): approve
or reject, with a reason. The audit log records each decision with the operator as its actor."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from oms.admin.dependencies import Approver, Viewer
from oms.controls.schemas import Review, ReviewDecision, ReviewKind, ReviewList, ReviewStatus
from oms.controls.service import Reviews
from oms.kit.pagination import PageQuery
from oms.responses import JSONResponse, errors
from oms.routing import OMSRoute, Session, provided

router = APIRouter(route_class=OMSRoute, tags=["Reviews"])
Service = Annotated[Reviews, Depends(provided(Reviews))]


@router.get("/reviews", response_model=ReviewList, summary="List reviews of held transactions, newest first")
async def list_reviews(
    caller: Viewer,
    db: Session,
    page: PageQuery,
    reviews: Service,
    status: ReviewStatus | None = None,
    kind: ReviewKind | None = None,
    tenant_id: Annotated[str | None, Query(alias="tenantId", max_length=64)] = None,
) -> JSONResponse:
    return JSONResponse(await reviews.list(db, page, status=status, kind=kind, tenant_id=tenant_id))


@router.get("/reviews/{review_id}", response_model=Review, responses=errors(404), summary="Retrieve a review")
async def get_review(review_id: str, caller: Viewer, db: Session, reviews: Service) -> JSONResponse:
    return JSONResponse(await reviews.get(db, review_id))


async def _decide(
    decision: Literal["approve", "reject"],
    review_id: str,
    body: ReviewDecision,
    request: Request,
    caller_id: str,
    db: Session,
    reviews: Reviews,
) -> JSONResponse:
    tenant_id, review = await reviews.vote(db, review_id, caller_id, decision, body.reason)
    request.state.tenant_id = tenant_id
    return JSONResponse(review)


@router.post(
    "/reviews/{review_id}/approve",
    response_model=Review,
    responses=errors(404, 409),
    summary="Approve a held transaction's review (it is released once every review is approved)",
)
async def approve_review(
    review_id: str, body: ReviewDecision, request: Request, caller: Approver, db: Session, reviews: Service
) -> JSONResponse:
    return await _decide("approve", review_id, body, request, caller.operator_id, db, reviews)


@router.post(
    "/reviews/{review_id}/reject",
    response_model=Review,
    responses=errors(404, 409),
    summary="Reject a held transaction's review (the transaction fails and its funds are released)",
)
async def reject_review(
    review_id: str, body: ReviewDecision, request: Request, caller: Approver, db: Session, reviews: Service
) -> JSONResponse:
    return await _decide("reject", review_id, body, request, caller.operator_id, db, reviews)
