"""The audit log's wire shapes (the admin API's ``/admin/v1/audit-records``)."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

Outcome = Literal["succeeded", "failed"]


class AuditActor(TypedDict):
    kind: str  # api_key | operator | cli | anonymous
    id: str


class AuditRecord(TypedDict):
    id: str
    object: Literal["audit_record"]
    sequence: int
    createdAt: str
    actor: AuditActor
    tenantId: str | None
    action: str
    objectId: str | None
    requestId: str | None
    clientAddress: str | None
    outcome: Outcome
    status: int | None
    errorCode: str | None
    previousHash: str
    hash: str


class AuditRecordList(TypedDict):
    data: list[AuditRecord]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None
