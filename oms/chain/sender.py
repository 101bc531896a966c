"""Exactly-once on-chain sends.

A ``ChainSend`` row is written by the service that wants money moved, in the same database
transaction as the decision (and the ledger hold). This worker then moves it along:

1. **sign**: reserve the fee payer's next nonce from ``chain_nonces`` for the send (a row lock; committed, so a
   send signed again after a crash gets the same nonce), ask the signer (``SendSigner``: ``oms signer``, which
   reads the send from the database itself) outside any transaction, and store the signed bytes as an attempt —
   committed *before* anything is broadcast;
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
    SendSigner,
    SignedTransfer,
    SignerUnavailable,
    SigningRefused,
    TransferIntent,
)
from oms.chain.registry import Chains
from oms.db import Database
from oms.kit.ids import new_id
from oms.kit.isolation import RowFailed, describe, isolated
from oms.kit.time import Clock
from oms.models import ChainSend, ChainSendAttempt
from oms.outage import unavailable

log = logging.getLogger(__name__)
BATCH = 50
RECHECK = timedelta(milliseconds=500)
REPLACE_AFTER = timedelta(minutes=2)
# A transaction without a receipt is broadcast again this long after the last time (a reorganisation or a
# node restart may have dropped it); more often would only repeat what the node already has.
REBROADCAST_AFTER = timedelta(seconds=5)
# How long a send whose step failed unexpectedly (a poison row) waits before it is tried again.
POISON_BACKOFF = timedelta(minutes=1)
# A send whose signature the signer refused: looked at again this much later (a review may still release it).
REFUSED_BACKOFF = timedelta(minutes=1)
# A send whose chain node or signer could not be reached: tried again this much later.
UNAVAILABLE_BACKOFF = timedelta(seconds=2)
# How long a send is left to the worker that reserved its nonce and asked for its signature, before another takes it.
SIGNING_LEASE = timedelta(seconds=30)


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
    def __init__(self, *, db: Database, chains: Chains, clock: Clock, signer: SendSigner) -> None:
        self._db = db
        self._chains = chains
        self._clock = clock
        self._signer = signer

    async def run_once(self) -> int:
        """One pass over every stage; returns how many sends moved."""
        return await self.sign_queued() + await self.broadcast_signed() + await self.watch_broadcast()

    # --- 1. sign ----------------------------------------------------------------------------------------

    async def sign_queued(self) -> int:
        """Reserve nonces (committed), sign outside any transaction (the signer reads the sends and writes its
        audit record: with SQLite's one writer it could not while this worker held the lock), record the attempts."""
        async with self._db.session_scope() as session:
            due = [send.id for send in await self._claim(session, "queued")
                   if await self._isolated(session, send, partial(self._reserve, session, send))]  # fmt: skip
        if not due:
            return 0
        signed, failed = await self._signatures([(send_id, 0) for send_id in due])
        moved = 0
        async with self._db.session_scope() as session:
            locked = await repository.lock_sends(session, signed)
            for send_id, signature in signed.items():
                send = locked.get(send_id)
                if send is None or send.status != "queued" or send.nonce != signature.nonce:
                    continue  # another worker recorded it meanwhile (its lease ran out): theirs stands, never broadcast
                self._record_attempt(session, send, signature, attempt=0)
                send.status, send.next_check_at = "signed", self._clock.now()
                moved += 1
            await self._set_aside(session, failed, status="queued")
        return moved

    async def _reserve(self, session: AsyncSession, send: ChainSend) -> bool:
        """The send's nonce (taken once: a send signed again after a crash is signed at the same one), and a lease
        of ``SIGNING_LEASE`` so another worker leaves it alone while its signature is asked for."""
        if send.nonce is None:
            adapter = self._chains.get(send.chain)
            payer = adapter.fee_payer(intent_of(send))
            try:
                send.nonce = await self._allocate_nonce(session, send.chain, payer.address, adapter)
            except ChainUnavailable as exc:
                self._later(send, str(exc))
                return False
            send.fee_payer = payer.address
        send.next_check_at = self._clock.now() + SIGNING_LEASE
        send.updated_at = self._clock.now()
        return True

    async def _signatures(
        self, requests: list[tuple[str, int]]
    ) -> tuple[dict[str, SignedTransfer], dict[str, tuple[str, timedelta]]]:
        """Ask the signer for each (send, attempt), one after the other; what it gave, and why the rest failed. A
        signer that cannot be reached is not asked again in this pass: every send left waits a little."""
        signed: dict[str, SignedTransfer] = {}
        failed: dict[str, tuple[str, timedelta]] = {}
        for index, (send_id, attempt) in enumerate(requests):
            try:
                signed[send_id] = await self._signer.sign_send(send_id, attempt=attempt)
            except SignerUnavailable as exc:
                waiting = requests[index:]
                log.warning("the signer is unavailable", extra={"sends": len(waiting), "error": str(exc)[:200]})
                failed.update((left, (str(exc), UNAVAILABLE_BACKOFF)) for left, _ in waiting)
                break
            except SigningRefused as exc:
                log.warning("the signer refused a send", extra={"send": send_id, "code": exc.code})
                failed[send_id] = (f"signing refused ({exc.code}): {exc}", REFUSED_BACKOFF)
            except ChainUnavailable as exc:
                log.warning("chain send delayed", extra={"send": send_id, "error": str(exc)[:200]})
                failed[send_id] = (str(exc), UNAVAILABLE_BACKOFF)
            except ChainError as exc:
                failed[send_id] = (str(exc), POISON_BACKOFF)
            except Exception as exc:  # a poison row (a bug, custody that cannot open its seed): this send waits
                if unavailable(exc) is not None:
                    raise  # the database is down: the pass ends, as for every other step
                log.exception("signing a send failed", extra={"send": send_id})
                failed[send_id] = (describe(exc), POISON_BACKOFF)
        return signed, failed

    async def _set_aside(self, session: AsyncSession, failed: dict[str, tuple[str, timedelta]], *, status: str) -> None:
        now = self._clock.now()
        for send_id, (error, wait) in failed.items():
            await repository.set_aside(session, send_id, error=error[:500], until=now + wait, now=now, status=status)

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
        replacements: list[tuple[str, int]] = []  # (send, attempt) due a replacement at a higher fee
        async with self._db.session_scope() as session:
            sends = await self._claim(session, "broadcast")
            history = await self._attempts(session, sends)
            heads: dict[str, int] = {}  # one head per chain per pass, not one per send
            for send in sends:
                watch = partial(self._watch, session, send, history, heads, replacements)
                moved += await self._isolated(session, send, watch)
        if replacements:
            await self._replace(replacements)
        return moved

    async def _replace(self, replacements: list[tuple[str, int]]) -> None:
        """Sign the replacements (outside any transaction, as the first signatures), then record each one whose
        send still waits on the attempt before it; the next pass broadcasts it."""
        signed, _ = await self._signatures(replacements)  # refused (e.g. the fee cap reached): keep waiting
        async with self._db.session_scope() as session:
            locked = await repository.lock_sends(session, signed)
            history = await self._attempts(session, list(locked.values()))
            for send_id, attempt in replacements:
                bumped = signed.get(send_id)
                send = locked.get(send_id)
                if bumped is None or send is None or send.status != "broadcast" or send.nonce != bumped.nonce:
                    continue
                newest = history[send.id]
                if not newest or newest[0].attempt != attempt - 1 or newest[0].tx_hash == bumped.tx_hash:
                    continue
                self._record_attempt(session, send, bumped, attempt=attempt)
                send.broadcast_at, send.next_check_at = None, self._clock.now()  # a new transaction: broadcast it

    async def _watch(
        self,
        session: AsyncSession,
        send: ChainSend,
        history: dict[str, list[ChainSendAttempt]],
        heads: dict[str, int],
        replacements: list[tuple[str, int]],
    ) -> bool:
        adapter = self._chains.get(send.chain)
        try:
            receipt = await self._any_receipt(send, history[send.id])
            if receipt is None:
                await self._nudge(session, send, history[send.id], replacements)
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

    async def _nudge(
        self,
        session: AsyncSession,
        send: ChainSend,
        history: list[ChainSendAttempt],
        replacements: list[tuple[str, int]],
    ) -> None:
        """No receipt yet: re-broadcast the stored bytes now and then (a reorganisation may have dropped
        them), and ask for a replacement at the same nonce with a higher fee once it has waited too long."""
        attempt = history[0]
        now = self._clock.now()
        if now - attempt.created_at >= REPLACE_AFTER:
            replacements.append((send.id, attempt.attempt + 1))
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
