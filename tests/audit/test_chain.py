"""The audit log is tamper-evident: ``oms audit verify`` recomputes the hash chain and names the first broken
record (exit 1) whatever a database owner did to the rows, with the append-only triggers out of the way
first: edited, deleted, inserted, reordered or cut off at the end. Each test tampers with a chain of its own,
in a database of its own (the suite's own chain must verify clean at the end, tests/conftest.py)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from oms import worker
from oms.audit import Actor, Entry
from oms.audit import service as audit
from oms.config import Settings
from oms.context import AppContext
from oms.db import Database
from oms.kit.time import SystemClock
from oms.models import AuditRecord
from tests.audit.support import oms
from tests.support import fresh_database, sandbox_settings

RECORDS = 6
CLOCK = SystemClock()


@dataclass
class Chain:
    settings: Settings
    db: Database

    async def sql(self, *statements: str) -> None:
        async with self.db.session_scope() as session:
            for statement in statements:
                await session.execute(text(statement))

    async def unprotect(self) -> None:
        """What a database owner can do: take the append-only triggers out of the way."""
        if self.db.is_sqlite:
            await self.sql("DROP TRIGGER audit_records_no_update", "DROP TRIGGER audit_records_no_delete")
        else:
            await self.sql("ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only")

    async def hash_of(self, sequence: int) -> str:
        async with self.db.session_scope(write=False) as session:
            return str(
                (
                    await session.execute(text(f"SELECT hash FROM audit_records WHERE sequence = {sequence}"))
                ).scalar_one()
            )

    def verify(self, *args: str) -> tuple[int, str]:
        done = oms(self.settings, "audit", "verify", *args)
        assert done.returncode in {0, 1}, done.stderr
        return done.returncode, done.stdout


def broken_at(output: str) -> int:
    found = re.search(r"BROKEN at audit record (\d+)", output)
    assert found, output
    return int(found[1])


def entry(number: int) -> Entry:
    return Entry(Actor("cli", "tester"), "cli test", CLOCK.now(), tenant_id="ten_1", object_id=f"obj_{number}")


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    with fresh_database(tmp_path) as found:
        yield found


@pytest.fixture
async def chain(tmp_path: Path, own_database: dict[str, str]) -> AsyncIterator[Chain]:
    """A chain of its own of ``RECORDS`` records, appended one transaction each."""
    settings = sandbox_settings(tmp_path, own_database)
    db = Database(settings)
    for number in range(1, RECORDS + 1):
        async with db.session_scope() as session:
            await audit.record(session, entry(number))
    yield Chain(settings, db)
    await db.dispose()


async def test_an_untouched_chain_verifies_with_its_count(chain: Chain) -> None:
    code, output = chain.verify()
    assert code == 0, output
    assert f"{RECORDS} audit records verified; head {RECORDS}:{await chain.hash_of(RECORDS)}" in output


async def test_the_database_refuses_to_change_a_record(chain: Chain) -> None:
    with pytest.raises(Exception, match="append-only"):
        await chain.sql("UPDATE audit_records SET actor_id = 'x' WHERE sequence = 2")


async def test_an_edited_record_is_named(chain: Chain) -> None:
    await chain.unprotect()
    await chain.sql("UPDATE audit_records SET actor_id = 'someone-else' WHERE sequence = 3")
    code, output = chain.verify()
    assert (code, broken_at(output)) == (1, 3)
    assert "does not match its fields" in output


async def test_a_deleted_record_breaks_the_chain_at_the_next_one(chain: Chain) -> None:
    await chain.unprotect()
    await chain.sql("DELETE FROM audit_records WHERE sequence = 3")
    code, output = chain.verify()
    assert (code, broken_at(output)) == (1, 4)
    assert "expected record 3" in output


async def test_an_inserted_record_breaks_the_chain_at_the_one_after_it(chain: Chain) -> None:
    """The forger even gives the inserted record a valid hash over the record before it: the next one, whose
    link it took, no longer carries its predecessor's hash."""
    await chain.unprotect()
    await chain.sql(
        "UPDATE audit_records SET sequence = sequence + 1000 WHERE sequence >= 3",
        "UPDATE audit_records SET sequence = sequence - 999 WHERE sequence >= 1003",
    )
    [forged] = audit.chained([entry(99)], 2, await chain.hash_of(2))
    async with chain.db.session_scope() as session:
        await session.execute(insert(AuditRecord.__table__).values(forged.__dict__))
    code, output = chain.verify()
    assert (code, broken_at(output)) == (1, 4)
    assert "does not carry the hash of the record before it" in output


async def test_reordered_records_are_named(chain: Chain) -> None:
    await chain.unprotect()
    await chain.sql(
        "UPDATE audit_records SET sequence = -2 WHERE sequence = 2",
        "UPDATE audit_records SET sequence = 2 WHERE sequence = 4",
        "UPDATE audit_records SET sequence = 4 WHERE sequence = -2",
    )
    code, output = chain.verify()
    assert (code, broken_at(output)) == (1, 2)


async def test_a_deleted_last_record_is_seen_against_the_head(chain: Chain) -> None:
    await chain.unprotect()
    await chain.sql(f"DELETE FROM audit_records WHERE sequence = {RECORDS}")
    code, output = chain.verify()
    assert (code, broken_at(output)) == (1, RECORDS)
    assert f"ends at record {RECORDS - 1} but its head is record {RECORDS}" in output


async def test_a_truncated_chain_is_seen_against_a_logged_head(chain: Chain) -> None:
    logged = f"{RECORDS}:{await chain.hash_of(RECORDS)}"
    assert oms(chain.settings, "audit", "head").stdout.strip() == logged
    await chain.unprotect()
    kept = RECORDS - 2
    await chain.sql(
        f"DELETE FROM audit_records WHERE sequence > {kept}",
        f"UPDATE audit_chain_head SET sequence = {kept}, hash = '{await chain.hash_of(kept)}'",
    )
    assert chain.verify()[0] == 0  # consistent with itself, head row included
    code, output = chain.verify("--head", logged)
    assert (code, broken_at(output)) == (1, RECORDS)
    assert chain.verify("--head", f"{kept}:{await chain.hash_of(kept)}")[0] == 0


async def test_a_rewritten_record_is_seen_against_a_logged_head(chain: Chain) -> None:
    """Even a forger who recomputes every hash after the record changed cannot keep a logged head."""
    logged = f"{RECORDS}:{await chain.hash_of(RECORDS)}"
    await chain.unprotect()
    await chain.sql("DELETE FROM audit_records WHERE sequence >= 2", "UPDATE audit_chain_head SET sequence = 1, hash = "
                    f"'{await chain.hash_of(1)}'")  # fmt: skip
    async with chain.db.session_scope() as session:
        await audit.append(session, [entry(number + 100) for number in range(2, RECORDS + 1)])
    assert chain.verify()[0] == 0
    code, output = chain.verify("--head", logged)
    assert (code, broken_at(output)) == (1, RECORDS)


async def test_concurrent_writers_keep_one_chain(chain: Chain, is_postgres: bool) -> None:
    """Appenders on several connections, through sessions and the fast lane's own connections, at once."""
    if not is_postgres:
        pytest.skip("SQLite has one writer at a time")
    await chain.db.start()  # the fast lane's pool
    writers, each = 4, 10

    async def by_session() -> None:
        for number in range(each):
            async with chain.db.session_scope() as session:
                await audit.record(session, entry(number))

    async def by_hot_connection() -> None:
        for number in range(0, each, 2):
            async with chain.db.hot_transaction() as connection:
                await audit.append_on(connection, [entry(number), entry(number + 1)])

    await asyncio.gather(*[by_session() for _ in range(writers)], *[by_hot_connection() for _ in range(writers)])
    code, output = chain.verify()
    assert code == 0, output
    assert f"{RECORDS + 2 * writers * each} audit records verified" in output


async def test_the_worker_logs_a_head_that_verify_accepts(ctx: AppContext, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="oms.worker"):
        await worker.log_audit_head(ctx)
    [logged] = [record.audit_head for record in caplog.records if hasattr(record, "audit_head")]
    async with ctx.db.session_scope(write=False) as session:
        assert (await audit.verify(session, logged_head=audit.parse_head(logged))).sound
