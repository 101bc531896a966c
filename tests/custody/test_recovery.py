"""The recovery kit: SLIP-39 shares of the seed, any K of N rebuilding the very same mnemonic; recovery onto a
fresh server, and onto a restored database whose key was lost (reconcile clean, money still moves)."""

from __future__ import annotations

import itertools
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import shamir_mnemonic
from sqlalchemy import select

from oms.config import Settings
from oms.context import AppContext
from oms.custody import keys, recovery
from oms.custody import service as custody
from oms.custody.recovery import RecoveryError
from oms.custody.service import CustodyError
from oms.models import Wallet
from tests.custody.conftest import running, server_settings
from tests.support import (
    Api,
    OffsetClock,
    create_customer,
    create_wallet,
    execute,
    fresh_database,
    funded_wallet,
    ledger_is_sound,
    new_api,
    process_env,
    quote,
    settle_until_completed,
)
from tests.test_cli import assert_one_line_error

MNEMONIC = keys.generate_mnemonic()


def test_any_threshold_of_the_shares_rebuild_the_very_same_mnemonic() -> None:
    shares = recovery.split(MNEMONIC, shares=5, threshold=3)
    assert len(shares) == 5 and all(len(share.split()) == 33 for share in shares)
    for chosen in itertools.permutations(shares, 3):
        assert recovery.combine(list(chosen)) == MNEMONIC
    twelve = "abandon " * 11 + "about"
    assert recovery.combine(recovery.split(twelve, shares=2, threshold=2)) == twelve


def test_fewer_shares_than_the_threshold_are_refused() -> None:
    shares = recovery.split(MNEMONIC, shares=5, threshold=3)
    with pytest.raises(RecoveryError, match=r"^3 different shares are needed to rebuild the seed, 2 given"):
        recovery.combine(shares[:2])


def test_a_share_given_twice_is_refused() -> None:
    shares = recovery.split(MNEMONIC, shares=3, threshold=2)
    with pytest.raises(RecoveryError, match=r"^share 2 repeats share 1 \(the same share given twice\)$"):
        recovery.combine([shares[1], shares[1]])


def test_a_share_with_a_changed_word_is_refused_without_quoting_it() -> None:
    shares = recovery.split(MNEMONIC, shares=3, threshold=2)
    words = shares[1].split()
    words[10] = "academic" if words[10] != "academic" else "acid"
    with pytest.raises(RecoveryError, match=r"^share 2 is not a valid SLIP-39 share") as refused:
        recovery.combine([shares[0], " ".join(words)])
    assert not set(str(refused.value).split()) & set(shares[0].split() + words)


def test_a_share_of_another_backup_is_refused() -> None:
    ours, theirs = recovery.split(MNEMONIC, shares=3, threshold=2), recovery.split(MNEMONIC, shares=3, threshold=2)
    with pytest.raises(RecoveryError, match=r"^share 2 belongs to another backup than share 1$"):
        recovery.combine([ours[0], theirs[1]])


def test_a_valid_share_of_another_secret_under_the_same_backup_is_refused() -> None:
    shares = recovery.split(MNEMONIC, shares=3, threshold=2)
    first = shamir_mnemonic.Share.from_mnemonic(shares[0])
    other = shamir_mnemonic.EncryptedMasterSecret.from_master_secret(
        secrets.token_bytes(32), b"", first.identifier, first.extendable, first.iteration_exponent
    )
    [forged] = shamir_mnemonic.split_ems(1, [(2, 3)], other)
    with pytest.raises(RecoveryError, match=r"^the shares do not rebuild a seed: one of them is wrong"):
        recovery.combine([shares[0], forged[1].mnemonic()])


@pytest.mark.parametrize(("shares", "threshold"), [(3, 4), (3, 1), (17, 3), (3, 0)])
def test_a_kit_that_slip39_cannot_make_or_that_would_copy_the_seed_is_refused(shares: int, threshold: int) -> None:
    with pytest.raises(ValueError, match="threshold"):
        recovery.split(MNEMONIC, shares=shares, threshold=threshold)


async def _recover(settings: Settings, clock: OffsetClock, shares: list[str]) -> custody.Rewrapped:
    """``oms custody recover``'s work: on a context that is not started (a start would make a new seed)."""
    ctx = AppContext.build(settings, clock=clock)
    try:
        async with ctx.db.session_scope() as session:
            return await custody.recover(session, shares=shares, wrapper=ctx.custody.wrapper, clock=clock)
    finally:
        await ctx.close()


