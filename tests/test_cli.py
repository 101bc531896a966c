"""The `oms` command as an operator meets it: its version, what `migrate` did, one-line errors, help with the
defaults, `sandbox reset`, and the instance `make run CHAIN=anvil` started."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from oms.__main__ import _parser
from oms.chain import devnode
from tests.support import POSTGRES_URL, free_port, fresh_database

OMS = [sys.executable, "-m", "oms"]
Result = subprocess.CompletedProcess[str]
Run = Callable[..., Result]


@pytest.fixture
def install(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A brand-new sandbox install's environment: its own data directory and an empty database."""
    env = {**os.environ, "OMS_DATA_DIR": str(tmp_path / "data"), "OMS_LOG_LEVEL": "WARNING"}
    for name in ("OMS_DATABASE_URL", "OMS_DATABASE_SCHEMA", "OMS_SECRET_KEY", "OMS_CUSTODY_KEK", "OMS_CHAIN"):
        env.pop(name, None)
    with fresh_database(tmp_path, migrate=False) as database:
        if POSTGRES_URL:
            env.update(OMS_DATABASE_URL=database["url"], OMS_DATABASE_SCHEMA=database["schema"])
        yield env


@pytest.fixture
def oms(install: dict[str, str]) -> Run:
    def run(
        *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*OMS, *args],
            env={**install, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            start_new_session=True,  # no terminal: nothing can be asked
        )

    return run


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("oms: ") and all(fragment in line for fragment in fragments), line


def test_version_names_the_release_and_the_api_version(oms: Run) -> None:
    result = oms("--version")
    assert result.returncode == 0 and re.fullmatch(r"oms \d+\.\d+\.\d+\S* \(OMS API v0\.9\)\n", result.stdout)


def test_migrate_lists_what_it_applied_then_says_there_is_nothing_to_apply(oms: Run) -> None:
    first = oms("migrate")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("applied 0001: ") and re.fullmatch(r"\d+ migrations applied", lines[-1])
    assert len(lines) - 1 == int(lines[-1].split()[0]) == len(list(Path("oms/migrations/versions").glob("0*.py")))
    again = oms("migrate")
    assert again.returncode == 0 and again.stdout == "nothing to apply: the database is at the head\n"


def test_an_evm_chain_without_its_node_settings_is_one_line(oms: Run) -> None:
    assert oms("migrate").returncode == 0
    result = oms("reconcile", env={"OMS_CHAIN": "evm"})
    assert_one_line_error(result, "OMS_EVM_RPC_URL")


def test_an_invalid_setting_is_one_line_naming_it(oms: Run) -> None:
    assert_one_line_error(oms("keys", "list", env={"OMS_PORT": "abc"}), "invalid configuration", "OMS_PORT")


def test_an_unreachable_database_is_one_line(oms: Run) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    result = oms("keys", "list", env={"OMS_DATABASE_URL": url, "OMS_DB_CONNECT_TIMEOUT_SECONDS": "2"})
    assert_one_line_error(result, "the database is unavailable")


def test_a_bad_amount_is_one_line(oms: Run) -> None:
    result = oms("sandbox", "fund", "0x" + "11" * 20, "abc")
    assert result.returncode == 2
    assert_one_line_error(result, "the amount")


