"""`oms screening import FILE`: the OFAC SDN list's digital-currency addresses from its published files, in both
formats OFAC publishes with a date (SDN_ADVANCED.XML, SDN.XML), each import's date and source recorded; a newer
list replaces the active set at once; an older, repeated or unreadable file is refused (exit 1, one line). Every
command runs as a real `oms` process on a database of its own (the active list is the server's, not a tenant's)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import pytest
from eth_utils import to_checksum_address

from oms.config import Settings
from oms.context import AppContext
from oms.screening.service import BuiltInList
from tests.screening.support import advanced_xml, legacy_xml
from tests.support import fresh_database, process_env, sandbox_settings

LAZARUS_ETH = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"  # written by OFAC checksummed
LAZARUS_USDC = "0xa0e1c89ef1a489c9c7de96311ed5ce5d32c20e4b"  # written in lower case
LATER = "0x3cBDed43EfDaf0Fc77b9c55F6fc9988Fcc9B37D9"
BITCOIN = "bc1qsxkn5hzlfmjwsf7t2xq3bx6kc5z0v3a6ztq8z4"


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Settings]:
    with fresh_database(tmp_path) as database:
        yield sandbox_settings(tmp_path / "data", database)


@pytest.fixture
async def own_ctx(own: Settings) -> AsyncIterator[AppContext]:
    ctx = AppContext.build(own)
    yield ctx
    await ctx.close()


def oms(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "oms", *args]
    return subprocess.run(command, env=process_env(settings), capture_output=True, text=True, timeout=120)


def written(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text)
    return str(path)


async def screened(ctx: AppContext, *addresses: str) -> set[str]:
    async with ctx.db.session_scope(write=False) as session:
        return {hit.address for hit in await BuiltInList().screen(session, "polygon", addresses)}


async def test_the_advanced_xml_is_imported_with_its_date_and_source_and_screens_evm_addresses_in_any_case(
    own: Settings, own_ctx: AppContext, tmp_path: Path
) -> None:
    parties = [("LAZARUS GROUP", [("ETH", LAZARUS_ETH), ("USDC", LAZARUS_USDC), ("XBT", BITCOIN)])]
    path = written(tmp_path, "SDN_ADVANCED.XML", advanced_xml(date(2026, 12, 5), parties))
    done = oms(own, "screening", "import", path)
    assert done.returncode == 0, done.stderr
    assert "OFAC SDN list (SDN_ADVANCED.XML) published 2026-12-05, 3 digital currency addresses" in done.stdout
    [listed] = oms(own, "screening", "lists").stdout.splitlines()
    fields = listed.split("\t")
    assert fields[1:6] == ["active", "2026-12-05", "3", "OFAC SDN list (SDN_ADVANCED.XML)", "SDN_ADVANCED.XML"]
    assert fields[6].startswith("sha256:") and len(fields[6]) == len("sha256:") + 64
    asked = (LAZARUS_ETH.lower(), "0x" + LAZARUS_USDC[2:].upper(), LATER)
    assert await screened(own_ctx, *asked) == {LAZARUS_ETH, to_checksum_address(LAZARUS_USDC)}


async def test_the_legacy_sdn_xml_is_imported_from_its_id_list(
    own: Settings, own_ctx: AppContext, tmp_path: Path
) -> None:
    path = written(tmp_path, "SDN.XML", legacy_xml(date(2026, 11, 28), [("GARANTEX", [("ETH", LAZARUS_ETH)])]))
    done = oms(own, "screening", "import", path)
    assert done.returncode == 0, done.stderr
    assert "OFAC SDN list (SDN.XML) published 2026-11-28, 1 digital currency addresses" in done.stdout
    assert await screened(own_ctx, LAZARUS_ETH) == {LAZARUS_ETH}


async def test_a_newer_list_replaces_the_active_set(own: Settings, own_ctx: AppContext, tmp_path: Path) -> None:
    first = written(tmp_path, "first.xml", advanced_xml(date(2026, 12, 1), [("A", [("ETH", LAZARUS_ETH)])]))
    second = written(tmp_path, "second.xml", advanced_xml(date(2026, 12, 5), [("B", [("ETH", LATER)])]))
    assert oms(own, "screening", "import", first).returncode == 0
    assert await screened(own_ctx, LAZARUS_ETH, LATER) == {LAZARUS_ETH}
    done = oms(own, "screening", "import", second)
    assert done.returncode == 0, done.stderr
    assert "replacing scl_" in done.stdout
    assert await screened(own_ctx, LAZARUS_ETH, LATER) == {LATER}
    states = [(line.split("\t")[1], line.split("\t")[2]) for line in oms(own, "screening", "lists").stdout.splitlines()]
    assert states == [("active", "2026-12-05"), ("replaced", "2026-12-01")]


async def test_an_older_list_is_refused_in_one_line_and_the_active_set_is_kept(
    own: Settings, own_ctx: AppContext, tmp_path: Path
) -> None:
    newer = written(tmp_path, "newer.xml", advanced_xml(date(2026, 12, 5), [("A", [("ETH", LAZARUS_ETH)])]))
    older = written(tmp_path, "older.xml", legacy_xml(date(2026, 11, 1), [("B", [("ETH", LATER)])]))
    assert oms(own, "screening", "import", newer).returncode == 0
    refused = oms(own, "screening", "import", older)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "oms: this list was published 2026-11-01, before the active one (2026-12-05, newer.xml): not imported"
    ]
    assert await screened(own_ctx, LAZARUS_ETH, LATER) == {LAZARUS_ETH}


async def test_the_same_file_twice_is_refused(own: Settings, tmp_path: Path) -> None:
    path = written(tmp_path, "SDN.XML", legacy_xml(date(2026, 12, 5), [("A", [("ETH", LAZARUS_ETH)])]))
    assert oms(own, "screening", "import", path).returncode == 0
    again = oms(own, "screening", "import", path)
    assert again.returncode == 1 and again.stderr.startswith("oms: this file was already imported on ")
    assert len(again.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (legacy_xml(date(2026, 12, 5), [("A", [("ETH", LAZARUS_ETH)])])[:400], "is not well-formed XML"),
        ("ent_num,SDN_Name,SDN_Type\n1,X,Entity\n", "is not well-formed XML"),
        ('<?xml version="1.0"?><consolidatedList><x/></consolidatedList>', "not an OFAC SDN list"),
        (advanced_xml(date(2026, 12, 5), [("A", [])]), "lists no digital currency addresses"),
        (legacy_xml(date(2026, 12, 5), [("A", [("ETH", LATER)])]).replace("12/05/2026", "2026-12-05"), "not a date"),
        ('<?xml version="1.0"?><!DOCTYPE sdnList [<!ENTITY x "y">]><sdnList>&x;</sdnList>', "is refused"),
    ],
    ids=["truncated", "csv", "another-list", "no-addresses", "bad-date", "entities"],
)
async def test_a_malformed_file_is_refused_in_one_line_and_nothing_is_imported(
    own: Settings, own_ctx: AppContext, tmp_path: Path, content: str, says: str
) -> None:
    refused = oms(own, "screening", "import", written(tmp_path, "list.xml", content))
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("oms: ") and says in line, line
    assert oms(own, "screening", "lists").stdout == ""
    assert await screened(own_ctx, LAZARUS_ETH, LATER) == set()


async def test_a_file_that_does_not_exist_is_refused_in_one_line(own: Settings, tmp_path: Path) -> None:
    refused = oms(own, "screening", "import", str(tmp_path / "missing.xml"))
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"oms: cannot read {tmp_path / 'missing.xml'}: No such file or directory"
