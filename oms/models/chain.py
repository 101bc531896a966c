from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import MAX_REVIEW_NOTE, Base


class SandboxBlock(Base):
    """A canonical block of the embedded sandbox chain."""

    __tablename__ = "sandbox_blocks"

    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(66), unique=True)
    parent_hash: Mapped[str] = mapped_column(String(66))
    timestamp: Mapped[datetime]


class SandboxTransaction(Base):
    """A token transfer submitted to the sandbox chain (a mint has no sender)."""

    __tablename__ = "sandbox_transactions"
    __table_args__ = (
        Index("ix_sandbox_transactions_block", "chain", "block_number"),
        Index("ix_sandbox_transactions_pending", "chain", "status"),
        Index("ix_sandbox_transactions_sender", "chain", "from_address", "nonce"),
    )

    hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    chain: Mapped[str] = mapped_column(String(32))
    asset: Mapped[str] = mapped_column(String(16))
    from_address: Mapped[str | None] = mapped_column(String(42))
    to_address: Mapped[str] = mapped_column(String(42))
    amount: Mapped[int] = mapped_column(BigInteger)
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    # pending → mined (succeeded or not) ; dropped when a reorganisation removes its block
    status: Mapped[str] = mapped_column(String(16))
    succeeded: Mapped[bool | None] = mapped_column(Boolean)
    fail_on_mine: Mapped[bool] = mapped_column(Boolean, default=False)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    log_index: Mapped[int | None] = mapped_column(Integer)
    submitted_at: Mapped[datetime]


class ChainCursor(Base):
    """How far the deposit scanner has read each (chain, asset)."""

    __tablename__ = "chain_cursors"

    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    asset: Mapped[str] = mapped_column(String(16), primary_key=True)
    scanned_to: Mapped[int] = mapped_column(BigInteger)


DepositStatus = Literal["pending", "credited", "orphaned", "flagged", "dismissed", "frozen", "blocked"]


class ChainDeposit(Base):
    """A token transfer into a wallet's address, credited once it is final."""

    __tablename__ = "chain_deposits"
    __table_args__ = (
        UniqueConstraint("chain", "tx_hash", "log_index"),
        Index("ix_chain_deposits_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"), index=True)
    chain: Mapped[str] = mapped_column(String(32))
    asset: Mapped[str] = mapped_column(String(16))
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    from_address: Mapped[str] = mapped_column(String(42))
    # What the ledger holds for it: 0 for a deposit flagged before it was recorded in the ledger.
    amount: Mapped[int] = mapped_column(BigInteger)
    # pending (seen, not final) → credited ; orphaned when its block leaves the chain first ;
    # flagged when the ledger cannot take it (above the maximum amount, or it failed to post): never credited ;
    # flagged → dismissed once an operator reviewed it (``oms deposits dismiss``): it stays outside the ledger ;
    # frozen instead of credited when its sender is on the sanctions list (in the wallet's ``frozen`` account),
    # then credited (released by an operator) or blocked (rejected: it stays frozen for good).
    status: Mapped[DepositStatus] = mapped_column(String(16))
    # A flagged deposit's exact amount on chain (decimal text of smallest units: a chain delivers any uint256).
    chain_amount: Mapped[str | None] = mapped_column(String(78))
    flag_reason: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(String(MAX_REVIEW_NOTE))
    # Compliance-only: why it was frozen (the list entry its sender matched), and the operator who decided.
    screening_reason: Mapped[str | None] = mapped_column(String(300))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChainNonce(Base):
    """The next nonce OMS will use for an address it sends from (survives restarts and concurrency)."""

    __tablename__ = "chain_nonces"

    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    next_nonce: Mapped[int] = mapped_column(BigInteger)


class ChainSend(Base):
    """An on-chain transfer OMS must make exactly once.

    queued → signed (nonce taken, signed bytes stored) → broadcast → confirmed | failed.
    """

    __tablename__ = "chain_sends"
    __table_args__ = (Index("ix_chain_sends_status", "status", "next_check_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    purpose: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64), index=True)
    chain: Mapped[str] = mapped_column(String(32))
    asset: Mapped[str] = mapped_column(String(16))
    from_address: Mapped[str] = mapped_column(String(42))
    from_key_index: Mapped[int] = mapped_column(BigInteger)
    to_address: Mapped[str] = mapped_column(String(42))
    # Set when the recipient is an OMS wallet credited by settlement (not by the deposit scanner).
    to_wallet_id: Mapped[str | None] = mapped_column(ForeignKey("wallets.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    fee_payer: Mapped[str | None] = mapped_column(String(42))
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_check_at: Mapped[datetime]
    broadcast_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChainSendAttempt(Base):
    """One signed transaction for a send, persisted before it is broadcast; replacements add attempts."""

    __tablename__ = "chain_send_attempts"

    tx_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    send_id: Mapped[str] = mapped_column(ForeignKey("chain_sends.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    nonce: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