def _every_parser(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _every_parser(child)


def test_every_option_has_help_that_shows_its_default() -> None:
    for parser in _every_parser(_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction | argparse._VersionAction):
                continue
            assert action.help, f"{parser.prog} {action.option_strings[0]} has no help"
            if action.default not in (None, False):
                assert f"(default: {action.default})" in " ".join(text.split()), (parser.prog, action.dest)


def test_sandbox_reset_asks_for_yes_when_it_cannot_ask(oms: Run) -> None:
    assert oms("migrate").returncode == 0 and oms("bootstrap").returncode == 0
    result = oms("sandbox", "reset")
    assert result.returncode == 2 and "--yes" in result.stderr
    assert "sk_sdbx_" in oms("keys", "list").stdout  # nothing changed


def test_sandbox_reset_is_refused_in_live_mode(oms: Run) -> None:
    live = {"OMS_MODE": "live", "OMS_SECRET_KEY": "ab" * 32, "OMS_CUSTODY_KEK": "cd" * 32}
    assert oms("migrate", env=live).returncode == 0
    result = oms("sandbox", "reset", "--yes", env=live)
    assert result.returncode == 2 and "refused in live mode" in result.stderr


def test_sandbox_reset_empties_the_sandbox_and_is_the_new_audit_log_s_first_record(oms: Run) -> None:
    assert oms("migrate").returncode == 0 and oms("bootstrap").returncode == 0
    assert oms("keys", "create", "--tenant", "acme").returncode == 0
    result = oms("sandbox", "reset", "--yes")
    assert result.returncode == 0, result.stderr
    assert "the sandbox is empty" in result.stdout
    assert oms("keys", "list").stdout == ""
    verified = oms("audit", "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("1 audit records verified")
    assert "OMS sandbox is ready" in oms("bootstrap").stdout  # a first start again: a new key


def test_a_command_given_the_devnode_s_data_dir_uses_its_chain(tmp_path: Path) -> None:
    workdir = tmp_path / "anvil"
    workdir.mkdir()
    devnode._write_instance(workdir, devnode._environment(workdir, "http://127.0.0.1:8545", "0x" + "ab" * 20))
    instance = devnode.instance_environment({"OMS_DATA_DIR": str(workdir)}, "reconcile")
    assert instance is not None and not instance.discovered
    assert instance.environment["OMS_CHAIN"] == "evm"
    assert instance.environment["OMS_EVM_RPC_URL"] == "http://127.0.0.1:8545"
    assert instance.environment["OMS_EVM_USDC_ADDRESS"] == "0x" + "ab" * 20
    assert instance.environment["OMS_EVM_DEV_NODE"] == "true"
    # What the environment sets wins over the file.
    chosen = devnode.instance_environment({"OMS_DATA_DIR": str(workdir), "OMS_EVM_RPC_URL": "http://n:1"}, "reconcile")
    assert chosen is not None and "OMS_EVM_RPC_URL" not in chosen.environment


def test_a_command_finds_the_running_devnode_by_itself_but_a_server_never_joins_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    workdir = Path(".oms/anvil")
    workdir.mkdir(parents=True)
    devnode._write_instance(workdir, devnode._environment(workdir, "http://127.0.0.1:8545", "0x" + "ab" * 20))
    found = devnode.instance_environment({}, "reconcile")  # its pid is ours: running
    assert found is not None and found.discovered and found.environment["OMS_CHAIN"] == "evm"
    for own in ("serve", "worker", "migrate", "bootstrap"):
        assert devnode.instance_environment({}, own) is None
    assert devnode.instance_environment({"OMS_DATABASE_URL": "postgresql://x/y"}, "reconcile") is None
    stopped = json.loads((workdir / devnode.INSTANCE_FILE).read_text()) | {"pid": _ended_pid()}
    (workdir / devnode.INSTANCE_FILE).write_text(json.dumps(stopped))
    assert devnode.instance_environment({}, "reconcile") is None


def test_reconcile_against_the_devnode_s_folder_asks_its_node_not_the_sandbox_chain(oms: Run, tmp_path: Path) -> None:
    """Without the instance file's settings, this database would be compared with the embedded sandbox chain."""
    workdir = tmp_path / "data"
    workdir.mkdir(exist_ok=True)
    silent_node = f"http://127.0.0.1:{free_port()}"
    devnode._write_instance(workdir, devnode._environment(workdir, silent_node, "0x" + "ab" * 20))
    assert oms("migrate").returncode == 0
    result = oms("reconcile", env={"OMS_EVM_RPC_TIMEOUT_SECONDS": "2"})
    assert_one_line_error(result, "127.0.0.1")


def _ended_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid
