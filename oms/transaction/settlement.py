"""The one settlement: every final (confirmed or failed) chain send applied to its transaction and the ledger.

Whatever moved the money — a customer's transfer, a funding delivery, a fee sweep — settles through this one
state machine; a *purpose* (``oms/transaction/ports.py``, registered by ``oms/context.py``) supplies only its
ledger entries, how it fails and its on-outcome hook:

    principal confirmed  →  post ``delivered``; sweep the fee to the treasury (``collectingFee``) if the purpose
                            names a key for it, else completed
    principal failed     →  sent again after a pause if the purpose allows it (``retrying``), else post
                            ``failed``'s entries: failed
    fee sweep confirmed  →  post ``fee_collected``: completed
    fee sweep failed     →  sent again after a pause (never given up: the customer has been paid already)

One pass (``settle_final_sends``), in the lock order of every unit that moves money (docs/decisions.md, "Lock
order"): the sends claimed (never waited for), their transactions in id order in one statement, every ledger
account the batch may post to in one sweep, then each send in a savepoint of its own, so that one that cannot be
applied is set aside (``postpone``) while the others settle.

The rules every purpose shares (docs/decisions.md, "One settlement"): ``updatedAt`` and ``completedAt`` are
stamped on the tenant's clock, like the quote the transaction came from; a reverted send is sent again after a
pause that doubles, 10 s, 20 s, 40 s … at most an hour (``resend_pause``). Ledger entries, sends and event
timestamps are system work, on the server's clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from oms.chain import sender
from oms.clock.service import TenantClock
from oms.custody.service import Custody
from oms.kit.isolation import RowFailed, isolated
from oms.kit.sql import is_postgres
from oms.kit.time import Clock
from oms.ledger import service as ledger
from oms.models import ChainSend, Transaction, Wallet
from oms.transaction import repository
from oms.transaction.ports import Accounts, Entry, Failure, SettlementPurpose, Settling, Source
from oms.transaction.service import TransactionService

log = logging.getLogger(__name__)
TREASURY_KEY = "treasury"  # the custody system key every fee is swept to on chain
BATCH = 100
# A reverted send waits this long before it is sent again, doubling each time up to the cap.
RESEND_PAUSE = timedelta(seconds=10)
RESEND_PAUSE_CAP = timedelta(hours=1)


def resend_pause(failures: int) -> timedelta:
    """Before the next send after ``failures`` reverted ones: 10 s, 20 s, 40 s … 1 h."""
    return min(RESEND_PAUSE_CAP, RESEND_PAUSE * (1 << min(max(failures - 1, 0), 16)))


class Settlement:
    def __init__(
        self,
        *,
        transactions: TransactionService,
        purposes: Sequence[SettlementPurpose],
        custody: Custody,
        tenant_clock: TenantClock,
        clock: Clock,
    ) -> None:
        self._transactions = transactions
        self._custody = custody
        self._tenant_clock = tenant_clock
        self._clock = clock
        # Each ChainSend.purpose belongs to one settlement purpose, as its principal or its fee sweep.
        self._by_send: dict[str, tuple[SettlementPurpose, bool]] = {}
        for purpose in purposes:
            for name, principal in ((purpose.principal, True), (purpose.fee, False)):
                if name in self._by_send:
                    raise ValueError(f"two settlement purposes claim the chain sends of {name!r}")
                self._by_send[name] = (purpose, principal)

    async def settle_final_sends(self, session: AsyncSession, *, limit: int = BATCH) -> int:
        """Apply final sends (at most ``limit``) to their transactions and the ledger; returns how many."""
        now = self._clock.now()
        sends = await repository.unsettled_sends(
            session, purposes=self._by_send.keys(), limit=limit, skip_locked=is_postgres(session), now=now
        )
        transactions = await repository.lock_many(session, [(send.tenant_id, send.reference) for send in sends])
        cases = await self._open(session, sends, transactions)
        wallet_ids, system = _sweep(case.accounts for case in cases.values())
        await ledger.lock_accounts(session, wallet_ids=wallet_ids, system=system, at=now)
        settled = 0
        for send in sends:
            send_id = send.id
            transaction = transactions.get(send.reference)
            apply = partial(self._apply, session, send, transaction, cases.get(send.reference))
            try:
                await isolated(session, "transaction-settlement", send_id, apply)
                settled += 1
            except RowFailed as failed:
                await sender.postpone(session, send_id, str(failed), now)
        return settled

    async def refuse_unsent(
        self, session: AsyncSession, transaction: Transaction, send: ChainSend, code: str, message: str
    ) -> None:
        """A transfer refused before its send was ever signed (a rejected or expired review): the send
        cancelled, the hold released by the purpose's own failure entries (the path of a failed transfer),
        the transaction ``failed`` with ``code``, its event. The caller holds the transaction's lock."""
        purpose, _ = self._by_send[send.purpose]
        case = (await purpose.open(session, [transaction]))[transaction.id]
        failure = await case.failed(session, send, 0)
        now = self._clock.now()
        send.status, send.settled, send.updated_at = "cancelled", True, now
        await self._post(session, transaction, failure.entries)
        transaction.error = {"code": code, "message": message}
        tenant_now = await self._tenant_clock.now(session, transaction.tenant_id)
        transaction.status, transaction.sub_status = "failed", code
        await self._touch(session, transaction, at=tenant_now)
        await case.on_outcome(session)

    async def _open(
        self, session: AsyncSession, sends: Sequence[ChainSend], transactions: Mapping[str, Transaction]
    ) -> dict[str, Settling]:
        """The batch's transactions as their purposes settle them: one ``open`` per purpose."""
        members: dict[int, tuple[SettlementPurpose, dict[str, Transaction]]] = {}
        for send in sends:
            transaction = transactions.get(send.reference)
            if transaction is not None:
                purpose = self._by_send[send.purpose][0]
                members.setdefault(id(purpose), (purpose, {}))[1][transaction.id] = transaction
        cases: dict[str, Settling] = {}
        for purpose, of_purpose in members.values():
            cases.update(await purpose.open(session, list(of_purpose.values())))
        return cases

    async def _apply(
        self, session: AsyncSession, send: ChainSend, transaction: Transaction | None, case: Settling | None
    ) -> None:
        if transaction is None:
            raise LookupError(f"send {send.id} has no transaction")
        if case is None:
            raise LookupError(f"transaction {transaction.id} is not settled by '{send.purpose}' sends")
        purpose, principal = self._by_send[send.purpose]
        confirmed = send.status == "confirmed"
        if principal and confirmed:
            await self._delivered(session, transaction, case, send, purpose)
        elif principal:
            await self._failed(session, transaction, case, send)
        elif confirmed:
            await self._post(session, transaction, await case.fee_collected(session))
            await self._finish(session, transaction, case, "completed")
        else:
            failures = await repository.failed_sends(session, transaction.id, send.purpose)
            self._again(session, send, failures)
        send.settled = True

    async def _delivered(
        self,
        session: AsyncSession,
        transaction: Transaction,
        case: Settling,
        send: ChainSend,
        purpose: SettlementPurpose,
    ) -> None:
        await self._post(session, transaction, await case.delivered(session))
        transaction.tx_hash = send.tx_hash
        source = await case.fee_source(session) if transaction.fee else None
        if source is None:
            await self._finish(session, transaction, case, "completed")
            return
        # The fee moves on chain too (to the treasury), so every address's balance matches the ledger.
        transaction.sub_status = "collectingFee"
        await self._sweep_fee(session, transaction, purpose.fee, source)
        await self._touch(session, transaction, emit=False)

    async def _failed(self, session: AsyncSession, transaction: Transaction, case: Settling, send: ChainSend) -> None:
        failures = await repository.failed_sends(session, transaction.id, send.purpose)
        if case.resends(failures):
            self._again(session, send, failures)
            transaction.sub_status = "retrying"
            await self._touch(session, transaction, emit=False)
            return
        failure: Failure = await case.failed(session, send, failures)
        await self._post(session, transaction, failure.entries)
        transaction.tx_hash = send.tx_hash
        transaction.error = {"code": failure.code, "message": failure.message}
        await self._finish(session, transaction, case, "failed")

    def _again(self, session: AsyncSession, send: ChainSend, failures: int) -> None:
        """Queue a reverted send again, the same transfer, after ``resend_pause``: not at once (each attempt
        costs gas) and not in a hot loop (a send that reverts every time is a poison row)."""
        now, pause = self._clock.now(), resend_pause(failures)
        log.warning(
            "chain send reverted; sent again later",
            extra={"transaction": send.reference, "send": send.id, "purpose": send.purpose, "failures": failures,
                   "pause_seconds": pause.total_seconds()},
        )  # fmt: skip
        again = sender.new_send(
            tenant_id=send.tenant_id, purpose=send.purpose, reference=send.reference, chain=send.chain,
            asset=send.asset, from_address=send.from_address, from_key_index=send.from_key_index,
            to_address=send.to_address, amount=send.amount, to_wallet_id=send.to_wallet_id, at=now,
        )  # fmt: skip
        again.next_check_at = now + pause
        session.add(again)

    async def _sweep_fee(self, session: AsyncSession, transaction: Transaction, purpose: str, source: Source) -> None:
        _, treasury = await self._custody.system_key(session, TREASURY_KEY)
        session.add(
            sender.new_send(
                tenant_id=transaction.tenant_id, purpose=purpose, reference=transaction.id, chain=transaction.chain,
                asset=transaction.asset, from_address=source.address, from_key_index=source.key_index,
                to_address=treasury, amount=transaction.fee, to_wallet_id=None, at=self._clock.now(),
            )
        )  # fmt: skip

    async def _post(self, session: AsyncSession, transaction: Transaction, entries: Iterable[Entry]) -> None:
        for entry in entries:
            await ledger.post_entry(
                session, tenant_id=transaction.tenant_id, kind=entry.kind, reference=transaction.id,
                legs=entry.legs, at=self._clock.now(),
            )  # fmt: skip

    async def _finish(
        self, session: AsyncSession, transaction: Transaction, case: Settling, status: Literal["completed", "failed"]
    ) -> None:
        now = await self._tenant_clock.now(session, transaction.tenant_id)
        transaction.status = status
        if status == "completed":
            transaction.sub_status, transaction.completed_at = "settled", now
        else:
            transaction.sub_status = "chainTransactionFailed"
        await self._touch(session, transaction, at=now)
        await case.on_outcome(session)

    async def _touch(
        self, session: AsyncSession, transaction: Transaction, *, emit: bool = True, at: datetime | None = None
    ) -> None:
        transaction.version += 1
        transaction.updated_at = at or await self._tenant_clock.now(session, transaction.tenant_id)
        await session.flush()
        if emit:
            await self._transactions.announce(session, transaction)


