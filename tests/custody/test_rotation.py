"""Rotation of the seed's key-encryption key: configured to configured, to a PKCS#11 token, to a new token key;
no address changes, the old key is retired and refused, and a rotation is all or nothing."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from oms.config import Settings
from oms.custody import service as custody
from oms.custody.hsm import Pkcs11Wrapper
from oms.custody.service import CustodyError
from oms.custody.wiring import build_wrapper
from oms.custody.wrapping import ConfiguredKek
from oms.db import Database
from oms.models import AuditRecord, CustodyRetiredKey, Wallet
from tests.custody.conftest import Server, SoftHsm, running, server_settings
from tests.support import OffsetClock, create_customer, create_wallet, new_api, process_env


async def _wallets(server: Server, count: int) -> list[dict[str, Any]]:
    api = await new_api(server.client, server.ctx)
    return [await create_wallet(api, (await create_customer(api))["id"]) for _ in range(count)]


async def _served_addresses(settings: Settings, clock: OffsetClock, wallets: list[dict[str, Any]]) -> list[str]:
    """What a server restarted with ``settings`` derives and signs as, for each wallet's key."""
    async with running(settings, clock) as server:
        async with server.ctx.db.session_scope(write=False) as session:
            ids = [wallet["id"] for wallet in wallets]
            indexes = {w.id: w.key_index for w in (await session.scalars(select(Wallet).where(Wallet.id.in_(ids))))}
        found = []
        for wallet in wallets:
            index = indexes[wallet["id"]]
            signed = server.ctx.custody.sign_transaction(
                index, {"to": wallet["address"], "value": 0, "gas": 21000, "gasPrice": 1, "nonce": 0, "chainId": 137}
            )
            assert signed.sender == server.ctx.custody.address_of(index)
            found.append(signed.sender)
        return found


async def _rotate(settings: Settings, clock: OffsetClock, new: Any) -> custody.Rewrapped:
    async with running(settings, clock) as server, server.ctx.db.session_scope() as session:
        return await custody.rotate(session, current=server.ctx.custody.wrapper, new=new, clock=clock)


async def test_rotation_keeps_every_address_from_a_configured_key_to_another_to_a_token_to_a_new_token_key(
    softhsm: SoftHsm, fresh_db: dict[str, str], tmp_path: Path, clock: OffsetClock
) -> None:
    first = server_settings(tmp_path / "data", fresh_db)
    async with running(first, clock) as server:
        wallets = await _wallets(server, 3)
        xpub = server.ctx.custody.xpub
    addresses = [wallet["address"] for wallet in wallets]

    second = first.model_copy(update={"custody_kek": secrets.token_hex(32)})
    to_token = first.model_copy(update=softhsm.settings("kek-1"))
    to_new_token_key = first.model_copy(update=softhsm.settings("kek-2"))
    steps = [
        (first, second, ConfiguredKek(second.custody_kek_bytes())),
        (second, to_token, Pkcs11Wrapper.provision(softhsm.config("kek-1"))),
        (to_token, to_new_token_key, Pkcs11Wrapper.provision(softhsm.config("kek-2"))),
    ]
    for old, new, wrapper in steps:
        rewrapped = await _rotate(old, clock, wrapper)
        assert rewrapped.xpub == xpub
        assert await _served_addresses(new, clock, wallets) == addresses
        with pytest.raises(CustodyError, match="not the one that wraps the seed"):
            async with running(old, clock):
                pass  # the retired key opens the seed no more

    async with running(to_new_token_key, clock) as server, server.ctx.db.session_scope(write=False) as session:
        seed, retired = await custody.status(session)
    assert (seed.wrapping_backend, seed.wrapping_key_label) == ("pkcs11", f"token '{softhsm.token_label}' key 'kek-2'")
    assert [(key.backend, key.reason, key.replaced_by_backend) for key in retired] == [
        ("configured", "rotated", "configured"),
        ("configured", "rotated", "pkcs11"),
        ("pkcs11", "rotated", "pkcs11"),
    ]
    assert [key.key_id for key in retired[1:]] == [old.replaced_by_key_id for old in retired[:-1]]
    assert retired[-1].replaced_by_key_id == seed.kek_fingerprint


