"""What the signer's tests read and write in the database directly: the audit records the signer wrote, and a send
tampered with as a compromised process with the database's credentials could."""

from __future__ import annotations

from sqlalchemy import select, update

from oms.context import AppContext
from oms.models import AuditRecord, ChainSend


async def signer_records(
    ctx: AppContext, object_id: str | None = None, action: str = "signer sign-send"
) -> list[AuditRecord]:
    async with ctx.db.session_scope(write=False) as session:
        statement = select(AuditRecord).where(AuditRecord.actor_kind == "signer", AuditRecord.action == action)
        if object_id is not None:
            statement = statement.where(AuditRecord.object_id == object_id)
        return list((await session.execute(statement.order_by(AuditRecord.sequence))).scalars())


async def transfer_send(ctx: AppContext, transaction_id: str) -> ChainSend:
    async with ctx.db.session_scope(write=False) as session:
        statement = select(ChainSend).where(ChainSend.reference == transaction_id, ChainSend.purpose == "transfer")
        return (await session.execute(statement.order_by(ChainSend.created_at))).scalars().first()  # type: ignore[return-value]


async def mark_queued(ctx: AppContext, send_id: str) -> None:
    """The send rewritten as queued with a nonce reserved: what a process that may write the database could do."""
    async with ctx.db.session_scope() as session:
        await session.execute(update(ChainSend).where(ChainSend.id == send_id).values(status="queued", nonce=10_000))
