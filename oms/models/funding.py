"""Funding: cash-ins, virtual accounts, deposit addresses, and what links an auto-created transaction to
the one of them that created it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import MAX_REVIEW_NOTE, Base

CashInStatus = Literal["pending", "processing", "completed", "failed", "expired"]


class CashIn(Base):
    """A retail cash deposit: a one-time code, then the provider's authorisation and commit.

    pending (code issued) → processing (cash committed, USDC on its way) → completed | failed;
    pending → expired (the code lapsed before any deposit; a refresh issues a new code).
    Amounts are integers of the smallest unit: cents for USD, 10⁻⁶ for the stablecoin.
    """

    __tablename__ = "cash_ins"
    __table_args__ = (
        Index("ix_cash_ins_tenant_created", "tenant_id", "created_at", "id"),
        # The limit windows: a customer's deposits by the time they were committed.
        Index("ix_cash_ins_customer_deposited", "customer_id", "deposited_at"),
        Index("ix_cash_ins_expiry", "status", "code_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[CashInStatus] = mapped_column(String(16))
    sub_status: Mapped[str] = mapped_column(String(48))
    provider: Mapped[str] = mapped_column(String(32))
    location_id: Mapped[str] = mapped_column(String(64))
    location_reference: Mapped[str] = mapped_column(String(128))
    location_name: Mapped[str] = mapped_column(String(200))
    location_address: Mapped[str] = mapped_column(String(300))
    retailer: Mapped[str] = mapped_column(String(64))
    destination_wallet_id: Mapped[str | None] = mapped_column(ForeignKey("wallets.id"))
    destination_address: Mapped[str] = mapped_column(String(42))
    asset: Mapped[str] = mapped_column(String(16))
    chain: Mapped[str] = mapped_column(String(32))
    indicated_amount: Mapped[int] = mapped_column(BigInteger)
    # The fee schedule in force when the code was issued: {"rate": "0.015", "fixed": 50} (cents).
    fee_schedule: Mapped[dict[str, Any]] = mapped_column()
    # Set by the deposit (auth-commit): what the customer handed over, and the fee on it.
    amount: Mapped[int | None] = mapped_column(BigInteger)
    fee: Mapped[int | None] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    code_expires_at: Mapped[datetime]
    # The provider's barcode authorisation (simulated in sandbox), then its commit.
    authorization: Mapped[dict[str, Any] | None] = mapped_column()
    deposited_at: Mapped[datetime | None]
    transaction_id: Mapped[str | None] = mapped_column(ForeignKey("transactions.id"))
    source_email: Mapped[str | None] = mapped_column(String(320))
    error: Mapped[dict[str, Any] | None] = mapped_column()
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


InstrumentStatus = Literal["active", "paused", "deleted"]
# Whom a virtual account's bank details name as the holder (``ownerName``).
AccountholderName = Literal["customer", "oms", "developer"]
# A transfer into a deposit address as its tenant sees it: held, or routed by a forwarding transaction.
DepositAddressTransferStatus = Literal["held", "routed"]
# ... and as it is stored: also frozen (its sender is on the sanctions list; compliance-only, never shown to the
# tenant), then routed (released by an operator) or blocked (rejected: never forwarded).
DepositAddressDepositStatus = Literal["held", "routed", "frozen", "blocked"]


class FundingInstrument:
    """What every funding instrument (a virtual account, a deposit address) has: its customer, the wallet it
    funds, and its lifecycle (``oms/funding/instrument/lifecycle.py``): active ⇄ paused; deleted is permanent
    and the row stays readable."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[InstrumentStatus] = mapped_column(String(16))
    # What arrives is delivered as ``asset`` on ``chain`` to this wallet (or external address).
    asset: Mapped[str] = mapped_column(String(16))
    chain: Mapped[str] = mapped_column(String(32))
    destination_wallet_id: Mapped[str | None] = mapped_column(ForeignKey("wallets.id"))
    destination_address: Mapped[str] = mapped_column(String(42))
    label: Mapped[str | None] = mapped_column(String(200))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class VirtualAccount(FundingInstrument, Base):
    """US bank details that turn every ACH, wire or SWIFT deposit into stablecoin for one wallet.

    active (deposits processed) ⇄ paused (deposits refused); deleted is permanent.
    """

    __tablename__ = "virtual_accounts"
    __table_args__ = (
        Index("ix_virtual_accounts_customer_created", "customer_id", "created_at", "id"),
        UniqueConstraint("routing_number", "account_number"),
    )

    bank_name: Mapped[str] = mapped_column(String(200))
    bank_address: Mapped[str] = mapped_column(String(300))
    routing_number: Mapped[str] = mapped_column(String(9))
    account_number: Mapped[str] = mapped_column(String(17))
    account_type: Mapped[str] = mapped_column(String(16))
    swift_code: Mapped[str] = mapped_column(String(11))
    owner_name: Mapped[str] = mapped_column(String(300))
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    accountholder_name: Mapped[AccountholderName] = mapped_column(String(16))
    bank_memo: Mapped[str | None] = mapped_column(String(200))


