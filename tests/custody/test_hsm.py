"""The seed wrapped inside a PKCS#11 token (a real SoftHSM2): the round trip, the key that never leaves the
token, and the failures (a tampered wrapping, a wrong PIN, a missing token) that are clear and safe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pkcs11
import pytest
from sqlalchemy import select, update

from oms.custody import hsm, keys
from oms.custody.hsm import Pkcs11Wrapper
from oms.custody.service import Custody, CustodyError
from oms.custody.wrapping import WrappingError
from oms.models import CustodySeed
from tests.custody.conftest import SoftHsm, running, server_settings
from tests.support import OffsetClock, create_customer, create_wallet, new_api, stored_mnemonic
from tests.test_cli import assert_one_line_error


async def test_a_seed_wrapped_in_the_token_opens_after_a_restart_with_the_same_addresses(
    softhsm: SoftHsm, fresh_db: dict[str, str], tmp_path: Path, clock: OffsetClock
) -> None:
    settings = server_settings(tmp_path / "data", fresh_db, **softhsm.settings())
    async with running(settings, clock) as server:
        api = await new_api(server.client, server.ctx)
        wallet = await create_wallet(api, (await create_customer(api))["id"])
        mnemonic = await stored_mnemonic(server.ctx)
        async with server.ctx.db.session_scope(write=False) as session:
            seed = (await session.execute(select(CustodySeed))).scalar_one()
    assert (seed.wrapping_backend, seed.wrapping_key_label) == (
        "pkcs11",
        f"token '{softhsm.token_label}' key 'oms-custody-kek'",
    )
    assert mnemonic.encode() not in seed.ciphertext and len(seed.nonce) == 12
    async with running(settings, clock) as restarted:
        assert restarted.ctx.custody.xpub == keys.account_xpub(mnemonic) == seed.account_xpub
        index = next(i for i in range(1, 50) if restarted.ctx.custody.address_of(i) == wallet["address"])
        signed = restarted.ctx.custody.sign_transaction(
            index, {"to": wallet["address"], "value": 0, "gas": 21000, "gasPrice": 1, "nonce": 0, "chainId": 137}
        )
        assert signed.sender == wallet["address"]


def test_the_token_key_is_sensitive_and_never_extractable(softhsm: SoftHsm) -> None:
    Pkcs11Wrapper.provision(softhsm.config())
    hsm.close_all()  # this test logs in to the token itself
    token = pkcs11.lib(os.path.realpath(softhsm.module)).get_token(token_label=softhsm.token_label)
    with token.open(user_pin=softhsm.pin) as session:
        key = session.get_key(label="oms-custody-kek")
        assert key[pkcs11.Attribute.EXTRACTABLE] is False and key[pkcs11.Attribute.NEVER_EXTRACTABLE] is True
        assert key[pkcs11.Attribute.SENSITIVE] is True and key[pkcs11.Attribute.ALWAYS_SENSITIVE] is True
        assert key[pkcs11.Attribute.TOKEN] is True  # kept in the token, across sessions and restarts
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            key[pkcs11.Attribute.VALUE]


async def test_a_tampered_wrapped_seed_is_refused_without_revealing_anything(
    softhsm: SoftHsm, fresh_db: dict[str, str], tmp_path: Path, clock: OffsetClock
) -> None:
    settings = server_settings(tmp_path / "data", fresh_db, **softhsm.settings())
    async with running(settings, clock) as server:
        mnemonic = await stored_mnemonic(server.ctx)
        async with server.ctx.db.session_scope() as session:
            seed = (await session.execute(select(CustodySeed))).scalar_one()
            flipped = bytes([seed.ciphertext[0] ^ 1]) + seed.ciphertext[1:]
            await session.execute(update(CustodySeed).values(ciphertext=flipped))
        restarted = Custody(Pkcs11Wrapper(softhsm.config()), clock)
        async with server.ctx.db.session_scope() as session:
            with pytest.raises(CustodyError, match="failed authentication") as refused:
                await restarted.ensure_seed(session)
    assert not any(word in str(refused.value).split() for word in mnemonic.split())


async def test_a_wrong_pin_is_refused_clearly(
    softhsm: SoftHsm, fresh_db: dict[str, str], tmp_path: Path, clock: OffsetClock
) -> None:
    settings = server_settings(tmp_path / "data", fresh_db, **softhsm.settings())
    async with running(settings, clock):
        pass  # the seed, wrapped in the token
    hsm.close_all()  # the process's login ends: the next session logs in with the wrong PIN
    wrong = server_settings(tmp_path / "data", fresh_db, **softhsm.settings(pin="000000"))
    with pytest.raises(CustodyError, match=f"^the PKCS#11 token '{softhsm.token_label}' refused the PIN$"):
        async with running(wrong, clock):
            pass


async def test_a_missing_token_is_refused_clearly(
    softhsm: SoftHsm, fresh_db: dict[str, str], tmp_path: Path, clock: OffsetClock
) -> None:
    settings = server_settings(tmp_path / "data", fresh_db, **softhsm.settings())
    async with running(settings, clock):
        pass
    unplugged = settings.model_copy(update={"custody_pkcs11_token_label": "no-such-token"})
    with pytest.raises(CustodyError, match=r"^no PKCS#11 token labelled 'no-such-token' in .*libsofthsm2\.so"):
        async with running(unplugged, clock):
            pass


def _oms(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oms", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )


@pytest.mark.parametrize("failure", ["wrong PIN", "missing token"])
def test_the_command_line_says_what_is_wrong_with_the_token_in_one_line(
    softhsm: SoftHsm, install: dict[str, str], failure: str
) -> None:
    env = {**install, **softhsm.environment()}
    assert _oms(env, "migrate").returncode == 0
    assert _oms(env, "bootstrap").returncode == 0  # the first start: the seed, wrapped in the token
    if failure == "wrong PIN":
        env = {**install, **softhsm.environment(pin="999999")}
        expected = ("refused the PIN",)
    else:
        env = {**env, "OMS_CUSTODY_PKCS11_TOKEN_LABEL": "unplugged"}
        expected = ("no PKCS#11 token labelled 'unplugged'",)
    result = _oms(env, "custody", "backup", "--shares", "2", "--threshold", "2", "--stdout")
    assert_one_line_error(result, *expected)
    assert result.stdout == "" and softhsm.pin not in result.stderr and "999999" not in result.stderr


def test_a_token_key_that_could_leave_the_token_is_refused(softhsm: SoftHsm) -> None:
    token = pkcs11.lib(os.path.realpath(softhsm.module)).get_token(token_label=softhsm.token_label)
    with token.open(rw=True, user_pin=softhsm.pin) as session:
        session.generate_key(
            pkcs11.KeyType.AES, 256, label="exportable", store=True,
            template={pkcs11.Attribute.EXTRACTABLE: True, pkcs11.Attribute.SENSITIVE: False},
        )  # fmt: skip
    hsm.close_all()
    with pytest.raises(WrappingError, match=r"'exportable' .* is extractable or not sensitive"):
        Pkcs11Wrapper.provision(softhsm.config("exportable"))
