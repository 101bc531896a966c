"""The signer's rules: which sends it signs, and the audit record of every signature it gives or refuses.

It is asked for "the signature of send X, attempt n" and nothing else: it reads the send from the database
itself, builds the transaction from that row with the chain's adapter (the caller's bytes are never signed), and
refuses a send that may not leave: one that is not queued (held for a review, already signed, settled), one whose
transaction awaits a review or was refused by one (its policy check or its screening failed), one whose key is not
the key of its address. Replacements (attempt n > 0) only for a send in flight, one attempt after its newest.
Each signature is recorded in the audit log (actor ``signer``) and committed before it is handed out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from oms.audit import Actor
from oms.audit import service as audit
from oms.audit.service import AuditLog
from oms.chain.port import SignedTransfer, SigningRefused, TransferIntent
from oms.chain.registry import Chains
from oms.chain.sender import intent_of
from oms.controls import repository as controls_repository
from oms.custody.service import Custody
from oms.db import Database
from oms.kit.time import Clock
from oms.models import ChainSend
from oms.signer import repository

log = logging.getLogger(__name__)

ACTOR_KIND = "signer"
SIGN_SEND = "signer sign-send"
CONNECT = "signer connect"
# A send is signed only in these statuses: queued (its first signature), signed or broadcast (a replacement).
FIRST, IN_FLIGHT = "queued", ("signed", "broadcast")
REFUSING_REVIEWS = ("rejected", "expired")


@dataclass(frozen=True, slots=True)
class Signable:
    """What the signer signs, read from the send's row."""

    send_id: str
    tenant_id: str
    chain: str
    intent: TransferIntent
    nonce: int


class SendSigning:
    def __init__(
        self, *, db: Database, chains: Chains, custody: Custody, clock: Clock, audit_log: AuditLog, identity: str
    ) -> None:
        self._db = db
        self._chains = chains
        self._custody = custody
        self._clock = clock
        self._audit = audit_log
        self._actor = Actor(ACTOR_KIND, identity)

    async def sign(self, send_id: str, attempt: int, *, peer: str) -> SignedTransfer:
        """The signed transaction of ``send_id`` (``attempt`` 0: its first; n: its n-th replacement), audited;
        ``SigningRefused`` (audited too) for a send that may not be signed. ``peer`` names who asked."""
        async with self._db.session_scope(write=False) as session:
            send = await repository.send(session, send_id)
            found = await self._signable(session, send, send_id, attempt)
        if isinstance(found, SigningRefused):
            tenant_id = send.tenant_id if send is not None else None
            await self.record(SIGN_SEND, object_id=send_id, tenant_id=tenant_id, peer=peer, error_code=found.code)
            raise found
        adapter = self._chains.get(found.chain)
        signed = await adapter.sign_transfer(found.intent, found.nonce, fee_bump=attempt)
        # Recorded and committed before anyone sees it: no signature leaves the signer unaudited.
        await self.record(SIGN_SEND, object_id=send_id, tenant_id=found.tenant_id, peer=peer)
        log.info("signed", extra={"send": send_id, "attempt": attempt, "tx": signed.tx_hash})
        return signed

    async def record(
        self, action: str, *, object_id: str | None, tenant_id: str | None, peer: str, error_code: str | None = None
    ) -> None:
        entry = self._audit.entry(
            self._actor, action, tenant_id=tenant_id, object_id=object_id, client_address=peer[:64],
            error_code=error_code,
        )  # fmt: skip
        async with self._db.session_scope() as session:
            await audit.record(session, entry)

    async def _signable(
        self, session: AsyncSession, send: ChainSend | None, send_id: str, attempt: int
    ) -> Signable | SigningRefused:
        if send is None:
            return SigningRefused("send_not_found", f"there is no chain send {send_id!r}")
        refusal = await self._send_refusal(session, send, attempt) or await self._transaction_refusal(session, send)
        if refusal is not None:
            return refusal
        assert send.nonce is not None
        return Signable(send.id, send.tenant_id, send.chain, intent_of(send), send.nonce)

    async def _send_refusal(self, session: AsyncSession, send: ChainSend, attempt: int) -> SigningRefused | None:
        if send.status == "held":
            return SigningRefused("send_held", "the send is held for a review: it is signed once the review passes")
        if attempt == 0 and send.status != FIRST:
            return SigningRefused("send_not_queued", f"the send is {send.status}, not queued: it is not signed again")
        if attempt > 0 and send.status not in IN_FLIGHT:
            return SigningRefused("send_not_in_flight", f"the send is {send.status}: only one in flight is replaced")
        if send.nonce is None:
            return SigningRefused("nonce_not_reserved", "the send has no nonce reserved for it yet")
        if attempt > 0 and await repository.newest_attempt(session, send.id) != attempt - 1:
            return SigningRefused("attempt_out_of_order", f"attempt {attempt} does not follow the send's newest")
        if send.amount <= 0:
            return SigningRefused("amount_invalid", "the send's amount is not positive")
        if self._custody.address_of(send.from_key_index).lower() != send.from_address.lower():
            return SigningRefused("key_mismatch", f"custody key {send.from_key_index} does not hold the send's address")
        return None

    async def _transaction_refusal(self, session: AsyncSession, send: ChainSend) -> SigningRefused | None:
        transaction = await repository.transaction(session, send.reference)
        if transaction is None:
            return SigningRefused("transaction_not_found", "the send belongs to no transaction")
        statuses = [review.status for review in await controls_repository.reviews_of(session, transaction.id)]
        if "pending" in statuses:
            return SigningRefused("awaiting_approval", "the send's transaction awaits a review (an approval)")
        if any(status in REFUSING_REVIEWS for status in statuses):
            return SigningRefused("review_refused", "a review refused the send's transaction (its check failed)")
        if transaction.status != "processing":
            return SigningRefused("transaction_not_processing", f"the send's transaction is {transaction.status}")
        return None