async def _backup(server: Any, shares: int, threshold: int) -> custody.Kit:
    async with server.ctx.db.session_scope(write=False) as session:
        return await custody.backup(session, server.ctx.custody.wrapper, shares=shares, threshold=threshold)


async def test_recovery_on_a_fresh_server_derives_the_same_addresses(
    fresh_db: dict[str, str], other_db: dict[str, str], tmp_path: Path, clock: OffsetClock
) -> None:
    async with running(server_settings(tmp_path / "old", fresh_db), clock) as old:
        api = await new_api(old.client, old.ctx)
        wallets = [await create_wallet(api, (await create_customer(api))["id"]) for _ in range(2)]
        kit = await _backup(old, 5, 3)
        xpub = old.ctx.custody.xpub
        async with old.ctx.db.session_scope(write=False) as session:
            indexes = [w.key_index for w in await session.scalars(select(Wallet).order_by(Wallet.key_index))]

    fresh = server_settings(tmp_path / "new", other_db)  # another data directory (another key), another database
    recovered = await _recover(fresh, clock, [kit.shares[4], kit.shares[0], kit.shares[2]])
    assert (recovered.xpub, recovered.retired) == (xpub, None)
    async with running(fresh, clock) as new:
        assert new.ctx.custody.xpub == xpub
        assert [new.ctx.custody.address_of(index) for index in indexes] == [w["address"] for w in wallets]
        assert kit.first_address == new.ctx.custody.address_of(0)


async def test_recovery_of_a_restored_database_whose_key_was_lost_reconciles_and_moves_money(
    fresh_db: dict[str, str], tmp_path: Path, clock: OffsetClock
) -> None:
    before = server_settings(tmp_path / "lost", fresh_db)
    async with running(before, clock) as old:
        api = await new_api(old.client, old.ctx)
        customer, wallet = await funded_wallet(api, old.ctx, clock, "50.00")
        recipient = await create_wallet(api, (await create_customer(api))["id"])
        kit = await _backup(old, 3, 2)

    # The server is gone with its data directory and its key-encryption key; the database is restored from its
    # backup, and the configuration's other secrets (OMS_SECRET_KEY: API keys, tokens) from theirs.
    after = before.model_copy(update={"data_dir": tmp_path / "rebuilt", "custody_kek": secrets.token_hex(32)})
    with pytest.raises(CustodyError, match="not the one that wraps the seed"):
        async with running(after, clock):
            pass
    with pytest.raises(CustodyError, match="another seed than the one this database holds"):
        await _recover(after, clock, recovery.split(keys.generate_mnemonic(), shares=2, threshold=2))
    recovered = await _recover(after, clock, kit.shares[1:])
    assert recovered.retired is not None and recovered.retired.startswith("configured key ")

    async with running(after, clock) as new:
        checked, differences = await new.ctx.reconciler.run()
        assert checked >= 2 and differences == []
        same_tenant = Api(new.client, api.token, api.issued)
        sent = await quote(same_tenant, customer, wallet, to=recipient, amount="20.00")
        assert sent.status_code == 201, sent.text
        transaction = await execute(same_tenant, sent.json()["id"])
        assert transaction.status_code == 201, transaction.text
        await settle_until_completed(new.ctx, clock, same_tenant, transaction.json()["id"])
        received = (await same_tenant.get(f"/wallets/{recipient['id']}/balance")).json()
        assert received["balance"] == "19.97"  # 20.00 less the fees
        await ledger_is_sound(new.ctx, same_tenant)


async def test_recovery_where_the_configured_key_still_opens_the_seed_is_refused(
    fresh_db: dict[str, str], tmp_path: Path, clock: OffsetClock
) -> None:
    settings = server_settings(tmp_path / "data", fresh_db)
    async with running(settings, clock) as server:
        kit = await _backup(server, 2, 2)
    with pytest.raises(CustodyError, match="wrapped by the configured key already: nothing to recover"):
        await _recover(settings, clock, kit.shares)


