"""`oms operators …`, run as an operator runs them: the password is never printed, the setup link works once."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from functools import partial

import httpx
import pytest

from oms.config import Settings
from oms.context import AppContext
from tests.audit.support import records
from tests.support import OffsetClock, assert_error, process_env

PASSWORD = "a long enough passphrase"


@pytest.fixture
def oms(settings: Settings, clock: OffsetClock) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs ``oms ARGS`` on the test server's database, on the app's clock (tests move it forward)."""
    return partial(run_oms, settings, clock)


def run_oms(
    settings: Settings, clock: OffsetClock, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oms", *args],
        env=process_env(settings, clock),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no controlling terminal: getpass reads the answers from stdin
    )


def new_email() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}@example.com"


async def test_create_prints_a_setup_link_that_sets_the_password_once(
    oms: Callable[..., subprocess.CompletedProcess[str]], admin_http: httpx.AsyncClient
) -> None:
    email = new_email()
    created = oms("operators", "create", email, "--role", "approver")
    assert created.returncode == 0, created.stderr
    token = re.search(r"/admin/v1/setup#token=(ost_\S+)", created.stdout)[1]  # type: ignore[index]
    assert (await admin_http.post("/setup", json={"token": token, "password": PASSWORD})).status_code == 200
    assert_error(
        await admin_http.post("/setup", json={"token": token, "password": PASSWORD}), 401, "invalid_setup_token"
    )
    login = await admin_http.post("/session", json={"email": email, "password": PASSWORD})
    assert login.status_code == 201 and login.json()["operator"]["role"] == "approver"
    listed = oms("operators", "list")
    assert re.search(rf"op_\S+\t{re.escape(email)}\tapprover\tactive\tpassword\tno-totp", listed.stdout), listed.stdout


def create_prompted(
    oms: Callable[..., subprocess.CompletedProcess[str]], email: str, answers: str = f"{PASSWORD}\n{PASSWORD}\n"
) -> subprocess.CompletedProcess[str]:
    """``oms operators create EMAIL --role viewer --password-prompt``, typing ``answers`` at the prompts."""
    return oms("operators", "create", email, "--role", "viewer", "--password-prompt", stdin=answers)


async def test_password_prompt_asks_twice_and_prints_no_secret(
    oms: Callable[..., subprocess.CompletedProcess[str]], admin_http: httpx.AsyncClient
) -> None:
    email = new_email()
    differ = create_prompted(oms, email, f"{PASSWORD}\nother one entirely\n")
    assert differ.returncode == 2 and "differ" in differ.stderr
    created = create_prompted(oms, email)
    assert created.returncode == 0, created.stderr
    assert PASSWORD not in created.stdout and "setup#token" not in created.stdout  # sandbox: nothing left to set up
    assert (await admin_http.post("/session", json={"email": email, "password": PASSWORD})).status_code == 201


async def test_set_role_disable_and_reset_totp(
    oms: Callable[..., subprocess.CompletedProcess[str]], admin_http: httpx.AsyncClient
) -> None:
    email = new_email()
    create_prompted(oms, email)
    assert oms("operators", "set-role", email, "approver").returncode == 0
    login = await admin_http.post("/session", json={"email": email, "password": PASSWORD})
    assert login.json()["operator"]["role"] == "approver"
    assert oms("operators", "reset-totp", email).returncode == 0
    assert oms("operators", "disable", email).returncode == 0
    assert_error(await admin_http.get("/me"), 401, "invalid_session")
    assert oms("operators", "enable", email).returncode == 0
    assert (await admin_http.post("/session", json={"email": email, "password": PASSWORD})).status_code == 201
    missing = oms("operators", "disable", "nobody@example.com")
    assert missing.returncode == 1 and "No such operator" in missing.stderr


async def test_operator_commands_are_recorded_by_operator_id_never_email(
    oms: Callable[..., subprocess.CompletedProcess[str]], ctx: AppContext
) -> None:
    email = new_email()
    created = oms("operators", "create", email, "--role", "viewer")
    operator_id = re.search(r"\((op_\S+)\)", created.stdout)[1]  # type: ignore[index]
    assert oms("operators", "set-role", email, "approver").returncode == 0
    assert oms("operators", "disable", operator_id).returncode == 0
    found = await records(ctx, object_id=operator_id)
    assert [(r["actor"]["kind"], r["action"]) for r in found] == [
        ("cli", "cli operators create viewer"),
        ("cli", "cli operators set-role approver"),
        ("cli", "cli operators disable"),
    ]
    assert email not in str(found) and "ost_" not in str(found)
