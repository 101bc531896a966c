"""Deposits: tokens arriving at a wallet's address, credited exactly once when final.

Each pass re-reads the last ``confirmations`` blocks as well as the new ones, so a transfer that moved
to another block in a reorganisation is followed. A deposit is ``pending`` (money in flight, shown in
the balance's ``pending``) until its block has the required confirmations *and* is still canonical;
then it is ``credited`` in the same database transaction as its ledger entry. A deposit whose transfer
is no longer on the chain is ``orphaned`` and its pending amount reversed; it is never credited.

A deposit the ledger cannot take — above the maximum amount (a chain delivers any uint256), or one whose
entry fails — is ``flagged``: recorded with its exact amount on chain, logged, announced by a
``wallet.depositFlagged`` event and reported by ``oms reconcile``, never credited, and never in the way of
the deposits after it (each deposit's work runs in its own savepoint: ``oms.kit.isolation``).

Every deposit's sender is screened (``oms.screening``) when it becomes final. A sender on the sanctions list
makes it ``frozen`` instead of ``credited``: its amount goes to the wallet's ``frozen`` account, not to
``available``, and a compliance-only ``wallet.depositFrozen`` event says why. The tenant sees it as pending, as
before (no tipping off). An operator releases it (``credited``: frozen → available) or rejects it (``blocked``:
it stays frozen for good, as blocked property must) through the admin API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from oms.chain.port import ChainAdapter, ChainUnavailable, TokenTransfer
from oms.chain.registry import Chains
from oms.db import Database
from oms.deposit import repository
from oms.deposit.schemas import Deposit, FrozenDeposit, ScreenedDeposit
from oms.errors import Conflict, NotFound
from oms.event import service as events
from oms.kit.ids import is_valid_id, new_id
from oms.kit.isolation import RowFailed, isolated
from oms.kit.money import ASSETS, format_amount
from oms.kit.pagination import Listed, PageParams, paginate
from oms.kit.time import Clock, isoformat
from oms.ledger import service as ledger
from oms.models import MAX_REVIEW_NOTE, ChainDeposit, DepositStatus, Wallet
from oms.screening.ofac import normalise
from oms.screening.port import Screener
from oms.wallet.service import render as render_wallet

log = logging.getLogger(__name__)
MAX_BLOCKS_PER_PASS = 2_000


class DepositScanner:
    def __init__(self, *, db: Database, chains: Chains, clock: Clock, screener: Screener) -> None:
        self._db = db
        self._chains = chains
        self._clock = clock
        self._screener = screener

    async def run_once(self) -> int:
        done = 0
        for adapter in self._chains.all():
            for asset in sorted(adapter.assets):
                try:
                    done += await self.scan(adapter, asset)
                except ChainUnavailable as exc:
                    log.warning(
                        "deposit scan skipped: chain unavailable", extra={"chain": adapter.chain, "error": str(exc)}
                    )
                except LookupError:
                    continue
        return done

    async def scan(self, adapter: ChainAdapter, asset: str) -> int:
        head = await adapter.head()
        async with self._db.session_scope() as session:
            position = await repository.cursor(session, adapter.chain, asset, start=0)
            start = max(0, position.scanned_to - adapter.confirmations + 1)
            end = min(head, start + MAX_BLOCKS_PER_PASS)
            transfers = await adapter.transfers(asset, start, end) if end >= start else []
            wallets = await repository.wallets_at(session, adapter.chain, asset, {t.to_address for t in transfers})
            await self._lock_accounts(session, adapter.chain, asset, wallets.values())
            changed = await self._record(session, adapter.chain, transfers, wallets)
            position.scanned_to = max(position.scanned_to, end)
            changed += await self._settle_pending(session, adapter, asset, head)
            return changed

    async def _lock_accounts(self, session: AsyncSession, chain: str, asset: str, wallets: Iterable[Wallet]) -> None:
        """Every account the pass may post to, in one sweep before its first entry (docs/decisions.md, "Lock
        order"): the wallets receiving these transfers, those with a pending deposit, and their tenants'
        chain accounts."""
        pending = await repository.pending_wallets(session, chain, asset)
        found = {(wallet.id, wallet.tenant_id) for wallet in wallets} | pending
        currency = ledger.currency_of(asset, chain)
        system = {(tenant_id, currency, "chain") for _, tenant_id in found}
        await ledger.lock_accounts(
            session, wallet_ids={wallet_id for wallet_id, _ in found}, system=system, at=self._clock.now()
        )

    async def _record(
        self, session: AsyncSession, chain: str, transfers: list[TokenTransfer], wallets: dict[str, Wallet]
    ) -> int:
        ours = [t for t in transfers if t.to_address in wallets]
        internal = await repository.settled_by_transfer(session, {t.tx_hash for t in ours})
        known = await repository.known(session, chain, {t.tx_hash for t in ours})
        recorded = 0
        for transfer in ours:
            if transfer.tx_hash in internal:
                continue
            deposit = known.get((transfer.tx_hash, transfer.log_index))
            wallet = wallets[transfer.to_address]
            if deposit is None:
                await self._detect_or_flag(session, wallet, transfer)
                recorded += 1
            elif deposit.status in ("pending", "orphaned") and deposit.block_hash != transfer.block_hash:
                was_orphaned = deposit.status == "orphaned"
                deposit.block_number, deposit.block_hash = transfer.block_number, transfer.block_hash
                deposit.status, deposit.updated_at = "pending", self._clock.now()
                if was_orphaned:
                    await self._post(session, wallet, deposit, "deposit.detected", ("chain", "pending"))
                recorded += 1
        return recorded

    async def _detect_or_flag(self, session: AsyncSession, wallet: Wallet, transfer: TokenTransfer) -> None:
        if transfer.amount > ASSETS[wallet.asset].max_amount:
            await self._flag_new(session, wallet, transfer, "above the maximum amount")
            return
        try:
            await isolated(session, "deposit-scanner", f"{transfer.tx_hash}:{transfer.log_index}",
                           partial(self._detect, session, wallet, transfer))  # fmt: skip
        except RowFailed as failed:
            await self._flag_new(session, wallet, transfer, f"not recorded: {failed}")

    def _new_deposit(self, wallet: Wallet, transfer: TokenTransfer, *, amount: int) -> ChainDeposit:
        now = self._clock.now()
        return ChainDeposit(
            id=new_id("dep"),
            tenant_id=wallet.tenant_id,
            wallet_id=wallet.id,
            chain=wallet.chain,
            asset=wallet.asset,
            tx_hash=transfer.tx_hash,
            log_index=transfer.log_index,
            block_number=transfer.block_number,
            block_hash=transfer.block_hash,
            from_address=transfer.from_address,
            amount=amount,
            status="pending",
            created_at=now,
            updated_at=now,
        )

    async def _flag_new(self, session: AsyncSession, wallet: Wallet, transfer: TokenTransfer, reason: str) -> None:
        """Record a deposit the ledger cannot take, outside the ledger (its ``amount`` there is 0)."""
        deposit = self._new_deposit(wallet, transfer, amount=0)
        session.add(deposit)
        await self._mark_flagged(session, wallet, deposit, transfer.amount, reason)

    async def _mark_flagged(
        self, session: AsyncSession, wallet: Wallet, deposit: ChainDeposit, on_chain: int, reason: str
    ) -> None:
        deposit.status, deposit.chain_amount, deposit.flag_reason = "flagged", str(on_chain), reason[:200]
        deposit.updated_at = self._clock.now()
        await session.flush()
        log.warning(
            "deposit flagged: the ledger cannot take it; not credited",
            extra={"deposit": deposit.id, "wallet": wallet.id, "chain": deposit.chain, "reason": deposit.flag_reason},
        )
        await events.record(
            session,
            tenant_id=wallet.tenant_id,
            type="wallet.depositFlagged",
            object_id=deposit.id,
            resource=_deposit_resource(wallet, deposit),
            at=deposit.updated_at,
        )

    async def _detect(self, session: AsyncSession, wallet: Wallet, transfer: TokenTransfer) -> None:
        deposit = self._new_deposit(wallet, transfer, amount=transfer.amount)
        session.add(deposit)
        await session.flush()
        await self._post(session, wallet, deposit, "deposit.detected", ("chain", "pending"))
        await events.record(
            session,
            tenant_id=wallet.tenant_id,
            type="wallet.depositDetected",
            object_id=deposit.id,
            resource=_deposit_resource(wallet, deposit),
            at=deposit.created_at,
            sequence=1,
        )

    async def _settle_pending(self, session: AsyncSession, adapter: ChainAdapter, asset: str, head: int) -> int:
        settled = 0
        canonical: dict[int, str | None] = {}  # block hashes asked once per pass
        final = [
            deposit
            for deposit in await repository.pending(session, adapter.chain, asset)
            if head - deposit.block_number + 1 >= adapter.confirmations
        ]
        # Every final deposit's sender, screened in one call: a listed sender's deposit is frozen, not credited.
        listed = {
            hit.address: hit
            for hit in await self._screener.screen(session, adapter.chain, {d.from_address for d in final})
        }
        for deposit in final:
            wallet = await session.get(Wallet, deposit.wallet_id)
            assert wallet is not None
            if deposit.block_number not in canonical:
                canonical[deposit.block_number] = await adapter.block_hash(deposit.block_number)
            route: tuple[DepositStatus, str, str]
            hit = listed.get(normalise(deposit.from_address))
            if canonical[deposit.block_number] == deposit.block_hash and hit is not None:
                deposit.screening_reason = hit.describe()[:300]
                route = ("frozen", "pending", "frozen")
            elif canonical[deposit.block_number] == deposit.block_hash:
                route = ("credited", "pending", "available")
            elif not await self._still_on_chain(adapter, deposit, wallet.address, head):
                route = ("orphaned", "pending", "chain")
            else:
                continue  # moved to another block; the next pass records where
            try:
                await isolated(session, "deposit-scanner", deposit.id,
                               partial(self._settle_one, session, wallet, deposit, route))  # fmt: skip
            except RowFailed as failed:
                await self._flag_pending(session, wallet, deposit, f"not {route[0]}: {failed}")
            settled += 1
        return settled

    async def _settle_one(
        self, session: AsyncSession, wallet: Wallet, deposit: ChainDeposit, route: tuple[DepositStatus, str, str]
    ) -> None:
        status, source, target = route
        deposit.status, deposit.updated_at = status, self._clock.now()
        if status == "frozen":
            await ledger.open_frozen_account(
                session, tenant_id=wallet.tenant_id, wallet_id=wallet.id,
                currency=ledger.currency_of(wallet.asset, wallet.chain), at=deposit.updated_at,
            )  # fmt: skip
        await self._post(session, wallet, deposit, f"deposit.{status}", (source, target))
        if status == "frozen":
            log.warning("deposit frozen: its sender is on the sanctions list", extra={"deposit": deposit.id})
            await _compliance_event(session, wallet, deposit, "wallet.depositFrozen")

    async def _flag_pending(self, session: AsyncSession, wallet: Wallet, deposit: ChainDeposit, reason: str) -> None:
        """A pending deposit whose settlement failed: its pending amount goes back to the chain account (a
        reversal: it only lowers balances) and it is flagged, so that it is not retried on every pass."""
        await session.refresh(deposit)  # its changes in the failed savepoint were rolled back
        try:
            reverse = partial(self._post, session, wallet, deposit, "deposit.flagged", ("pending", "chain"))
            await isolated(session, "deposit-scanner", deposit.id, reverse)
        except RowFailed as failed:
            reason = f"{reason}; pending amount not reversed: {failed}"
        await self._mark_flagged(session, wallet, deposit, deposit.amount, reason)

    async def _still_on_chain(self, adapter: ChainAdapter, deposit: ChainDeposit, address: str, head: int) -> bool:
        found = await adapter.transfers(
            deposit.asset, max(0, deposit.block_number - adapter.confirmations), head, [address]
        )
        return any(t.tx_hash == deposit.tx_hash and t.log_index == deposit.log_index for t in found)

    async def _post(
        self, session: AsyncSession, wallet: Wallet, deposit: ChainDeposit, kind: str, route: tuple[str, str]
    ) -> None:
        """Move the deposit's amount from one account to another: chain, the wallet's pending or available."""
        currency = ledger.currency_of(wallet.asset, wallet.chain)
        now = self._clock.now()
        accounts = await ledger.wallet_account_ids(session, wallet.id)
        chain_account = await ledger.system_account(
            session, tenant_id=wallet.tenant_id, currency=currency, kind="chain", at=now
        )
        resolve = {"chain": chain_account, **accounts}
        await ledger.move(
            session, tenant_id=wallet.tenant_id, kind=kind, reference=deposit.id, currency=currency,
            source=resolve[route[0]], target=resolve[route[1]], amount=deposit.amount, at=now,
        )  # fmt: skip


def _deposit_resource(wallet: Wallet, deposit: ChainDeposit) -> Deposit:
    decimals = ASSETS[wallet.asset].decimals
    return {
        "id": deposit.id,
        "object": "deposit",
        "walletId": wallet.id,
        "customerId": wallet.customer_id,
        "wallet": render_wallet(wallet),
        "asset": deposit.asset,
        "network": deposit.chain,
        "amount": format_amount(int(deposit.chain_amount or deposit.amount), decimals),
        "fromAddress": deposit.from_address,
        "txHash": deposit.tx_hash,
        "blockNumber": deposit.block_number,
        "status": deposit.status,
        "createdAt": isoformat(deposit.created_at),
    }


async def _compliance_event(session: AsyncSession, wallet: Wallet, deposit: ChainDeposit, type: str) -> None:
    """A compliance-only event of a frozen deposit: the deposit with its status and why it was frozen
    (delivered only to complianceOnly endpoints, never listed by GET /events: oms.event.compliance)."""
    resource: FrozenDeposit = {
        **_deposit_resource(wallet, deposit),
        "screeningReason": deposit.screening_reason or "",
        "reviewedBy": deposit.reviewed_by,
        "reviewNote": deposit.review_note,
    }
    await events.record(
        session, tenant_id=wallet.tenant_id, type=type, object_id=deposit.id, resource=resource,
        at=deposit.updated_at,
    )  # fmt: skip


# --- operator review (``oms deposits``) -------------------------------------------------------------------


async def dismiss_flagged(session: AsyncSession, deposit_id: str, *, reason: str, now: datetime) -> ChainDeposit:
    """An operator reviewed a flagged deposit: it is kept (status ``dismissed``, with when and why) and stays
    outside the ledger — nothing is posted, so no limit can be passed — and reconciliation counts its tokens
    as known instead of reporting them. ``LookupError`` if there is no such flagged deposit."""
    deposit = await repository.get_for_update(session, deposit_id)
    if deposit is None or deposit.status != "flagged":
        state = "no deposit" if deposit is None else f"deposit is {deposit.status}, not flagged"
        raise LookupError(f"{deposit_id}: {state}")
    deposit.status, deposit.reviewed_at, deposit.review_note = "dismissed", now, reason[:MAX_REVIEW_NOTE]
    deposit.updated_at = now
    await session.flush()
    log.warning("flagged deposit dismissed by an operator", extra={"deposit": deposit.id, "wallet": deposit.wallet_id})
    return deposit


# --- frozen deposits: an operator's decision (the admin API) ----------------------------------------------


class FrozenDeposits:
    """Deposits frozen by a screening hit, and an operator's decision on each."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    async def page(
        self, session: AsyncSession, page: PageParams, *, status: DepositStatus | None, tenant_id: str | None
    ) -> Listed[ScreenedDeposit]:
        """Deposits frozen by a screening hit (then credited or blocked), newest first, a page at a time."""
        statement = repository.screened_statement(status=status, tenant_id=tenant_id)
        scope = ChainDeposit.screening_reason.is_not(None)
        found = await paginate(session, statement, ChainDeposit, page, scope=scope)
        return found.listed([render_screened(d) for d in found.items])

    async def get(self, session: AsyncSession, deposit_id: str) -> ChainDeposit:
        deposit = await repository.get(session, deposit_id)
        if deposit is None or deposit.screening_reason is None:
            raise NotFound.resource("deposit", deposit_id)
        return deposit

    async def decide(
        self, session: AsyncSession, deposit_id: str, *, release: bool, operator_id: str, reason: str
    ) -> ChainDeposit:
        """An operator's decision on a frozen deposit, once: released (``credited``, its amount frozen →
        available) or rejected (``blocked``, it stays frozen). The row is locked, so two decisions at once cannot
        both apply."""
        deposit = await repository.get_for_update(session, deposit_id) if is_valid_id(deposit_id, "dep") else None
        if deposit is None or deposit.screening_reason is None:
            raise NotFound.resource("deposit", deposit_id)
        if deposit.status != "frozen":
            raise Conflict("deposit_not_frozen", f"This deposit was already decided: it is {deposit.status}.")
        wallet = await session.get(Wallet, deposit.wallet_id)
        assert wallet is not None
        now = self._clock.now()
        deposit.status = "credited" if release else "blocked"
        deposit.reviewed_at = deposit.updated_at = now
        deposit.reviewed_by, deposit.review_note = operator_id, reason[:MAX_REVIEW_NOTE]
        if release:
            currency = ledger.currency_of(wallet.asset, wallet.chain)
            accounts = await ledger.wallet_account_ids(session, wallet.id)
            await ledger.move(
                session, tenant_id=wallet.tenant_id, kind="deposit.released", reference=deposit.id,
                currency=currency, source=accounts[ledger.FROZEN], target=accounts["available"],
                amount=deposit.amount, at=now,
            )  # fmt: skip
        await session.flush()
        outcome = "wallet.depositReleased" if release else "wallet.depositBlocked"
        await _compliance_event(session, wallet, deposit, outcome)
        return deposit


def render_screened(deposit: ChainDeposit) -> ScreenedDeposit:
    """A frozen deposit as the admin API shows it (compliance data: operators only)."""
    decimals = ASSETS[deposit.asset].decimals
    return {
        "id": deposit.id,
        "object": "screenedDeposit",
        "tenantId": deposit.tenant_id,
        "walletId": deposit.wallet_id,
        "network": deposit.chain,
        "asset": deposit.asset,
        "amount": format_amount(deposit.amount, decimals),
        "fromAddress": deposit.from_address,
        "txHash": deposit.tx_hash,
        "status": deposit.status,
        "screeningReason": deposit.screening_reason,
        "reviewedBy": deposit.reviewed_by,
        "reviewNote": deposit.review_note,
        "reviewedAt": isoformat(deposit.reviewed_at) if deposit.reviewed_at else None,
        "createdAt": isoformat(deposit.created_at),
    }
