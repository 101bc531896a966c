"""All SQL of the ledger."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, func, insert, literal_column, select, text, tuple_, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from oms.kit.sql import insert_ignore, is_postgres
from oms.models import LedgerAccount, LedgerEntry, LedgerPosting


async def add_accounts(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    await session.execute(insert(LedgerAccount), rows)


async def system_account_id(session: AsyncSession, *, tenant_id: str, currency: str, kind: str, at: datetime) -> int:
    """The tenant's system account of this kind and currency, created on first use."""
    condition = and_(
        LedgerAccount.tenant_id == tenant_id,
        LedgerAccount.currency == currency,
        LedgerAccount.kind == kind,
        LedgerAccount.wallet_id.is_(None),
    )
    found = await session.scalar(select(LedgerAccount.id).where(condition))
    if found is None:
        await session.execute(
            insert_ignore(session, LedgerAccount).values(
                tenant_id=tenant_id,
                currency=currency,
                kind=kind,
                wallet_id=None,
                allow_negative=True,
                balance=0,
                created_at=at,
            )
        )
        found = await session.scalar(select(LedgerAccount.id).where(condition))
    assert found is not None
    return found


async def open_wallet_account(
    session: AsyncSession, *, tenant_id: str, wallet_id: str, currency: str, kind: str, at: datetime
) -> None:
    """A wallet account opened on first use (``frozen``), unless it exists."""
    await session.execute(
        insert_ignore(session, LedgerAccount).values(
            tenant_id=tenant_id,
            currency=currency,
            kind=kind,
            wallet_id=wallet_id,
            allow_negative=False,
            balance=0,
            created_at=at,
        )
    )


# The statements of every money movement, built once and run as Core on the session's connection: a
# ledger account is never loaded as an ORM object, so the ORM's bulk-statement machinery (which keeps
# loaded objects in step) would be pure cost (oms/ledger is most of a transfer's statements).
# No statement here checks a balance: the schema refuses (``refusal`` below; docs/architecture.md).
_accounts = LedgerAccount.__table__
_APPLY = (
    update(_accounts)
    .where(_accounts.c.id == bindparam("account_id"))
    .values(balance=_accounts.c.balance + bindparam("amount"))
)
_WALLET_ACCOUNT_IDS = select(_accounts.c.kind, _accounts.c.id).where(_accounts.c.wallet_id == bindparam("wallet_id"))
_INSERT_ENTRY = insert(LedgerEntry.__table__).returning(LedgerEntry.__table__.c.id)
_INSERT_POSTINGS = insert(LedgerPosting.__table__)


_POST_ENTRY = text(
    "SELECT oms_post_entry(:tenant_id, :kind, :reference, :at, :accounts, :currencies, :amounts)"
)  # oms/migrations/versions/0011_overdraft_in_constraints.py

# What refuses a leg, by the constraint's name on PostgreSQL and by what SQLite says of it (the limit is a
# trigger there, 0007; SQLite names no foreign key).
NON_NEGATIVE = "ck_ledger_accounts_non_negative"
_REFUSALS = (
    ("insufficient", NON_NEGATIVE, NON_NEGATIVE),
    ("limit", "ck_ledger_accounts_within_limit", "ledger_accounts.balance beyond the ledger limit"),
    ("currency", "fk_ledger_postings_account_id_ledger_accounts", "FOREIGN KEY constraint failed"),
)


def leg_arrays(legs: Sequence[tuple[int, str, int]]) -> tuple[list[int], list[str], list[int]]:
    """``oms_post_entry``'s three array arguments: the legs' accounts, currencies and amounts."""
    return [leg[0] for leg in legs], [leg[1] for leg in legs], [leg[2] for leg in legs]


