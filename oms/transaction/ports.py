"""What other packages plug into transactions, as small Protocols, so that ``transaction`` imports none of them.

- ``SettlementPurpose``: a kind of chain send a transaction settles through (a customer transfer; funding's
  deliveries). The one settlement (``oms/transaction/settlement.py``) claims, locks, confirms, fails and sends
  again; a purpose supplies only its ledger entries, its failure and its on-outcome hook, per transaction.
- ``ResourceExtension``: fields another package adds to a transaction's answer (where funded money came from).

Both are implemented where their data lives and registered by the composition root (``oms/context.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from oms.ledger.service import Leg
from oms.models import ChainSend, Transaction
from oms.transaction import schemas


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger entry a settlement step posts (its reference is the transaction)."""

    kind: str
    legs: Sequence[Leg]


@dataclass(frozen=True, slots=True)
class Source:
    """The custody key (and its address) a chain send is signed with."""

    key_index: int
    address: str


@dataclass(frozen=True, slots=True)
class Failure:
    """How a transaction ends when its transfer failed for good: the entries that undo what it booked, and the
    error it shows (``code``, ``message``)."""

    entries: Sequence[Entry]
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Accounts:
    """The ledger accounts settling a transaction may post to, for the batch's one lock sweep
    (``ledger.lock_accounts``): all accounts of these wallets, and these system accounts (tenant, currency, kind)."""

    wallet_ids: frozenset[str] = field(default_factory=frozenset)
    system: frozenset[tuple[str, str, str]] = field(default_factory=frozenset)


class Settling(Protocol):
    """One transaction of a purpose, as the settlement applies its final sends. Each method returns what the
    purpose decides; the settlement posts, queues, stamps and announces it."""

    @property
    def accounts(self) -> Accounts: ...

    async def delivered(self, session: AsyncSession) -> Sequence[Entry]:
        """The principal transfer is final: the entries that book it."""
        ...

    async def fee_source(self, session: AsyncSession) -> Source | None:
        """After delivery: the key the fee is swept on chain from (to the treasury), or None (nothing to sweep:
        the transaction completes)."""
        ...

    async def fee_collected(self, session: AsyncSession) -> Sequence[Entry]:
        """The fee sweep is final: the entries that book it."""
        ...

    def resends(self, failures: int) -> bool:
        """The principal transfer reverted (``failures`` times so far): whether to send it again, the same transfer
        after a pause, rather than give up (the transaction fails)."""
        ...

    async def failed(self, session: AsyncSession, send: ChainSend, failures: int) -> Failure:
        """The principal transfer failed for good."""
        ...

    async def on_outcome(self, session: AsyncSession) -> None:
        """The transaction has just completed or failed (its status stamped and announced)."""
        ...


class SettlementPurpose(Protocol):
    """A kind of chain send: its principal transfers' and fee sweeps' ``ChainSend.purpose``."""

    @property
    def principal(self) -> str: ...

    @property
    def fee(self) -> str: ...

    async def open(self, session: AsyncSession, transactions: Sequence[Transaction]) -> Mapping[str, Settling]:
        """These transactions (locked) as this purpose settles them, by id, read in one go; a transaction missing
        from the answer is not this purpose's (its send is set aside as a poison row)."""
        ...


class ResourceExtension(Protocol):
    """Adds its fields to transaction answers."""

    async def extend(
        self, session: AsyncSession, transactions: Sequence[Transaction], resources: Sequence[schemas.Transaction]
    ) -> None:
        """Add fields to ``resources`` (the answers of ``transactions``, in the same order), in place, with one
        read for all of them."""
        ...