def _sweep(accounts: Iterable[Accounts]) -> tuple[set[str], set[tuple[str, str, str]]]:
    """``ledger.lock_accounts``' arguments for a batch (wallet ids, system accounts): every account any of its
    transactions may post to."""
    wallet_ids: set[str] = set()
    system: set[tuple[str, str, str]] = set()
    for each in accounts:
        wallet_ids |= each.wallet_ids
        system |= each.system
    return wallet_ids, system


# --- a customer's transfer (POST /transactions) ---------------------------------------------------------


class TransferSettlement:
    """The purpose of an executed quote's transfer (``transfer``) and its fee sweep (``fee``): delivered, the
    held funds go to the destination (an OMS wallet's available account, or the chain account for an address
    outside) and the fee to the fee account; failed, the hold is released at once (never sent again: the funds
    go back to the customer, who may pay again)."""

    principal = "transfer"
    fee = "fee"

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    async def open(self, session: AsyncSession, transactions: Sequence[Transaction]) -> Mapping[str, Settling]:
        # One without a source wallet is not a transfer: its sends are set aside (the settlement's LookupError).
        return {
            transaction.id: _Transfer(transaction, transaction.source_wallet_id, self._clock)
            for transaction in transactions
            if transaction.source_wallet_id is not None
        }