class Refused(Exception):
    """A leg was refused: ``kind`` is ``insufficient`` (it would take a non-negative account below zero),
    ``currency`` (it names another currency) or ``limit`` (the balance would pass ``LEDGER_LIMIT``)."""

    def __init__(self, reason: str, *, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


def refusal(error: BaseException) -> Refused | None:
    """The ledger's refusal an error of the database is (from SQLAlchemy or from asyncpg directly), or None.
    The one reading of the schema's refusals, for every path that posts (``post_entry``, the fast lane)."""
    driver = getattr(error, "orig", error)  # SQLAlchemy wraps the driver's error
    constraint = getattr(driver.__cause__ or driver, "constraint_name", None)  # asyncpg's, under the adapter
    message = str(driver)
    for kind, name, sqlite_words in _REFUSALS:
        if constraint == name or (constraint is None and sqlite_words in message):
            return Refused(message, kind=kind)
    return None


async def post_entry(
    session: AsyncSession,
    *,
    tenant_id: str,
    kind: str,
    reference: str | None,
    at: datetime,
    legs: Sequence[tuple[int, str, int]],
) -> int:
    """Move every leg's balance (in account-id order: one global lock order), then write the entry and its
    postings. Raises ``Refused`` having left the transaction to be rolled back."""
    connection = await session.connection()
    try:
        if is_postgres(session):  # one round trip: the same steps, in the database
            accounts, currencies, amounts = leg_arrays(legs)
            parameters: dict[str, object] = {"tenant_id": tenant_id, "kind": kind, "reference": reference, "at": at}
            parameters |= {"accounts": accounts, "currencies": currencies, "amounts": amounts}
            return int((await connection.execute(_POST_ENTRY, parameters)).scalar_one())
        for account, _, amount in sorted(legs, key=lambda leg: leg[0]):
            await connection.execute(_APPLY, {"account_id": account, "amount": amount})
        entry = {"tenant_id": tenant_id, "kind": kind, "reference": reference, "created_at": at}
        entry_id: int = (await connection.execute(_INSERT_ENTRY, entry)).scalar_one()
        postings = [
            {"entry_id": entry_id, "account_id": account, "currency": currency, "amount": amount}
            for account, currency, amount in legs
        ]
        await connection.execute(_INSERT_POSTINGS, postings)
        return entry_id
    except DBAPIError as error:
        refused = refusal(error)
        if refused is None:
            raise
        raise refused from None


_LOCK = (
    select(_accounts.c.id)
    .where(
        _accounts.c.wallet_id.in_(bindparam("wallet_ids", expanding=True))
        | _accounts.c.id.in_(bindparam("account_ids", expanding=True))
    )
    .order_by(_accounts.c.id)
    .with_for_update(key_share=True)
)


async def lock_accounts(session: AsyncSession, *, wallet_ids: Sequence[str], account_ids: Sequence[int]) -> None:
    """Lock every account of these wallets and these accounts, in ascending id order, in one statement
    (``FOR NO KEY UPDATE``: the postings' foreign keys to the accounts still go in)."""
    connection = await session.connection()
    await connection.execute(_LOCK, {"wallet_ids": list(wallet_ids), "account_ids": list(account_ids)})


async def system_account_ids(
    session: AsyncSession, keys: Collection[tuple[str, str, str]], *, at: datetime
) -> list[int]:
    """The ids of these system accounts ((tenant id, currency, kind)), each created on first use: one statement
    when all exist, three when some are new (inserted in key order, so that two units creating the same
    accounts wait for each other instead of deadlocking)."""
    found = await _system_ids(session, keys)
    missing = sorted(set(keys) - found.keys())
    if missing:
        rows = [
            {"tenant_id": tenant_id, "currency": currency, "kind": kind, "wallet_id": None,
             "allow_negative": True, "balance": 0, "created_at": at}
            for tenant_id, currency, kind in missing
        ]  # fmt: skip
        await session.execute(insert_ignore(session, LedgerAccount).values(rows))
        found |= await _system_ids(session, missing)
    return [found[key] for key in keys]


async def _system_ids(session: AsyncSession, keys: Collection[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
    if not keys:
        return {}
    columns = (LedgerAccount.tenant_id, LedgerAccount.currency, LedgerAccount.kind)
    statement = select(*columns, LedgerAccount.id).where(
        LedgerAccount.wallet_id.is_(None), tuple_(*columns).in_(list(keys))
    )
    rows = await session.execute(statement)
    return {(tenant_id, currency, kind): account_id for tenant_id, currency, kind, account_id in rows}


async def wallet_account_ids(session: AsyncSession, wallet_id: str) -> dict[str, int]:
    connection = await session.connection()
    rows = await connection.execute(_WALLET_ACCOUNT_IDS, {"wallet_id": wallet_id})
    return {row[0]: row[1] for row in rows}


async def wallet_accounts(session: AsyncSession, wallet_ids: Sequence[str]) -> list[tuple[str, str, int]]:
    """(wallet id, kind, balance) of every account of these wallets."""
    if not wallet_ids:
        return []
    rows = await session.execute(
        select(LedgerAccount.wallet_id, LedgerAccount.kind, LedgerAccount.balance).where(
            LedgerAccount.wallet_id.in_(wallet_ids)
        )
    )
    # a wallet's accounts: wallet_id is set (only the tenant's system accounts have none)
    return [(str(row[0]), row[1], row[2]) for row in rows]


async def unbalanced_entries(session: AsyncSession) -> list[tuple[int, str, int]]:
    rows = await session.execute(
        select(LedgerPosting.entry_id, LedgerPosting.currency, func.sum(LedgerPosting.amount))
        .group_by(LedgerPosting.entry_id, LedgerPosting.currency)
        .having(func.sum(LedgerPosting.amount) != 0)
    )
    return [(row[0], row[1], int(row[2])) for row in rows]


async def drifted_accounts(session: AsyncSession) -> list[tuple[int, int, int]]:
    """Accounts whose cached balance differs from the sum of their postings: (id, cached, summed)."""
    summed = (
        select(LedgerPosting.account_id, func.sum(LedgerPosting.amount).label("total"))
        .group_by(LedgerPosting.account_id)
        .subquery()
    )
    total = func.coalesce(summed.c.total, literal_column("0"))
    rows = await session.execute(
        select(LedgerAccount.id, LedgerAccount.balance, total)
        .outerjoin(summed, summed.c.account_id == LedgerAccount.id)
        .where(LedgerAccount.balance != total)
    )
    return [(row[0], row[1], int(row[2])) for row in rows]


async def negative_accounts(session: AsyncSession) -> list[tuple[int, int]]:
    rows = await session.execute(
        select(LedgerAccount.id, LedgerAccount.balance).where(~LedgerAccount.allow_negative, LedgerAccount.balance < 0)
    )
    return [(row[0], row[1]) for row in rows]


async def entries_for(session: AsyncSession, tenant_id: str, reference: str) -> list[LedgerEntry]:
    """The entries posted for one reference (a transaction's hold, settlement, release), oldest first."""
    statement = (
        select(LedgerEntry)
        .where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.reference == reference)
        .order_by(LedgerEntry.id)
    )
    return list((await session.execute(statement)).scalars())