def test_backup_and_recover_on_the_command_line_rebuild_the_seed_on_a_fresh_install(
    fresh_db: dict[str, str], tmp_path: Path
) -> None:
    old_env = process_env(server_settings(tmp_path / "old", fresh_db))

    def oms(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "oms", *args]
        return subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, timeout=120)

    assert oms(old_env, "bootstrap").returncode == 0
    xpub = next(line for line in oms(old_env, "custody", "status").stdout.splitlines() if "xpub" in line)
    kit = tmp_path / "kit"
    made = oms(old_env, "custody", "backup", "--shares", "3", "--threshold", "2", "--out-dir", str(kit))
    assert made.returncode == 0, made.stderr
    assert "these shares ARE the custody master seed" in made.stderr and "Any 2 of them" in made.stderr
    files = sorted(kit.iterdir())
    assert [f.name for f in files] == [f"share-{n}-of-3.txt" for n in (1, 2, 3)]
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    again = oms(old_env, "custody", "backup", "--shares", "3", "--threshold", "2", "--out-dir", str(kit))
    assert_one_line_error(again, "is not empty")

    (tmp_path / "new").mkdir()
    with fresh_database(tmp_path / "new") as other:
        new_env = process_env(server_settings(tmp_path / "new" / "data", other))
        too_few = oms(new_env, "custody", "recover", "--share-file", str(files[2]))
        assert_one_line_error(too_few, "2 different shares are needed to rebuild the seed, 1 given")
        assert_one_line_error(oms(new_env, "custody", "status"), "no custody seed yet")  # nothing written
        from_stdin = files[2].read_text() + files[0].read_text()
        recovered = oms(new_env, "custody", "recover", stdin=from_stdin)
        assert recovered.returncode == 0, recovered.stderr
        assert xpub in oms(new_env, "custody", "status").stdout.splitlines()
        assert oms(new_env, "bootstrap").returncode == 0  # the recovered seed opens at start


def test_recover_before_the_database_is_migrated_says_to_migrate_in_one_line(
    install: dict[str, str], tmp_path: Path
) -> None:
    share = tmp_path / "share.txt"
    share.write_text(recovery.split(MNEMONIC, shares=1, threshold=1)[0] + "\n")
    command = [sys.executable, "-m", "oms", "custody", "recover", "--share-file", str(share)]
    result = subprocess.run(command, env=install, capture_output=True, text=True, timeout=120)
    assert_one_line_error(result, "run `oms migrate` first")


def _answer_on_a_terminal(command: list[str], env: dict[str, str], answers: list[str]) -> tuple[int, str]:
    """Run ``command`` on a pseudo-terminal of its own, typing each answer after each ``: `` prompt."""
    import os
    import pty
    import select as selecting

    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        try:
            os.execve(command[0], command, env)
        finally:
            os._exit(127)  # never the test suite again, in a child
    seen, typed, answered_at = b"", 0, 0
    try:
        while True:
            ready, _, _ = selecting.select([fd], [], [], 60)
            if not ready:
                raise AssertionError(f"no prompt within a minute: {seen.decode(errors='replace')}")
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child has ended (EIO)
                break
            if not chunk:
                break
            seen += chunk
            if typed < len(answers) and seen[answered_at:].rstrip().endswith(b":"):  # a new prompt
                os.write(fd, answers[typed].encode() + b"\n")
                typed += 1
                answered_at = len(seen)
    except BaseException:
        os.kill(pid, 9)
        raise
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_recover_asks_for_each_share_on_the_terminal_without_showing_it(
    fresh_db: dict[str, str], tmp_path: Path
) -> None:
    env = process_env(server_settings(tmp_path / "data", fresh_db))
    shares = recovery.split(MNEMONIC, shares=5, threshold=3)
    command = [sys.executable, "-m", "oms", "custody", "recover"]
    code, screen = _answer_on_a_terminal(command, env, [shares[3], shares[0], shares[4]])
    assert code == 0, screen
    assert "Share 1 (its words, not shown):" in screen and "Share 3 of 3:" in screen
    assert f"account xpub {keys.account_xpub(MNEMONIC)}" in screen
    # Never echoed: no three words of a share in a row on the screen (a single word may be any English word).
    shown = " ".join(screen.split())
    runs = [" ".join(words[i : i + 3]) for words in map(str.split, shares) for i in range(len(words) - 2)]
    assert not any(run in shown for run in runs)