class DepositAddress(FundingInstrument, Base):
    """A custody-derived address whose incoming tokens are forwarded to one wallet.

    active ⇄ paused (deposits held until reactivated); deleted is permanent (deposits held).
    """

    __tablename__ = "deposit_addresses"
    __table_args__ = (
        Index("ix_deposit_addresses_customer_created", "customer_id", "created_at", "id"),
        Index("ix_deposit_addresses_chain_address", "chain", "address"),
    )

    address: Mapped[str] = mapped_column(String(42))
    key_index: Mapped[int] = mapped_column(BigInteger, ForeignKey("custody_keys.index"))


class DepositAddressDeposit(Base):
    """A final token transfer into a deposit address: routed (a transaction forwards it) or held."""

    __tablename__ = "deposit_address_deposits"
    __table_args__ = (
        UniqueConstraint("chain", "tx_hash", "log_index"),
        Index("ix_deposit_address_deposits_held", "deposit_address_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    deposit_address_id: Mapped[str] = mapped_column(ForeignKey("deposit_addresses.id"))
    chain: Mapped[str] = mapped_column(String(32))
    asset: Mapped[str] = mapped_column(String(16))
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger)
    from_address: Mapped[str] = mapped_column(String(42))
    amount: Mapped[int] = mapped_column(BigInteger)
    # held (address paused or deleted, customer not allowed, or less than the fee) → routed ;
    # frozen (its sender is listed) → routed or held (released by an operator) or blocked (rejected)
    status: Mapped[DepositAddressDepositStatus] = mapped_column(String(16))
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    # Set, with ``amount`` 0, for a transfer above the maximum amount: its exact amount on chain (decimal text).
    chain_amount: Mapped[str | None] = mapped_column(String(78))
    transaction_id: Mapped[str | None] = mapped_column(ForeignKey("transactions.id"))
    # Compliance-only: why it was frozen (the list entry its sender matched), and the operator's decision.
    screening_reason: Mapped[str | None] = mapped_column(String(300))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(String(MAX_REVIEW_NOTE))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DepositAddressCursor(Base):
    """How far the deposit-address watcher has read each (chain, asset): final blocks only."""

    __tablename__ = "deposit_address_cursors"

    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    asset: Mapped[str] = mapped_column(String(16), primary_key=True)
    scanned_to: Mapped[int] = mapped_column(BigInteger)


class TransactionFunding(Base):
    """Where an auto-created transaction's money came from: a cash-in, a virtual account or a deposit
    address, on which rail, and the source-side amounts in the source's own unit (cents for USD)."""

    __tablename__ = "transaction_funding"

    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(24))  # cashIn | virtualAccount | depositAddress
    cash_in_id: Mapped[str | None] = mapped_column(ForeignKey("cash_ins.id"), unique=True)
    virtual_account_id: Mapped[str | None] = mapped_column(ForeignKey("virtual_accounts.id"), index=True)
    deposit_address_id: Mapped[str | None] = mapped_column(ForeignKey("deposit_addresses.id"), index=True)
    source_asset: Mapped[str] = mapped_column(String(16))
    source_network: Mapped[str] = mapped_column(String(32))
    rail: Mapped[str] = mapped_column(String(32))
    source_gross: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    # Rail details echoed on the transaction (trace number, IMAD, UETR, sender, inbound hash).
    details: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime]
