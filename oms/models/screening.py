from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from oms.models.base import Base


class ScreeningList(Base):
    """One import of a sanctions list (``oms screening import``): where it came from and when it was published.
    Exactly one is ``active``: the set of addresses every screening reads. A newer import replaces it."""

    __tablename__ = "screening_lists"
    __table_args__ = (
        Index(
            "uq_screening_lists_active",
            "active",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # What the file is: "OFAC SDN list (SDN_ADVANCED.XML)" or "OFAC SDN list (SDN.XML)".
    source: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # The list's own date of publication (DateOfIssue, or publshInformation/Publish_Date).
    published_on: Mapped[date]
    address_count: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool]
    imported_at: Mapped[datetime]


class ScreeningAddress(Base):
    """A digital-currency address of the active list. EVM addresses are stored checksummed (EIP-55), so that a
    comparison ignores how the list or the caller wrote their case."""

    __tablename__ = "screening_addresses"
    __table_args__ = (Index("ix_screening_addresses_address", "address"),)

    list_id: Mapped[str] = mapped_column(ForeignKey("screening_lists.id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(128), primary_key=True)
    # The list's currency tag: XBT, ETH, USDC, USDT, TRX, ...
    currency: Mapped[str] = mapped_column(String(16), primary_key=True)
    # The listed party's reference in the file (DistinctParty FixedRef, or sdnEntry uid).
    entry_ref: Mapped[str] = mapped_column(String(64))
