"""Engines and sessions. One transaction per request or job; services never commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from oms.config import Settings
from oms.outage import unavailable


def normalise_url(url: str) -> str:
    """Accept the URLs people write (``postgresql://``) and pick the async driver."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.split(":///", 1)[1]
    return url


log = logging.getLogger("oms.db")


def _cut_on_outage(context: ExceptionContext) -> None:
    """A statement failed by an outage (or was cancelled, by a deadline): cut its connection at once. SQLAlchemy
    then invalidates it, and its polite close of an invalidated asyncpg connection waits up to 2 s on the network
    that just failed."""
    failure = context.original_exception
    if context.connection is None or not (isinstance(failure, asyncio.CancelledError) or unavailable(failure)):
        return
    with contextlib.suppress(Exception):
        driver = context.connection.connection.driver_connection
        if isinstance(driver, asyncpg.Connection):
            driver.terminate()


async def abandon(session: AsyncSession) -> None:
    """Give up a session whose database failed or froze, without another word to it: a ROLLBACK, or even the
    polite close SQLAlchemy makes of an invalidated connection (up to 2 s), would wait on the same dead network.
    The connection is cut, which rolls the transaction back on the server, and never handed out again."""
    transaction = session.sync_session.get_transaction()
    while transaction is not None:
        # SessionTransaction keeps its connections in _connections: no public accessor that does no I/O.
        for connection, *_ in list(transaction._connections.values()):
            if connection.invalidated:  # already cut; asking for its DBAPI connection would connect again
                continue
            with contextlib.suppress(Exception):
                driver = connection.connection.driver_connection
                if isinstance(driver, asyncpg.Connection):
                    driver.terminate()
        transaction = transaction.parent
    with contextlib.suppress(Exception):
        await session.invalidate()


async def _keep_session(_: asyncpg.Connection) -> None:
    return None


class HotPoolClosed(Exception):
    """The hot pool was closed (the process is stopping): the regular endpoint serves the request."""


def server_settings(settings: Settings) -> dict[str, str]:
    """Session settings of every PostgreSQL connection: the schema and the server-side timeouts (ms)."""
    statement_ms = str(int(settings.db_statement_timeout_seconds * 1000))
    values = {
        "application_name": "oms",
        "statement_timeout": statement_ms,
        "lock_timeout": str(int(settings.db_lock_timeout_seconds * 1000)),
        "idle_in_transaction_session_timeout": statement_ms,
        "idle_session_timeout": str(int(settings.db_idle_seconds * 2000)),
    }
    if settings.database_schema:
        values["search_path"] = settings.database_schema
    return values


class Database:
    """The engines of one process.

    On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so writers queue for the database
    lock up front instead of failing on upgrade; reads start a plain deferred transaction. On
    PostgreSQL both are the same engine.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.url = make_url(normalise_url(settings.database_url))
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if self.url.database and self.url.database != ":memory:":
                from pathlib import Path

                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            self.writer = self._sqlite_engine(immediate=True)
            self.reader = self._sqlite_engine(immediate=False)
        else:
            connect_args: dict[str, Any] = {
                "server_settings": server_settings(settings),
                "timeout": settings.db_connect_timeout_seconds,
                "command_timeout": settings.db_client_timeout_seconds,
            }
            self.writer = create_async_engine(
                self.url,
                hide_parameters=True,  # a statement's parameters are customers' data: never in an error or log
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_timeout=settings.db_pool_timeout_seconds,
                # Older than this, a pooled connection is replaced before use: so one that PostgreSQL ended
                # for idling (idle_session_timeout, twice as long) is never handed out.
                pool_recycle=settings.db_idle_seconds,
                pool_pre_ping=False,
                connect_args=connect_args,
            )
            event.listen(self.writer.sync_engine, "handle_error", _cut_on_outage)
            # Read-only requests run without BEGIN/ROLLBACK round trips. At READ COMMITTED every statement
            # sees a fresh snapshot even inside a transaction, so autocommit changes no result.
            self.reader = self.writer.execution_options(isolation_level="AUTOCOMMIT")
        self._settings = settings
        self._hot_pool_size = settings.db_hot_pool_size if settings.hot_reads else 0
        self.hot_pool: asyncpg.Pool | None = None
        self._write_sessions = async_sessionmaker(self.writer, expire_on_commit=False, autoflush=False)
        self._read_sessions = async_sessionmaker(self.reader, expire_on_commit=False, autoflush=False)

    def _sqlite_engine(self, *, immediate: bool) -> AsyncEngine:
        # A writer waits at most the lock timeout for SQLite's one write lock, then the request is a 503.
        busy = self._settings.db_lock_timeout_seconds
        engine = create_async_engine(
            self.url,
            hide_parameters=True,
            pool_size=5,
            max_overflow=20,
            pool_timeout=self._settings.db_pool_timeout_seconds,
            connect_args={"timeout": busy},
        )
        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Hand transaction control to the "begin" hook below instead of the driver.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql(begin)

        return engine

    def session(self, *, write: bool) -> AsyncSession:
        return (self._write_sessions if write else self._read_sessions)()

    @asynccontextmanager
    async def session_scope(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """For jobs and commands: commit on success, roll back on any error."""
        async with self.session(write=write) as session:
            try:
                yield session
                await session.commit()
            except BaseException as exc:
                if isinstance(exc, asyncio.CancelledError) or unavailable(exc) is not None:
                    await abandon(session)
                else:
                    await session.rollback()
                raise

    async def start(self) -> None:
        """Open the driver's own pool for the fast lane (PostgreSQL only; oms/fastlane)."""
        if self.is_sqlite or not self._hot_pool_size or self.hot_pool is not None:
            return
        # Every hot statement looks rows up by key, so one generic plan serves every execution; the default
        # would re-plan each of the first five executions per connection and then weigh custom plans again.
        settings = {**server_settings(self._settings), "plan_cache_mode": "force_generic_plan"}
        self.hot_pool = await asyncpg.create_pool(
            self.url.set(drivername="postgresql").render_as_string(hide_password=False),
            min_size=1,
            max_size=self._hot_pool_size,
            max_inactive_connection_lifetime=self._settings.db_idle_seconds,
            timeout=self._settings.db_connect_timeout_seconds,
            command_timeout=self._settings.db_client_timeout_seconds,
            server_settings=settings,
            # Nothing on these connections changes session state (single-statement reads, and writes whose
            # transaction is committed or whose connection is closed), so the pool's default reset — a round
            # trip per release — is pure latency.
            reset=_keep_session,
        )

    @asynccontextmanager
    async def hot_connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the hot pool. One whose work failed is closed rather than returned: after a timeout
        it may still be waiting on a dead network, and returning it would wait too (and a frozen database
        would later run what it still held)."""
        pool = self.hot_pool
        if pool is None or pool.is_closing():  # closed since the request came in: not an outage of the database
            raise HotPoolClosed("the hot pool is closed")
        async with pool.acquire(timeout=self._settings.db_pool_timeout_seconds) as connection:
            try:
                # The pool's proxy forwards every method of the Connection it holds (asyncpg's own stubs
                # type them apart).
                yield cast("asyncpg.Connection", connection)
            except asyncpg.IntegrityConstraintViolationError:
                # the schema refused a statement: the connection is sound, once out of its transaction
                if connection.is_in_transaction():
                    connection.terminate()
                raise
            except BaseException:
                connection.terminate()
                raise

    @asynccontextmanager
    async def hot_transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A hot connection inside a transaction, committed after the block. A single autocommit statement
        held up by the network would commit whenever it arrives, even after its client was answered 503;
        inside a transaction it cannot: PostgreSQL ends a session idle in one (idle_in_transaction_session_
        timeout) before this process gives up on the COMMIT, and a closed connection rolls back."""
        async with self.hot_connection() as connection:
            await connection.execute("BEGIN")
            try:
                yield connection
            except asyncpg.IntegrityConstraintViolationError:
                await connection.execute("ROLLBACK")  # refused by the schema: nothing was written
                raise
            await connection.execute("COMMIT")

    def pool_use(self) -> dict[tuple[str, str], int]:
        """Connections of this process's pools by (pool, state): SQLAlchemy's (``orm``) and the fast lane's
        (``hot``), each ``in_use`` or ``idle`` (the metrics' ``oms_db_pool_connections``)."""
        pool = self.writer.sync_engine.pool
        in_use = int(getattr(pool, "checkedout", lambda: 0)())
        idle = int(getattr(pool, "checkedin", lambda: 0)())
        use = {("orm", "in_use"): in_use, ("orm", "idle"): idle}
        if self.hot_pool is not None:
            size, free = self.hot_pool.get_size(), self.hot_pool.get_idle_size()
            use |= {("hot", "in_use"): size - free, ("hot", "idle"): free}
        return use

    async def dispose(self) -> None:
        if self.hot_pool is not None:
            await self.hot_pool.close()
            self.hot_pool = None
        await self.writer.dispose()
        if self.is_sqlite:
            await self.reader.dispose()


async def connection_allowance(settings: Settings) -> int:
    """How many connections the database lets ordinary roles open: max_connections less those reserved."""
    connection = await asyncpg.connect(
        make_url(normalise_url(settings.database_url)).set(drivername="postgresql").render_as_string(False),
        timeout=settings.db_connect_timeout_seconds,
    )
    try:
        allowed = int(await connection.fetchval("SHOW max_connections"))
        for reserved in ("superuser_reserved_connections", "reserved_connections"):  # the latter from PG 16
            if await connection.fetchval("SELECT 1 FROM pg_settings WHERE name = $1", reserved):
                allowed -= int(await connection.fetchval(f"SHOW {reserved}"))
        return allowed
    finally:
        await connection.close()


async def warn_if_over_budget(settings: Settings, processes: int) -> int | None:
    """At `oms serve`: one warning line when its processes could open more connections than PostgreSQL allows
    (README, "Connection budget"). Returns that configured total, or None when there is nothing to compare."""
    if make_url(normalise_url(settings.database_url)).get_backend_name() == "sqlite":
        return None
    total = processes * settings.connections_per_process()
    try:
        allowed = await connection_allowance(settings)
    except Exception as exc:
        if unavailable(exc) is None:
            raise
        return None  # the database is down: requests will answer 503 and /readyz says so
    if total > allowed:
        log.warning(
            f"connection budget exceeded: {processes} process(es) x (OMS_DB_POOL_SIZE {settings.db_pool_size}"
            f" + OMS_DB_MAX_OVERFLOW {settings.db_max_overflow} + OMS_DB_HOT_POOL_SIZE {settings.db_hot_pool_size})"
            f" = {total} connections, but the database allows {allowed} (max_connections less reserved); lower"
            " the pools or raise max_connections, and leave room for `oms worker` and the CLI"
        )
    return total
