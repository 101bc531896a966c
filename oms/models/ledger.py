from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base, BigIntKey


class LedgerAccount(Base):
    """An account of the double-entry ledger, in one currency (asset on a chain, e.g. ``usdc:polygon``).

    ``balance`` is a cache of the sum of the account's postings, written only by ``post_entry`` in the
    same transaction as the postings; the invariant check recomputes it.
    """

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("allow_negative OR balance >= 0", name="non_negative"),
        # Target of the postings' (account, currency) key: a leg can only be in its account's currency. Named
        # as migration 0001 created it (the convention alone would say uq_ledger_accounts_id_currency).
        UniqueConstraint("id", "currency", name="uq_ledger_accounts_id"),
        Index(
            "uq_ledger_accounts_wallet_kind",
            "wallet_id",
            "kind",
            unique=True,
            postgresql_where=text("wallet_id IS NOT NULL"),
            sqlite_where=text("wallet_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_accounts_system",
            "tenant_id",
            "currency",
            "kind",
            unique=True,
            postgresql_where=text("wallet_id IS NULL"),
            sqlite_where=text("wallet_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    currency: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(32))
    wallet_id: Mapped[str | None] = mapped_column(ForeignKey("wallets.id"))
    allow_negative: Mapped[bool]
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]


class LedgerEntry(Base):
    """One balanced journal entry: its postings sum to zero per currency."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_reference", "reference"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(48))
    reference: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]


class LedgerPosting(Base):
    """An immutable leg: ``amount`` (signed minor units) is added to the account's balance."""

    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="non_zero"),
        ForeignKeyConstraint(["account_id", "currency"], ["ledger_accounts.id", "ledger_accounts.currency"]),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger, index=True)
    currency: Mapped[str] = mapped_column(String(48))
    amount: Mapped[int] = mapped_column(BigInteger)