async def test_a_rotation_that_does_not_commit_leaves_the_old_wrapping(
    fresh_db: dict[str, str], tmp_path: Path, clock: OffsetClock
) -> None:
    old = server_settings(tmp_path / "data", fresh_db)
    new = old.model_copy(update={"custody_kek": secrets.token_hex(32)})
    async with running(old, clock) as server:
        xpub = server.ctx.custody.xpub
        with pytest.raises(ConnectionResetError):
            async with server.ctx.db.session_scope() as session:
                await custody.rotate(session, current=server.ctx.custody.wrapper, new=build_wrapper(new), clock=clock)
                raise ConnectionResetError  # the process dies, or the database goes away, before the commit
        async with server.ctx.db.session_scope(write=False) as session:
            assert (await session.scalars(select(CustodyRetiredKey))).all() == []
    async with running(old, clock) as restarted:
        assert restarted.ctx.custody.xpub == xpub
    with pytest.raises(CustodyError, match="not the one that wraps the seed"):
        async with running(new, clock):
            pass


async def test_rotating_to_the_key_that_wraps_the_seed_already_is_refused(
    fresh_db: dict[str, str], tmp_path: Path, clock: OffsetClock
) -> None:
    settings = server_settings(tmp_path / "data", fresh_db)
    with pytest.raises(CustodyError, match=r"wrapped by configured key-encryption key \w+ already"):
        await _rotate(settings, clock, build_wrapper(settings))


def _audit_actions(settings: Settings) -> list[tuple[str, str, str]]:
    async def read() -> list[tuple[str, str, str]]:
        db = Database(settings)
        try:
            async with db.session_scope(write=False) as session:
                rows = await session.scalars(select(AuditRecord).order_by(AuditRecord.sequence))
                return [(row.actor_kind, row.action, row.outcome) for row in rows]
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_rotate_kek_on_the_command_line_keeps_the_address_and_is_audited_as_the_os_user(
    fresh_db: dict[str, str], tmp_path: Path
) -> None:
    settings = server_settings(tmp_path / "data", fresh_db)
    env = process_env(settings)

    def oms(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "oms", *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert oms("bootstrap").returncode == 0  # the first start: the seed
    before = oms("custody", "status").stdout
    new_kek = tmp_path / "new.kek"
    new_kek.write_text(secrets.token_hex(32) + "\n")
    refused = oms("custody", "rotate-kek", "--to", "configured", "--new-kek-file", str(tmp_path / "absent.kek"))
    assert refused.returncode == 1 and refused.stderr.startswith("oms: the new key-encryption key file")
    rotated = oms("custody", "rotate-kek", "--to", "configured", "--new-kek-file", str(new_kek))
    assert rotated.returncode == 0, rotated.stderr
    assert "Now set OMS_CUSTODY_KEK to the new key" in rotated.stdout
    env["OMS_CUSTODY_KEK"] = new_kek.read_text().strip()
    after = oms("custody", "status").stdout
    line = {text.split(":")[0]: text for text in after.splitlines()}
    assert [t for t in before.splitlines() if "address" in t or "xpub" in t] == [
        line["account xpub"],
        line["first address"],
    ]
    assert "retired" in line and ", rotated " in line["retired"]
    assert oms("custody", "status").returncode == 0 and oms("bootstrap").returncode == 0  # starts with the new key
    actions = [(kind, action, outcome) for kind, action, outcome in _audit_actions(settings) if "custody" in action]
    assert actions == [
        ("cli", "cli custody rotate-kek configured", "failed"),
        ("cli", "cli custody rotate-kek configured", "succeeded"),
    ]
