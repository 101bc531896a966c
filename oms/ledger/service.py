"""The double-entry ledger. ``post_entry`` is the only writer of postings and balances (on PostgreSQL through
the database function ``oms_post_entry``, which the fast lane's execution statement calls too, with legs from
``entry_rows``: the same validation).

Every wallet has three accounts in its currency (``<asset>:<chain>``):
``available`` (spendable), ``held`` (reserved for outgoing transfers in flight) and ``pending``
(incoming, not yet settled), and a fourth opened on first use, ``frozen``: deposits whose sender is on the
sanctions list, never spendable until an operator releases them. A wallet's settled ``balance`` is
available + held; a tenant sees its frozen amount as ``pending`` (no tipping off: docs/decisions.md).
Counterpart accounts (the chain, fees, clearing) are tenant system accounts and may go negative; wallet
accounts may not: the schema's CHECK constraint refuses, and ``post_entry`` raises ``InsufficientFunds``
(docs/architecture.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from oms.errors import Unprocessable
from oms.kit.money import LEDGER_LIMIT
from oms.kit.sql import is_postgres
from oms.ledger import repository

WALLET_KINDS = ("available", "held", "pending")
FROZEN = "frozen"  # opened on first use (``open_frozen_account``)


def currency_of(asset: str, chain: str) -> str:
    return f"{asset}:{chain}"


@dataclass(frozen=True, slots=True)
class Leg:
    account_id: int
    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class WalletBalance:
    available: int = 0
    held: int = 0
    pending: int = 0
    frozen: int = 0

    @property
    def balance(self) -> int:
        return self.available + self.held


class UnbalancedEntry(ValueError):
    """A programming error: an entry whose legs do not sum to zero per currency."""


class InsufficientFunds(Unprocessable):
    def __init__(self) -> None:
        super().__init__("insufficient_funds", "The source wallet's available balance is too low.")


class LedgerLimitExceeded(Unprocessable):
    """An entry would take an account past ``LEDGER_LIMIT`` (far beyond any real money: docs/decisions.md)."""

    def __init__(self) -> None:
        super().__init__("ledger_limit_exceeded", "The entry would take a balance beyond what the ledger holds.")


async def open_wallet_accounts(
    session: AsyncSession, *, tenant_id: str, wallet_id: str, currency: str, at: datetime
) -> None:
    await repository.add_accounts(
        session,
        [
            {
                "tenant_id": tenant_id,
                "currency": currency,
                "kind": kind,
                "wallet_id": wallet_id,
                "allow_negative": False,
                "balance": 0,
                "created_at": at,
            }
            for kind in WALLET_KINDS
        ],
    )


async def open_frozen_account(
    session: AsyncSession, *, tenant_id: str, wallet_id: str, currency: str, at: datetime
) -> None:
    await repository.open_wallet_account(
        session, tenant_id=tenant_id, wallet_id=wallet_id, currency=currency, kind=FROZEN, at=at
    )


async def system_account(session: AsyncSession, *, tenant_id: str, currency: str, kind: str, at: datetime) -> int:
    return await repository.system_account_id(session, tenant_id=tenant_id, currency=currency, kind=kind, at=at)


async def lock_accounts(
    session: AsyncSession,
    *,
    wallet_ids: Collection[str] = (),
    system: Collection[tuple[str, str, str]] = (),
    at: datetime,
) -> None:
    """Lock every account a unit of work is about to post to, before its first entry: all accounts of these
    wallets and these system accounts (tenant id, currency, kind; created first if new), in ascending id
    order, in one statement. A unit that posts more than one entry must (docs/decisions.md, "Lock order"):
    entries locking their accounts one after the other would take them in no global order, and two such
    units, or one and a request, would wait for each other. A single entry needs nothing more: ``post_entry``
    moves its legs in id order. SQLite has one writer at a time: nothing to order."""
    if not is_postgres(session) or not (wallet_ids or system):
        return
    accounts = await repository.system_account_ids(session, sorted(set(system)), at=at)
    await repository.lock_accounts(session, wallet_ids=sorted(set(wallet_ids)), account_ids=accounts)


def entry_rows(legs: Sequence[Leg]) -> list[tuple[int, str, int]]:
    """An entry's legs, validated, as the repository (and the fast lane's statement) takes them:
    (account id, currency, amount). Raises ``UnbalancedEntry`` or ``LedgerLimitExceeded``."""
    _validate(legs)
    return [(leg.account_id, leg.currency, leg.amount) for leg in legs]


def _validate(legs: Sequence[Leg]) -> None:
    if len(legs) < 2:
        raise UnbalancedEntry("an entry needs at least two legs")
    totals: dict[str, int] = defaultdict(int)
    for leg in legs:
        if leg.amount == 0:
            raise UnbalancedEntry("a leg must move a non-zero amount")
        if not isinstance(leg.amount, int) or abs(leg.amount) > LEDGER_LIMIT:
            raise LedgerLimitExceeded()  # so a balance plus a leg can never overflow the database's integer
        totals[leg.currency] += leg.amount
    if any(totals.values()):
        raise UnbalancedEntry(f"legs do not sum to zero per currency: {dict(totals)}")


async def post_entry(
    session: AsyncSession, *, tenant_id: str, kind: str, reference: str | None, legs: Sequence[Leg], at: datetime
) -> int:
    """Post one balanced entry atomically, or raise ``InsufficientFunds`` having changed nothing visible.

    Balances are updated in account-id order so concurrent entries lock rows in one global order.
    The caller's transaction must be rolled back on error (the request pipeline and ``session_scope``
    both do).
    """
    rows = entry_rows(legs)
    try:
        return await repository.post_entry(
            session, tenant_id=tenant_id, kind=kind, reference=reference, at=at, legs=rows
        )
    except repository.Refused as refused:
        raise _error_of(refused) from None


def _error_of(refused: repository.Refused) -> Exception:
    """The error a refused leg is answered with."""
    if refused.kind == "currency":
        return UnbalancedEntry(str(refused))
    if refused.kind == "limit":
        return LedgerLimitExceeded()
    return InsufficientFunds()


async def move(
    session: AsyncSession,
    *,
    tenant_id: str,
    kind: str,
    reference: str | None,
    currency: str,
    source: int,
    target: int,
    amount: int,
    at: datetime,
) -> int:
    """The common entry: ``amount`` from one account to another (``post_entry`` with two legs)."""
    legs = transfer_legs(currency, source, target, amount)
    return await post_entry(session, tenant_id=tenant_id, kind=kind, reference=reference, legs=legs, at=at)


def transfer_legs(currency: str, source: int, target: int, amount: int) -> list[Leg]:
    """The legs of ``amount`` moved from one account to another."""
    return [Leg(source, currency, -amount), Leg(target, currency, amount)]


async def wallet_account_ids(session: AsyncSession, wallet_id: str) -> dict[str, int]:
    """The wallet's account ids by kind (available, held, pending)."""
    return await repository.wallet_account_ids(session, wallet_id)


async def wallet_balances(session: AsyncSession, wallet_ids: Sequence[str]) -> dict[str, WalletBalance]:
    parts: dict[str, dict[str, int]] = defaultdict(dict)
    for wallet_id, kind, balance in await repository.wallet_accounts(session, wallet_ids):
        parts[wallet_id][kind] = balance
    return {wallet_id: WalletBalance(**parts.get(wallet_id, {})) for wallet_id in wallet_ids}


async def check_invariants(session: AsyncSession) -> list[str]:
    """Every violation of the ledger's invariants, in words; empty when the books are sound."""
    problems = [
        f"entry {entry} does not sum to zero in {currency} (off by {total})"
        for entry, currency, total in await repository.unbalanced_entries(session)
    ]
    problems += [
        f"account {account} caches {cached} but its postings sum to {summed}"
        for account, cached, summed in await repository.drifted_accounts(session)
    ]
    problems += [
        f"account {account} is negative ({balance}) but may not be"
        for account, balance in await repository.negative_accounts(session)
    ]
    return problems
