"""Engines and sessions. One transaction per request or job; services never commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from oms.config import Settings


def normalise_url(url: str) -> str:
    """Accept the URLs people write (``postgresql://``) and pick the async driver."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.split(":///", 1)[1]
    return url


async def _keep_session(_: asyncpg.Connection) -> None:
    return None


class Database:
    """The engines of one process.

    On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so writers queue for the database
    lock up front instead of failing on upgrade; reads start a plain deferred transaction. On
    PostgreSQL both are the same engine.
    """

    def __init__(self, settings: Settings) -> None:
        schema = settings.database_schema
        self._schema = schema
        self.url = make_url(normalise_url(settings.database_url))
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if self.url.database and self.url.database != ":memory:":
                from pathlib import Path

                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            self.writer = self._sqlite_engine(immediate=True)
            self.reader = self._sqlite_engine(immediate=False)
        else:
            connect_args: dict[str, Any] = {"server_settings": {"application_name": "oms"}}
            if schema:
                connect_args["server_settings"]["search_path"] = schema
            self.writer = create_async_engine(
                self.url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_pre_ping=False,
                connect_args=connect_args,
            )
            # Read-only requests run without BEGIN/ROLLBACK round trips. At READ COMMITTED every statement
            # sees a fresh snapshot even inside a transaction, so autocommit changes no result.
            self.reader = self.writer.execution_options(isolation_level="AUTOCOMMIT")
        self._hot_pool_size = settings.db_hot_pool_size if settings.hot_reads else 0
        self.hot_pool: asyncpg.Pool | None = None
        self._write_sessions = async_sessionmaker(self.writer, expire_on_commit=False, autoflush=False)
        self._read_sessions = async_sessionmaker(self.reader, expire_on_commit=False, autoflush=False)

    def _sqlite_engine(self, *, immediate: bool) -> AsyncEngine:
        engine = create_async_engine(self.url, pool_size=5, max_overflow=20, connect_args={"timeout": 30})
        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Hand transaction control to the "begin" hook below instead of the driver.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
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
            except BaseException:
                await session.rollback()
                raise

    async def start(self) -> None:
        """Open the driver's own pool for the hot paths (PostgreSQL only; oms/hotpath.py, oms/hotwrites.py)."""
        if self.is_sqlite or not self._hot_pool_size or self.hot_pool is not None:
            return
        # Every hot statement looks rows up by key, so one generic plan serves every execution; the default
        # would re-plan each of the first five executions per connection and then weigh custom plans again.
        settings = {"application_name": "oms", "plan_cache_mode": "force_generic_plan"}
        if self._schema:
            settings["search_path"] = self._schema
        self.hot_pool = await asyncpg.create_pool(
            self.url.set(drivername="postgresql").render_as_string(hide_password=False),
            min_size=1,
            max_size=self._hot_pool_size,
            server_settings=settings,
            # Nothing on these connections changes session state (single autocommit statements, reads and
            # all-in-one writes), so the pool's default reset — a round trip per release — is pure latency.
            reset=_keep_session,
        )

    async def dispose(self) -> None:
        if self.hot_pool is not None:
            await self.hot_pool.close()
            self.hot_pool = None
        await self.writer.dispose()
        if self.is_sqlite:
            await self.reader.dispose()
