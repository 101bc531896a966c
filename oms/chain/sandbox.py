"""The sandbox chain: an EVM-like token chain kept in our own database.

It behaves like a node: every call runs in its own database transaction, independent of the caller's.
Transactions are signed by custody and verified here (the recovered signer must be the sender),
carry per-sender nonces, are mined into hash-linked blocks, and can fail or be reorganised away.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Collection
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak, to_checksum_address
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from oms.chain import assets
from oms.chain.port import (
    ChainError,
    FeePayer,
    NonceTooLow,
    Receipt,
    SignedTransfer,
    TokenTransfer,
    TransferIntent,
)
from oms.custody.service import Custody
from oms.db import Database
from oms.kit.money import BIGINT_MAX
from oms.kit.sql import is_postgres
from oms.kit.time import Clock
from oms.models import Base, SandboxBlock, SandboxTransaction

GENESIS_PARENT = "0x" + "00" * 32


def _hash(payload: dict[str, Any]) -> str:
    return "0x" + keccak(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hex()


class SandboxChain:
    """``ChainAdapter`` and ``DevChainControl`` for one network name (``polygon``, ``ethereum``)."""

    def __init__(self, chain: str, *, db: Database, custody: Custody, clock: Clock, confirmations: int) -> None:
        self.chain = chain
        self.confirmations = confirmations
        self.assets = frozenset(assets.ASSETS)
        self._db = db
        self._custody = custody
        self._clock = clock

    async def start(self) -> None:
        """Create the node's storage (its own SQLite file) and the genesis block on first use."""
        if self._db.is_sqlite:
            async with self._db.writer.begin() as connection:
                await connection.run_sync(
                    Base.metadata.create_all, tables=[SandboxBlock.__table__, SandboxTransaction.__table__]
                )
        async with self._db.session_scope() as session:
            await self._lock(session)
            if await self._head(session) < 0:
                await self._append_block(session, 0, GENESIS_PARENT, [], "genesis")

    # --- reads ------------------------------------------------------------------------------------------

    async def head(self) -> int:
        async with self._db.session_scope(write=False) as session:
            return await self._head(session)

    async def block_hash(self, number: int) -> str | None:
        async with self._db.session_scope(write=False) as session:
            return await session.scalar(
                select(SandboxBlock.hash).where(SandboxBlock.chain == self.chain, SandboxBlock.number == number)
            )

    async def balance_of(self, asset: str, address: str) -> int:
        async with self._db.session_scope(write=False) as session:
            return (await self._balances(session, asset, [to_checksum_address(address)])).get(
                to_checksum_address(address), 0
            )

    async def transfers(
        self, asset: str, from_block: int, to_block: int, to_addresses: Collection[str] | None = None
    ) -> list[TokenTransfer]:
        tx = SandboxTransaction
        statement = (
            select(tx, SandboxBlock.hash)
            .join(SandboxBlock, and_(SandboxBlock.chain == tx.chain, SandboxBlock.number == tx.block_number))
            .where(
                tx.chain == self.chain,
                tx.asset == asset,
                tx.status == "mined",
                tx.succeeded.is_(True),
                tx.block_number >= from_block,
                tx.block_number <= to_block,
            )
            .order_by(tx.block_number, tx.log_index)
        )
        if to_addresses is not None:
            statement = statement.where(tx.to_address.in_([to_checksum_address(a) for a in to_addresses]))
        async with self._db.session_scope(write=False) as session:
            rows = (await session.execute(statement)).all()
        return [
            TokenTransfer(
                asset=row[0].asset,
                tx_hash=row[0].hash,
                log_index=row[0].log_index or 0,
                block_number=row[0].block_number or 0,
                block_hash=row[1],
                from_address=row[0].from_address or "0x" + "00" * 20,
                to_address=row[0].to_address,
                amount=row[0].amount,
            )
            for row in rows
        ]

    async def receipt(self, tx_hash: str) -> Receipt | None:
        async with self._db.session_scope(write=False) as session:
            row = (
                await session.execute(
                    select(SandboxTransaction, SandboxBlock.hash)
                    .join(
                        SandboxBlock,
                        and_(
                            SandboxBlock.chain == SandboxTransaction.chain,
                            SandboxBlock.number == SandboxTransaction.block_number,
                        ),
                    )
                    .where(SandboxTransaction.hash == tx_hash, SandboxTransaction.status == "mined")
                )
            ).first()
        if row is None:
            return None
        return Receipt(
            tx_hash=tx_hash, block_number=row[0].block_number or 0, block_hash=row[1], succeeded=bool(row[0].succeeded)
        )

    async def pending_nonce(self, address: str) -> int:
        async with self._db.session_scope(write=False) as session:
            return await self._next_nonce(session, to_checksum_address(address), include_pending=True)

    # --- sending ----------------------------------------------------------------------------------------

    def fee_payer(self, intent: TransferIntent) -> FeePayer:
        # No gas on the sandbox chain: the sender's own nonce sequence orders its transfers.
        return FeePayer(intent.from_address, intent.from_key_index)

    async def sign_transfer(self, intent: TransferIntent, nonce: int, *, fee_bump: int = 0) -> SignedTransfer:
        payload: dict[str, Any] = {
            "chain": self.chain,
            "asset": intent.asset,
            "from": to_checksum_address(intent.from_address),
            "to": to_checksum_address(intent.to_address),
            "amount": intent.amount,
            "nonce": nonce,
            "attempt": fee_bump,
            "reference": intent.reference,
        }
        tx_hash = _hash(payload)
        signature = self._custody.sign_digest(intent.from_key_index, bytes.fromhex(tx_hash[2:]))
        raw = json.dumps({**payload, "signature": "0x" + signature.hex()}, sort_keys=True).encode()
        return SignedTransfer(tx_hash=tx_hash, raw=raw, nonce=nonce, fee_payer=payload["from"])

    async def broadcast(self, signed: SignedTransfer) -> None:
        body = json.loads(signed.raw)
        signature = bytes.fromhex(body.pop("signature")[2:])
        tx_hash = _hash(body)
        if tx_hash != signed.tx_hash or body["chain"] != self.chain:
            raise ChainError("transaction does not match its hash or chain")
        signer = Account.recover_message(encode_defunct(primitive=bytes.fromhex(tx_hash[2:])), signature=signature)
        if signer != body["from"]:
            raise ChainError("transaction is not signed by its sender")
        async with self._db.session_scope() as session:
            await self._lock(session)
            known = await session.get(SandboxTransaction, tx_hash)
            if known is not None:
                if known.status == "dropped":  # re-broadcast after a reorganisation: back to the mempool
                    known.status, known.block_number, known.log_index = "pending", None, None
                return
            rivals = list(
                (
                    await session.execute(
                        select(SandboxTransaction).where(
                            SandboxTransaction.chain == self.chain,
                            SandboxTransaction.from_address == body["from"],
                            SandboxTransaction.nonce == body["nonce"],
                            SandboxTransaction.status != "dropped",
                        )
                    )
                ).scalars()
            )
            if any(rival.status == "mined" for rival in rivals):
                raise NonceTooLow(f"nonce {body['nonce']} of {body['from']} is already used")
            for rival in rivals:  # a pending transaction at the same nonce is replaced
                rival.status = "dropped"
            session.add(
                SandboxTransaction(
                    hash=tx_hash,
                    chain=self.chain,
                    asset=body["asset"],
                    from_address=body["from"],
                    to_address=body["to"],
                    amount=int(body["amount"]),
                    nonce=int(body["nonce"]),
                    status="pending",
                    succeeded=None,
                    fail_on_mine=False,
                    submitted_at=self._clock.now(),
                )
            )

    # --- development controls ---------------------------------------------------------------------------

    async def mint(self, asset: str, to_address: str, amount: int) -> str:
        if amount <= 0:
            raise ChainError("mint amount must be positive")
        if amount > BIGINT_MAX:  # a real token's uint256 goes further: the EVM adapter delivers those (anvil)
            raise ChainError("the sandbox chain holds amounts below 2^63 smallest units")
        now = self._clock.now()
        to_address = to_checksum_address(to_address)
        # Every mint is a new transaction, even an identical one in the same millisecond.
        tx_hash = _hash({"chain": self.chain, "asset": asset, "mint": to_address, "amount": amount,
                         "salt": secrets.token_hex(16)})  # fmt: skip
        async with self._db.session_scope() as session:
            session.add(
                SandboxTransaction(
                    hash=tx_hash,
                    chain=self.chain,
                    asset=asset,
                    from_address=None,
                    to_address=to_address,
                    amount=amount,
                    nonce=None,
                    status="pending",
                    succeeded=None,
                    fail_on_mine=False,
                    submitted_at=now,
                )
            )
        return tx_hash

    async def fail_when_mined(self, tx_hash: str) -> None:
        """Make a pending transaction revert when it is mined (tests: a chain failure)."""
        async with self._db.session_scope() as session:
            result = await session.execute(
                update(SandboxTransaction)
                .where(SandboxTransaction.hash == tx_hash, SandboxTransaction.status == "pending")
                .values(fail_on_mine=True)
            )
            if not result.rowcount:  # type: ignore[attr-defined]  # a DML's Result is a CursorResult, typed as Result
                raise ChainError(f"no pending transaction {tx_hash}")

    async def mine(self, blocks: int = 1) -> int:
        async with self._db.session_scope() as session:
            await self._lock(session)
            for _ in range(blocks):
                await self._mine_one(session, include_pending=True)
            return await self._head(session)

    async def reorg(self, depth: int) -> None:
        async with self._db.session_scope() as session:
            await self._lock(session)
            head = await self._head(session)
            if depth < 1 or depth > head:
                raise ChainError(f"cannot reorganise {depth} blocks of a chain at height {head}")
            first = head - depth + 1
            await session.execute(
                update(SandboxTransaction)
                .where(SandboxTransaction.chain == self.chain, SandboxTransaction.block_number >= first)
                .values(status="dropped", block_number=None, log_index=None, succeeded=None)
            )
            await session.execute(
                delete(SandboxBlock).where(SandboxBlock.chain == self.chain, SandboxBlock.number >= first)
            )
            for _ in range(depth):
                await self._mine_one(session, include_pending=False, salt="reorg")

    # --- internals --------------------------------------------------------------------------------------

    async def _lock(self, session: AsyncSession) -> None:
        """Serialise writers of this chain (SQLite write transactions already are)."""
        if is_postgres(session):
            await session.execute(
                select(
                    func.pg_advisory_xact_lock(
                        int.from_bytes(keccak(f"sandbox:{self.chain}".encode())[:8], "big", signed=True)
                    )
                )
            )

    async def _head(self, session: AsyncSession) -> int:
        return int(
            (
                await session.execute(
                    select(func.coalesce(func.max(SandboxBlock.number), -1)).where(SandboxBlock.chain == self.chain)
                )
            ).scalar_one()
        )

    async def _mine_one(self, session: AsyncSession, *, include_pending: bool, salt: str = "") -> None:
        head = await self._head(session)
        if head < 0:
            await self._append_block(session, 0, GENESIS_PARENT, [], salt)
            head = 0
        parent = await session.scalar(
            select(SandboxBlock.hash).where(SandboxBlock.chain == self.chain, SandboxBlock.number == head)
        )
        number = head + 1
        included = await self._include_pending(session, number) if include_pending else []
        await self._append_block(session, number, str(parent), included, salt)

    async def _include_pending(self, session: AsyncSession, number: int) -> list[str]:
        pending = list(
            (
                await session.execute(
                    select(SandboxTransaction)
                    .where(SandboxTransaction.chain == self.chain, SandboxTransaction.status == "pending")
                    .order_by(SandboxTransaction.submitted_at, SandboxTransaction.nonce, SandboxTransaction.hash)
                )
            ).scalars()
        )
        senders = {tx.from_address for tx in pending if tx.from_address}
        next_nonce = {sender: await self._next_nonce(session, sender, include_pending=False) for sender in senders}
        balances: dict[tuple[str, str], int] = {}
        for asset in {tx.asset for tx in pending}:
            for address, amount in (await self._balances(session, asset, list(senders))).items():
                balances[(asset, address)] = amount
        included: list[str] = []
        waiting = sorted(pending, key=lambda t: (t.submitted_at, t.nonce or 0, t.hash))
        progress = True
        while waiting and progress:  # in submission order; a sender's transactions only in nonce order
            progress, deferred = False, []
            for tx in waiting:
                if tx.from_address is not None and tx.nonce != next_nonce[tx.from_address]:
                    deferred.append(tx)  # a gap: waits for the missing nonce, as a node's mempool does
                    continue
                self._execute(tx, balances, next_nonce)
                tx.status, tx.block_number, tx.log_index = "mined", number, len(included)
                included.append(tx.hash)
                progress = True
            waiting = deferred
        return included

    @staticmethod
    def _execute(tx: SandboxTransaction, balances: dict[tuple[str, str], int], next_nonce: dict[str, int]) -> None:
        """Apply one transfer to the block's running balances (a mint always succeeds)."""
        recipient = (tx.asset, tx.to_address)
        if tx.from_address is None:
            tx.succeeded = True
        else:
            next_nonce[tx.from_address] += 1
            sender = (tx.asset, tx.from_address)
            tx.succeeded = not tx.fail_on_mine and balances.get(sender, 0) >= tx.amount
            if tx.succeeded:
                balances[sender] = balances.get(sender, 0) - tx.amount
        if tx.succeeded:
            balances[recipient] = balances.get(recipient, 0) + tx.amount

    async def _append_block(
        self, session: AsyncSession, number: int, parent: str, included: list[str], salt: str
    ) -> None:
        now = self._clock.now()
        block_hash = _hash(
            {
                "chain": self.chain,
                "number": number,
                "parent": parent,
                "txs": included,
                "time": now.isoformat(),
                "salt": salt,
            }
        )
        session.add(SandboxBlock(chain=self.chain, number=number, hash=block_hash, parent_hash=parent, timestamp=now))
        await session.flush()

    async def _next_nonce(self, session: AsyncSession, address: str, *, include_pending: bool) -> int:
        states = ("mined", "pending") if include_pending else ("mined",)
        highest = await session.scalar(
            select(func.max(SandboxTransaction.nonce)).where(
                SandboxTransaction.chain == self.chain,
                SandboxTransaction.from_address == address,
                SandboxTransaction.status.in_(states),
            )
        )
        return 0 if highest is None else int(highest) + 1

    async def _balances(self, session: AsyncSession, asset: str, addresses: list[str]) -> dict[str, int]:
        if not addresses:
            return {}
        tx = SandboxTransaction
        settled = and_(tx.chain == self.chain, tx.asset == asset, tx.status == "mined", tx.succeeded.is_(True))
        totals: dict[str, int] = defaultdict(int)
        for side, sign in ((tx.to_address, 1), (tx.from_address, -1)):
            for address, amount in await session.execute(self._sums(session, side, settled, addresses)):
                totals[address] += sign * int(amount)
        return dict(totals)

    @staticmethod
    def _sums(session: AsyncSession, side: Any, settled: Any, addresses: list[str]) -> Any:
        """Per address, the sum of its transfers on one side. A chain's balances may pass 2^63 (a test can mint
        that much twice): PostgreSQL sums bigints as numeric; SQLite's integer sum would fail, so there each
        transfer's amount is read and they are added up in Python."""
        tx = SandboxTransaction
        if is_postgres(session):
            return select(side, func.sum(tx.amount)).where(settled, side.in_(addresses)).group_by(side)
        return select(side, tx.amount).where(settled, side.in_(addresses))