class _Transfer:
    def __init__(self, transaction: Transaction, source_wallet_id: str, clock: Clock) -> None:
        self._transaction = transaction
        self._source_wallet_id = source_wallet_id
        self._currency = ledger.currency_of(transaction.asset, transaction.chain)
        self._clock = clock
        wallets = {self._source_wallet_id, *filter(None, [transaction.destination_wallet_id])}
        self.accounts = Accounts(
            wallet_ids=frozenset(wallets),
            system=frozenset((transaction.tenant_id, self._currency, kind) for kind in ("chain", "fees")),
        )

    async def delivered(self, session: AsyncSession) -> Sequence[Entry]:
        transaction = self._transaction
        if transaction.destination_wallet_id:
            target = await self._wallet_account(session, transaction.destination_wallet_id, "available")
        else:
            target = await self._system_account(session, "chain")
        return [self._move("transfer.settle", await self._held(session), target, transaction.destination_net)]

    async def fee_source(self, session: AsyncSession) -> Source | None:
        wallet = await session.get(Wallet, self._source_wallet_id)
        assert wallet is not None, "a transaction's wallet is never deleted"
        return Source(wallet.key_index, wallet.address)

    async def fee_collected(self, session: AsyncSession) -> Sequence[Entry]:
        fees = await self._system_account(session, "fees")
        return [self._move("transfer.fee", await self._held(session), fees, self._transaction.fee)]

    def resends(self, failures: int) -> bool:
        return False

    async def failed(self, session: AsyncSession, send: ChainSend, failures: int) -> Failure:
        source = await ledger.wallet_account_ids(session, self._source_wallet_id)  # held and available, one read
        release = self._move("transfer.release", source["held"], source["available"], self._transaction.source_gross)
        message = send.last_error or "The on-chain transfer failed; the funds were released."
        return Failure([release], "chain_transaction_failed", message)

    async def on_outcome(self, session: AsyncSession) -> None:
        return None

    def _move(self, kind: str, source: int, target: int, amount: int) -> Entry:
        return Entry(kind, ledger.transfer_legs(self._currency, source, target, amount))

    async def _held(self, session: AsyncSession) -> int:
        return await self._wallet_account(session, self._source_wallet_id, "held")

    async def _wallet_account(self, session: AsyncSession, wallet_id: str, kind: str) -> int:
        return (await ledger.wallet_account_ids(session, wallet_id))[kind]

    async def _system_account(self, session: AsyncSession, kind: str) -> int:
        tenant_id = self._transaction.tenant_id
        return await ledger.system_account(
            session, tenant_id=tenant_id, currency=self._currency, kind=kind, at=self._clock.now()
        )
