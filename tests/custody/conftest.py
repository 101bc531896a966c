"""Custody's fixtures: a real SoftHSM2 token of the test's own, fresh databases, and servers started on them.

The token: ``softhsm2-util --init-token`` in a temporary directory with its own SOFTHSM2_CONF. Skipped only
where SoftHSM2 is not installed, and failed instead when OMS_TEST_REQUIRE_HSM=1 (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from oms.custody import hsm
from oms.custody.hsm import Pkcs11Config
from tests.support import OffsetClock, fresh_database, sandbox_settings
from tests.test_cli import install  # noqa: F401  (the fixture: a brand-new install's environment)

REQUIRE_HSM = os.environ.get("OMS_TEST_REQUIRE_HSM") == "1"


@dataclass(frozen=True)
class SoftHsm:
    """A SoftHSM2 token initialised for one test: its module, label, user PIN and configuration file."""

    module: str
    token_label: str
    pin: str
    conf: Path
    directory: Path

    def config(self, key_label: str = "oms-custody-kek", *, pin: str | None = None) -> Pkcs11Config:
        return Pkcs11Config(
            module=self.module, token_label=self.token_label, key_label=key_label, pin=self.pin if pin is None else pin
        )

    def settings(self, key_label: str = "oms-custody-kek", *, pin: str | None = None) -> dict[str, Any]:
        """The settings that configure this token and key as the seed's wrapper."""
        pin_file = self.directory / f"pin-{secrets.token_hex(4)}"
        pin_file.write_text((self.pin if pin is None else pin) + "\n")
        return {
            "custody_backend": "pkcs11",
            "custody_pkcs11_module": self.module,
            "custody_pkcs11_token_label": self.token_label,
            "custody_pkcs11_key_label": key_label,
            "custody_pkcs11_pin_file": pin_file,
        }

    def environment(self, key_label: str = "oms-custody-kek", *, pin: str | None = None) -> dict[str, str]:
        """The same, as an ``oms`` process's environment."""
        values = self.settings(key_label, pin=pin)
        return {"SOFTHSM2_CONF": str(self.conf), **{f"OMS_{k.upper()}": str(v) for k, v in values.items()}}


@pytest.fixture
def softhsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SoftHsm]:
    module, util = hsm.softhsm_module(), shutil.which("softhsm2-util")
    if module is None or util is None:
        if REQUIRE_HSM:
            pytest.fail("OMS_TEST_REQUIRE_HSM=1 but SoftHSM2 is not installed (apt-get install softhsm2)")
        pytest.skip("SoftHSM2 is not installed (apt-get install softhsm2)")
    directory = tmp_path / "softhsm"
    (directory / "tokens").mkdir(parents=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    token = SoftHsm(module, f"oms-test-{secrets.token_hex(4)}", secrets.token_hex(4), conf, directory)
    subprocess.run(
        [util, "--init-token", "--free", "--label", token.token_label, "--pin", token.pin, "--so-pin", "0" + token.pin],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    hsm.close_all()  # the module reads SOFTHSM2_CONF when it is loaded: load it again for this token
    yield token
    hsm.close_all()


@pytest.fixture
def fresh_db(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A migrated database of this test's own (SQLite file or PostgreSQL schema)."""
    with fresh_database(tmp_path / "first") as database:
        yield database


@pytest.fixture
def other_db(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A second one: a fresh server's."""
    (tmp_path / "second").mkdir()
    with fresh_database(tmp_path / "second") as database:
        yield database


def server_settings(data_dir: Path, database: dict[str, str], **update: Any) -> Settings:
    """A test server's settings (``sandbox_settings``) on ``database``, in its own data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return sandbox_settings(data_dir, database).model_copy(update=update)


@dataclass
class Server:
    ctx: AppContext
    client: httpx.AsyncClient


@asynccontextmanager
async def running(settings: Settings, clock: OffsetClock) -> AsyncIterator[Server]:
    """A started server (its context: custody opened, chains ready) and an HTTP client of its API."""
    ctx = AppContext.build(settings, clock=clock)
    try:
        await ctx.start()
        app = create_app(settings, ctx=ctx)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://oms.test/v0.9") as client:
            yield Server(ctx, client)
    finally:
        await ctx.close()
