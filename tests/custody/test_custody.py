"""Custody: BIP-39/44 derivation, the sealed seed, and restarts."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from oms.config import ConfigurationError, Mode, Settings
from oms.custody import keys
from oms.custody.service import Custody, CustodyError
from oms.custody.wrapping import ConfiguredKek
from oms.db import Database
from oms.kit.crypto import DecryptionFailed, fingerprint, open_sealed, seal
from oms.kit.time import SystemClock
from oms.models import CustodySeed, Wallet
from tests.support import Api, create_customer, create_wallet, fresh_database, sandbox_settings, stored_mnemonic

TEST_MNEMONIC = "abandon " * 11 + "about"


def test_standard_test_mnemonic_derives_the_known_first_address() -> None:
    xpub = keys.account_xpub(TEST_MNEMONIC)
    assert keys.address_at(xpub, 0) == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"


def test_public_derivation_matches_the_private_key() -> None:
    from eth_account import Account

    xpub = keys.account_xpub(TEST_MNEMONIC)
    for index in (1, 7, 1000):
        assert Account.from_key(keys.private_key_at(TEST_MNEMONIC, index)).address == keys.address_at(xpub, index)


def test_invalid_mnemonic_is_refused() -> None:
    with pytest.raises(keys.InvalidMnemonic):
        keys.account_xpub("abandon " * 12)


def sealed_the_old_way(kek: bytes, mnemonic: str, seed_id: int) -> tuple[bytes, bytes]:
    """How the seed was sealed before the wrapping port (migration 0019), which ``ConfiguredKek`` keeps."""
    return seal(kek, mnemonic.encode(), keys.seed_associated_data(seed_id))


def opened_the_old_way(kek: bytes, nonce: bytes, ciphertext: bytes, seed_id: int) -> str:
    return open_sealed(kek, nonce, ciphertext, keys.seed_associated_data(seed_id)).decode()


@pytest.mark.parametrize("part", ["ciphertext", "nonce", "associated_data"])
def test_a_changed_byte_fails_decryption(part: str) -> None:
    kek = secrets.token_bytes(32)
    nonce, ciphertext = sealed_the_old_way(kek, TEST_MNEMONIC, 1)
    seed_id = 1
    if part == "ciphertext":
        ciphertext = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    elif part == "nonce":
        nonce = bytes([nonce[0] ^ 1]) + nonce[1:]
    else:
        seed_id = 2  # the associated data binds the ciphertext to its seed row
    with pytest.raises(DecryptionFailed):
        opened_the_old_way(kek, nonce, ciphertext, seed_id)
    assert opened_the_old_way(kek, *sealed_the_old_way(kek, TEST_MNEMONIC, 1), 1) == TEST_MNEMONIC


async def test_the_stored_seed_is_sealed_not_plain(ctx) -> None:
    async with ctx.db.session_scope(write=False) as session:
        seed = (await session.execute(select(CustodySeed))).scalar_one()
    mnemonic = await stored_mnemonic(ctx)
    assert mnemonic.encode() not in seed.ciphertext
    assert len(mnemonic.split()) == 24


async def test_a_restart_derives_the_same_addresses(api: Api, ctx) -> None:
    customer = await create_customer(api)
    wallet = await create_wallet(api, customer["id"])
    restarted = Custody(ConfiguredKek(ctx.settings.custody_kek_bytes()), ctx.clock)
    async with ctx.db.session_scope() as session:
        await restarted.ensure_seed(session)
        row = (await session.execute(select(Wallet).where(Wallet.id == wallet["id"]))).scalar_one()
    assert keys.address_at(restarted.xpub, row.key_index) == wallet["address"]
    assert keys.address_at(keys.account_xpub(await stored_mnemonic(ctx)), row.key_index) == wallet["address"]


async def test_a_different_key_encryption_key_is_refused_at_start(ctx) -> None:
    wrong = Custody(ConfiguredKek(secrets.token_bytes(32)), ctx.clock)
    async with ctx.db.session_scope() as session:
        with pytest.raises(CustodyError, match="key-encryption key"):
            await wrong.ensure_seed(session)


def test_a_seed_sealed_before_the_wrapping_port_opens_after_the_upgrade(tmp_path: Path) -> None:
    """A data directory from before migration 0019: its seed row, sealed the old way, opens unchanged."""
    from oms.migrations.runner import upgrade

    kek = secrets.token_bytes(32)
    with fresh_database(tmp_path, migrate=False) as database:
        upgrade(database["url"], schema=database["schema"] or None, revision="0017")
        settings = sandbox_settings(tmp_path / "data", database).model_copy(update={"custody_kek": kek.hex()})
        nonce, ciphertext = sealed_the_old_way(kek, TEST_MNEMONIC, 1)

        async def insert_the_old_row() -> None:
            db = Database(settings)
            async with db.session_scope() as session:
                await session.execute(
                    text(
                        "INSERT INTO custody_seeds (id, nonce, ciphertext, kek_fingerprint, account_xpub, created_at) "
                        "VALUES (1, :nonce, :ciphertext, :fingerprint, :xpub, :at)"
                    ),
                    {"nonce": nonce, "ciphertext": ciphertext, "fingerprint": fingerprint(kek),
                     "xpub": keys.account_xpub(TEST_MNEMONIC), "at": datetime.now(UTC).replace(tzinfo=None)},
                )  # fmt: skip
            await db.dispose()

        async def open_after_the_upgrade() -> tuple[str, str]:
            db = Database(settings)
            custody = Custody(ConfiguredKek(kek), SystemClock())
            async with db.session_scope() as session:
                await custody.ensure_seed(session)
                seed = (await session.execute(select(CustodySeed))).scalar_one()
            await db.dispose()
            return custody.xpub, seed.wrapping_backend

        asyncio.run(insert_the_old_row())
        upgrade(database["url"], schema=database["schema"] or None)
        assert asyncio.run(open_after_the_upgrade()) == (keys.account_xpub(TEST_MNEMONIC), "configured")


def test_live_mode_needs_the_configured_key_only_with_the_configured_backend() -> None:
    live = {"mode": Mode.live, "secret_key": secrets.token_hex(32)}
    with pytest.raises(ConfigurationError, match="OMS_CUSTODY_KEK is required in live mode"):
        Settings(**live)
    assert Settings(**live, custody_backend="pkcs11").custody_kek == ""
