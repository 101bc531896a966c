"""Exactly-once on-chain sends.

A ``ChainSend`` row is written by the service that wants money moved, in the same database
transaction as the decision (and the ledger hold). This worker then moves it along:

1. **sign**: take the fee payer's next nonce from ``chain_nonces`` (a row lock; survives restarts),
   sign, and store the signed bytes as an attempt — committed *before* anything is broadcast;
2. **broadcast** the stored bytes (idempotent, so a crash here just broadcasts them again);
3. **watch**: find a receipt for any attempt; final once it has the required confirmations and its
   block is still canonical; a transaction that vanished (reorganisation, dropped) is re-broadcast from
   the stored bytes, and one pending too long is replaced at the same nonce with a higher fee.

It never signs the same send twice with different nonces. Rows are claimed with ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so several workers share the work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from oms.chain import repository
from oms.chain.port import (
    ChainAdapter,
    ChainError,
    ChainUnavailable,
    NonceTooLow,
    Receipt,
    SignedTransfer,
    TransferIntent,
)
from oms.chain.registry import Chains
from oms.db import Database
from oms.kit.ids import new_id
from oms.kit.isolation import RowFailed, isolated
from oms.kit.time import Clock
from oms.models import ChainSend, ChainSendAttempt

log = logging.getLogger(__name__)
BATCH = 50
RECHECK = timedelta(milliseconds=500)
REPLACE_AFTER = timedelta(minutes=2)
# A transaction without a receipt is broadcast again this long after the last time (a reorganisation or a
# node restart may have dropped it); more often would only repeat what the node already has.
REBROADCAST_AFTER = timedelta(seconds=5)
# How long a send whose step failed unexpectedly (a poison row) waits before it is tried again.
POISON_BACKOFF = timedelta(minutes=1)


def new_send(
    *,
    tenant_id: str,
    purpose: str,
    reference: str,
    chain: str,
    asset: str,
    from_address: str,
    from_key_index: int,
    to_address: str,
    amount: int,
    to_wallet_id: str | None,
    at: datetime,
) -> ChainSend:
    return ChainSend(
        id=new_id("send"),
        tenant_id=tenant_id,
        purpose=purpose,
        reference=reference,
        chain=chain,
        asset=asset,
        from_address=from_address,
        from_key_index=from_key_index,
        to_address=to_address,
        to_wallet_id=to_wallet_id,
        amount=amount,
        status="queued",
        settled=False,
        next_check_at=at,
        created_at=at,
        updated_at=at,
    )


async def postpone(session: AsyncSession, send_id: str, error: str, now: datetime) -> None:
    """Set a send whose step failed aside for ``POISON_BACKOFF`` with the reason, so that the job retries it
    now and then rather than on every pass (its other changes were rolled back: this is a plain update)."""
    await repository.set_aside(session, send_id, error=error[:500], until=now + POISON_BACKOFF, now=now)


def intent_of(send: ChainSend) -> TransferIntent:
    return TransferIntent(
        asset=send.asset,
        from_address=send.from_address,
        from_key_index=send.from_key_index,
        to_address=send.to_address,
        amount=send.amount,
        reference=send.id,
    )


class ChainSender:
    def __init__(self, *, db: Database, chains: Chains, clock: Clock) -> None:
        self._db = db
        self._chains = chains
        self._clock = clock

    async def run_once(self) -> int:
        """One pass over every stage; returns how many sends moved."""
        return await self.sign_queued() + await self.broadcast_signed() + await self.watch_broadcast()

    # --- 1. sign ----------------------------------------------------------------------------------------

    async def sign_queued(self) -> int:
        moved = 0
        async with self._db.session_scope() as session:
            for send in await self._claim(session, "queued"):
                moved += await self._isolated(session, send, partial(self._sign, session, send))
        return moved

    async def _sign(self, session: AsyncSession, send: ChainSend) -> bool:
        adapter = self._chains.get(send.chain)
        intent = intent_of(send)
        payer = adapter.fee_payer(intent)
        try:
            nonce = await self._allocate_nonce(session, send.chain, payer.address, adapter)
            signed = await adapter.sign_transfer(intent, nonce)
        except ChainUnavailable as exc:
            self._later(send, str(exc))
            return False
        self._record_attempt(session, send, signed, attempt=0)
        send.status, send.fee_payer, send.nonce = "signed", payer.address, nonce
        return True

    async def _allocate_nonce(self, session: AsyncSession, chain: str, address: str, adapter: ChainAdapter) -> int:
        """The next nonce of ``address``, starting from what the chain reports the first time."""
        if not await repository.has_nonce(session, chain, address):
            await repository.start_nonce(session, chain, address, await adapter.pending_nonce(address))
        return await repository.take_nonce(session, chain, address)

    # --- 2. broadcast -----------------------------------------------------------------------------------

    async def broadcast_signed(self) -> int:
        moved = 0
        async with self._db.session_scope() as session:
            sends = await self._claim(session, "signed")
            history = await self._attempts(session, sends)
            for send in sends:
                moved += await self._isolated(session, send, partial(self._broadcast_first, session, send, history))
        return moved

    async def _broadcast_first(
        self, session: AsyncSession, send: ChainSend, history: dict[str, list[ChainSendAttempt]]
    ) -> bool:
        if not await self._broadcast(session, send, history[send.id]):
            return False
        send.status, send.broadcast_at = "broadcast", self._clock.now()
        send.next_check_at = self._clock.now()
        return True

    async def _broadcast(self, session: AsyncSession, send: ChainSend, history: list[ChainSendAttempt]) -> bool:
        """Broadcast the newest attempt of ``send`` (``history`` is newest first)."""
        attempt = history[0]
        adapter = self._chains.get(send.chain)
        try:
            await adapter.broadcast(SignedTransfer(attempt.tx_hash, attempt.raw, attempt.nonce, send.fee_payer or ""))
        except NonceTooLow:
            # Fine if one of our own attempts holds the nonce (it was mined); the watcher will see it.
            if await self._any_receipt(send, history) is None:
                log.warning("nonce taken by a foreign transaction; re-signing", extra={"send": send.id})
                send.status, send.nonce = "queued", None
                return False
        except ChainUnavailable as exc:
            self._later(send, str(exc))
            return False
        except ChainError as exc:
            self._later(send, str(exc))
            return False
        return True

    # --- 3. watch ---------------------------------------------------------------------------------------

    async def watch_broadcast(self) -> int:
        moved = 0
        async with self._db.session_scope() as session:
            sends = await self._claim(session, "broadcast")
            history = await self._attempts(session, sends)
            heads: dict[str, int] = {}  # one head per chain per pass, not one per send
            for send in sends:
                moved += await self._isolated(session, send, partial(self._watch, session, send, history, heads))
        return moved

    async def _watch(
        self,
        session: AsyncSession,
        send: ChainSend,
        history: dict[str, list[ChainSendAttempt]],
        heads: dict[str, int],
    ) -> bool:
        adapter = self._chains.get(send.chain)
        try:
            receipt = await self._any_receipt(send, history[send.id])
            if receipt is None:
                await self._nudge(session, send, history[send.id])
                return False
            if send.chain not in heads:
                heads[send.chain] = await adapter.head()
            head = heads[send.chain]
            if head - receipt.block_number + 1 < adapter.confirmations:
                send.tx_hash, send.block_number = receipt.tx_hash, receipt.block_number
                send.next_check_at = self._clock.now() + RECHECK
                return False
            if await adapter.block_hash(receipt.block_number) != receipt.block_hash:
                send.next_check_at = self._clock.now()  # reorganised under us: look again
                return False
        except ChainUnavailable as exc:
            self._later(send, str(exc))
            return False
        send.tx_hash, send.block_number = receipt.tx_hash, receipt.block_number
        send.status = "confirmed" if receipt.succeeded else "failed"
        send.last_error = None if receipt.succeeded else "the transaction reverted on chain"
        send.updated_at = send.next_check_at = self._clock.now()  # settlement takes it from now
        return True

    async def _isolated(self, session: AsyncSession, send: ChainSend, work: Callable[[], Awaitable[bool]]) -> bool:
        """One send's step in its own savepoint: a send that fails is postponed, not the rest of the batch."""
        send_id = send.id
        try:
            return await isolated(session, "chain-sender", send_id, work)
        except RowFailed as failed:
            await postpone(session, send_id, str(failed), self._clock.now())
            return False

    async def _nudge(self, session: AsyncSession, send: ChainSend, history: list[ChainSendAttempt]) -> None:
        """No receipt yet: re-broadcast the stored bytes now and then (a reorganisation may have dropped
        them), and replace the transaction at the same nonce with a higher fee once it has waited too long."""
        attempt = history[0]
        now = self._clock.now()
        if now - attempt.created_at >= REPLACE_AFTER:
            adapter = self._chains.get(send.chain)
            try:
                bumped = await adapter.sign_transfer(intent_of(send), attempt.nonce, fee_bump=attempt.attempt + 1)
            except ChainError as exc:  # e.g. the fee cap is reached: keep waiting on the current attempt
                log.warning("no replacement for a pending send", extra={"send": send.id, "error": str(exc)[:200]})
                bumped = None
            if bumped is not None and bumped.tx_hash != attempt.tx_hash:
                history = [self._record_attempt(session, send, bumped, attempt=attempt.attempt + 1), *history]
                await session.flush()
                send.broadcast_at = None  # a new transaction: broadcast it now
        due = send.broadcast_at is None or now - send.broadcast_at >= REBROADCAST_AFTER
        if due and await self._broadcast(session, send, history):
            send.broadcast_at = now
        send.next_check_at = now + RECHECK

    async def _any_receipt(self, send: ChainSend, history: list[ChainSendAttempt]) -> Receipt | None:
        adapter = self._chains.get(send.chain)
        for attempt in history:
            receipt = await adapter.receipt(attempt.tx_hash)
            if receipt is not None:
                return receipt
        return None

    # --- helpers ----------------------------------------------------------------------------------------

    async def _claim(self, session: AsyncSession, status: str) -> list[ChainSend]:
        return await repository.claim_due(session, status, self._clock.now(), BATCH)

    async def _attempts(self, session: AsyncSession, sends: list[ChainSend]) -> dict[str, list[ChainSendAttempt]]:
        """Every signed attempt of these sends (one query), newest first per send."""
        found: dict[str, list[ChainSendAttempt]] = {send.id: [] for send in sends}
        for attempt in await repository.attempts_of(session, list(found)):
            found[attempt.send_id].append(attempt)
        return found

    def _record_attempt(
        self, session: AsyncSession, send: ChainSend, signed: SignedTransfer, *, attempt: int
    ) -> ChainSendAttempt:
        row = ChainSendAttempt(
            tx_hash=signed.tx_hash,
            send_id=send.id,
            attempt=attempt,
            nonce=signed.nonce,
            raw=signed.raw,
            created_at=self._clock.now(),
        )
        session.add(row)
        send.tx_hash = send.tx_hash or signed.tx_hash
        send.updated_at = self._clock.now()
        return row

    def _later(self, send: ChainSend, error: str) -> None:
        send.last_error = error[:500]
        send.next_check_at = self._clock.now() + timedelta(seconds=2)
        log.warning("chain send delayed", extra={"send": send.id, "error": error[:200]})
