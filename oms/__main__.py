"""``oms``: serve, worker, migrate, bootstrap, keys, customers, policies, reconcile, deposits, sandbox, audit,
screening, custody."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from oms import API_PREFIX
from oms.config import Mode, Settings

if TYPE_CHECKING:  # the commands import the application lazily: `oms --help` stays instant
    from sqlalchemy.ext.asyncio import AsyncSession

    from oms.auth.service import IssuedKey
    from oms.context import AppContext
    from oms.custody.wrapping import SeedWrapper
    from oms.operator.service import SetupLink
    from oms.reconcile.service import FlaggedDeposit, ReconcileRun

T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        from oms.kit.logging import configure_logging

        _join_devnode_instance(args.command)
        settings = Settings()
        configure_logging(settings.log_level, json_lines=settings.json_logs())
        return int(args.handler(settings, args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `oms … | head`: the reader has gone; nothing more to say, to anyone
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        problem = expected_error(exc)
        if problem is None:
            raise  # a bug: its traceback is what a report needs
        print(f"oms: {problem}", file=sys.stderr)
        return 1


def _join_devnode_instance(command: str) -> None:
    """Run against the instance `make run CHAIN=anvil` started, when this command is meant to (its chain, its
    database): see oms.chain.devnode.instance_environment."""
    import os

    from oms.chain.devnode import instance_environment

    instance = instance_environment(os.environ, command)
    if instance is None:
        return
    os.environ.update(instance.environment)
    if instance.discovered:
        print(f"oms: using the running `make run CHAIN=anvil` instance ({instance.workdir})", file=sys.stderr)


def expected_error(exc: BaseException) -> str | None:
    """One line for an error a command meets in normal use (a configuration that cannot work, a database or
    node that is down, a refusal of a service), or None for a bug. Every command's errors pass through here,
    so none of them prints a traceback for these."""
    from pydantic import ValidationError

    from oms.chain.port import ChainError
    from oms.config import ConfigurationError
    from oms.custody.recovery import RecoveryError
    from oms.custody.service import CustodyError
    from oms.errors import OMSError
    from oms.kit.logging import redact_all
    from oms.outage import unavailable
    from oms.signer.process import SignerRunning

    if isinstance(exc, ValidationError):  # the environment's settings
        return "invalid configuration: " + "; ".join(
            f"OMS_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}" for error in exc.errors()
        )
    if isinstance(exc, CustodyError | RecoveryError | SignerRunning):
        return str(exc)  # written to be printed: no key, PIN or share in it
    if isinstance(exc, ConfigurationError | ChainError):
        return redact_all(str(exc))  # a node's URL may carry its API key
    if isinstance(exc, OMSError):
        return exc.message
    outage = unavailable(exc)
    if outage is not None:
        cause = exc
        while cause.__cause__ is not None:
            cause = cause.__cause__
        what = "the chain node" if "chain" in outage.message.lower() else "the database"
        return f"{what} is unavailable ({type(cause).__name__}): is it running, and is its address right?"
    if _unmigrated(exc):
        return "the database lacks the server's tables: run `oms migrate` first"
    return None


def _unmigrated(exc: BaseException) -> bool:
    """A table missing (SQLite's "no such table", PostgreSQL's 42P01): a database not migrated yet (a fresh one
    for `oms custody recover`)."""
    cause: BaseException | None = exc
    while cause is not None:
        if "no such table" in str(cause) or getattr(cause, "sqlstate", None) == "42P01":
            return True
        cause = cause.__cause__
    return False


class _DefaultsFormatter(argparse.HelpFormatter):
    """An option's help ends with its default, when it has one (a default that comes from the environment is
    written in the help itself)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """Every command's help shows each option's default."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("oms")
    except PackageNotFoundError:  # a source tree that is not installed
        release = "unknown"
    return f"oms {release} (OMS API {API_PREFIX.strip('/')})"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="oms", description=__doc__)
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="serve the API")
    serve.add_argument("--host", help="address to listen on (default: OMS_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: OMS_PORT, 8080)")
    serve.add_argument("--workers", type=int, help="API worker processes, PostgreSQL only (default: OMS_WORKERS, 1)")
    serve.set_defaults(handler=_serve)

    commands.add_parser("worker", help="run the background jobs").set_defaults(handler=_worker)
    commands.add_parser(
        "signer", help="the signer: the only process that opens the custody seed and signs (its own service)"
    ).set_defaults(handler=_signer)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=_migrate)
    commands.add_parser("bootstrap", help="first-start set-up: a sandbox tenant and key, printed once").set_defaults(
        handler=_bootstrap
    )

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="create an API key (prints the secret once)")
    create.add_argument("--tenant", required=True, help="the tenant's name (created if it does not exist)")
    create.add_argument(
        "--mode", choices=[m.value for m in Mode], default=None, help="the key's mode (default: OMS_MODE, sandbox)"
    )
    create.add_argument(
        "--scopes",
        default="full",
        help="what the key may do: a preset (full, read_only) or scopes, comma-separated: read, customers:write, "
        "wallets:write, money:write, webhooks:write",
    )
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument(
        "--expires-in", help="the key stops working after this long: 30d, 12h, 90m or 3600s (default: never)"
    )
    expiry.add_argument(
        "--expires-at", help="the key stops working at this time (ISO 8601, UTC if no offset; default: never)"
    )
    create.set_defaults(handler=_keys_create)
    listing = keys.add_parser("list", help="list API keys")
    listing.add_argument("--tenant", help="only this tenant's keys (by name; default: every tenant's)")
    listing.set_defaults(handler=_keys_list)
    revoke = keys.add_parser("revoke", help="revoke an API key; its tokens stop working at once")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_keys_revoke)
    customers = commands.add_parser("customers", help="operator actions on customers").add_subparsers(
        dest="customers_command", required=True
    )
    status = customers.add_parser("set-status", help="activate or deactivate a customer (inactive: no money moves)")
    status.add_argument("customer_id")
    status.add_argument("status", choices=["active", "inactive"])
    status.set_defaults(handler=_customer_status)
    _operator_commands(commands)
    _policy_commands(commands)
    reconcile = commands.add_parser(
        "reconcile", help="compare every wallet's ledger balance with the chain (exit 1 on any difference)"
    )
    reconcile.add_argument("--tenant", help="only this tenant's wallets (by name; default: every tenant's)")
    reconcile.set_defaults(handler=_reconcile)
    deposits = commands.add_parser(
        "deposits", help="review deposits seen on chain that the ledger could not take"
    ).add_subparsers(dest="deposits_command", required=True)
    flagged = deposits.add_parser("flagged", help="list flagged deposits awaiting review (never credited)")
    flagged.add_argument("--tenant", help="only this tenant's (by name; default: every tenant's)")
    flagged.set_defaults(handler=_deposits_flagged)
    dismiss = deposits.add_parser(
        "dismiss",
        help="mark a flagged deposit reviewed: kept on record, its tokens stay outside the ledger, and "
        "`oms reconcile` no longer reports it",
    )
    dismiss.add_argument("deposit_id")
    dismiss.add_argument("--reason", required=True, help="why (kept with the deposit, at most 500 characters)")
    dismiss.set_defaults(handler=_deposits_dismiss)
    sandbox = commands.add_parser("sandbox", help="sandbox chain tools").add_subparsers(
        dest="sandbox_command", required=True
    )
    fund = sandbox.add_parser("fund", help="send test tokens to any address on the sandbox chain")
    fund.add_argument("address")
    fund.add_argument("amount", help="decimal amount, e.g. 25.00")
    fund.add_argument("--asset", default="usdc", help="the token: usdc or usdt")
    fund.add_argument("--network", default="polygon", help="the sandbox chain: polygon or ethereum")
    fund.set_defaults(handler=_sandbox_fund)
    reset = sandbox.add_parser(
        "reset",
        help="delete everything in the sandbox database (tenants, keys, customers, wallets, money, webhooks, the "
        "audit log, the sandbox chain) and start it empty; stop the server first",
    )
    reset.add_argument("--yes", action="store_true", help="do not ask (default: ask on a terminal, else refuse)")
    reset.set_defaults(handler=_sandbox_reset)
    commands.add_parser(
        "demo",
        help="fill an empty sandbox with believable data through the API (tenant 'demo'): customers, funded "
        "wallets, settled and failed transactions, cash-in, bank and deposit-address funding, a webhook with "
        "deliveries",
    ).set_defaults(handler=_demo)
    audit = commands.add_parser("audit", help="the audit log's hash chain").add_subparsers(
        dest="audit_command", required=True
    )
    verify = audit.add_parser(
        "verify", help="recompute the chain from its first record (exit 1 naming the first broken record)"
    )
    verify.add_argument(
        "--head", help="a head logged earlier (SEQUENCE:HASH): it must be in the chain unchanged (default: none)"
    )
    verify.set_defaults(handler=_audit_verify)
    audit.add_parser("head", help="print the chain's head (SEQUENCE:HASH)").set_defaults(handler=_audit_head)
    screening = commands.add_parser("screening", help="the sanctions list screening reads").add_subparsers(
        dest="screening_command", required=True
    )
    imported = screening.add_parser(
        "import",
        help="import the OFAC SDN list's digital-currency addresses from its published SDN_ADVANCED.XML or "
        "SDN.XML; a newer list replaces the active one (exit 1: an older, repeated or unreadable file)",
    )
    imported.add_argument("file")
    imported.set_defaults(handler=_screening_import)
    screening.add_parser("lists", help="the imported lists, newest first (the active one marked)").set_defaults(
        handler=_screening_lists
    )
    _custody_commands(commands)
    return parser


def _policy_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    policies = commands.add_parser(
        "policies", help="a tenant's policies (the admin API's /tenants/{id}/policies); answers are JSON"
    ).add_subparsers(dest="policies_command", required=True)
    listing = policies.add_parser("list", help="list a tenant's policies")
    listing.add_argument("tenant_id")
    listing.set_defaults(handler=_policies, action="list")
    for name, help_ in (("show", "show a policy's current version"), ("versions", "list every version of a policy"),
                        ("disable", "disable a policy (a last version)")):  # fmt: skip
        command = policies.add_parser(name, help=help_)
        command.add_argument("tenant_id")
        command.add_argument("policy_id")
        command.set_defaults(handler=_policies, action=name)
    create = policies.add_parser("create", help="create a policy from a JSON file (the admin API's body; - : stdin)")
    create.add_argument("tenant_id")
    create.add_argument("file")
    create.set_defaults(handler=_policies, action="create")
    update = policies.add_parser("update", help="a policy's next version from a JSON file (a full replacement)")
    update.add_argument("tenant_id")
    update.add_argument("policy_id")
    update.add_argument("file")
    update.set_defaults(handler=_policies, action="update")


def _policies(settings: Settings, args: argparse.Namespace) -> int:
    """``oms policies …``: the admin API's policy operations from the command line, changes audited as the OS
    user; a refusal is one line on stderr and exit status 1 (and, for a change, recorded in the audit log)."""
    import orjson
    from pydantic import ValidationError

    from oms.audit import service as audit
    from oms.errors import OMSError
    from oms.kit.pagination import MAX_LIMIT, PageParams
    from oms.policy.schemas import PolicyWrite

    action: str = args.action
    body: PolicyWrite | None = None
    if action in {"create", "update"}:
        try:
            text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()  # noqa: SIM115
            body = PolicyWrite.model_validate_json(text)
        except (OSError, ValidationError) as exc:
            print(f"oms: {args.file}: {exc}", file=sys.stderr)
            return 1
    policy_id: str | None = getattr(args, "policy_id", None)

    async def run(ctx: AppContext) -> object:
        service, actor, tenant = ctx.policies, audit.cli_actor(), args.tenant_id
        write = action in {"create", "update", "disable"}
        try:
            async with ctx.db.session_scope(write=write) as session:
                answer: object
                if action == "list":
                    page = PageParams(MAX_LIMIT, None, None, None, None)
                    answer = await service.list(session, tenant, page, status=None)
                elif action == "show":
                    answer = await service.get(session, tenant, str(policy_id))
                elif action == "versions":
                    answer = await service.versions(session, tenant, str(policy_id))
                elif action == "disable":
                    answer = await service.disable(session, tenant, str(policy_id), actor)
                elif action == "create":
                    assert body is not None
                    answer = await service.create(session, tenant, body, actor)
                else:
                    assert body is not None
                    answer = await service.update(session, tenant, str(policy_id), body, actor)
                if write:
                    object_id = answer["id"] if isinstance(answer, dict) else policy_id
                    await _audited(ctx, session, f"policies {action}", object_id=object_id, tenant_id=tenant)
                return answer
        except OMSError as error:
            if write:
                await _refused(ctx, f"policies {action}", object_id=policy_id, error_code=error.code)
            raise

    try:
        answer = _in_context(settings, run, start=False)
    except OMSError as error:
        print(f"oms: {error.message}", file=sys.stderr)
        return 1
    print(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode())
    return 0


def _operator_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    roles = ["viewer", "approver", "admin"]
    operators = commands.add_parser(
        "operators", help="the people who operate this server (the admin API, /admin/v1)"
    ).add_subparsers(dest="operators_command", required=True)
    create = operators.add_parser(
        "create", help="create an operator: prints a one-time setup link (the password is the operator's to set)"
    )
    create.add_argument("email")
    create.add_argument("--role", choices=roles, required=True, help="what the operator may do")
    create.add_argument(
        "--password-prompt",
        action="store_true",
        help="ask for the password on this terminal instead, twice (default: print a setup link)",
    )
    create.set_defaults(handler=_operators_create)
    operators.add_parser("list", help="list operators").set_defaults(handler=_operators_list)
    set_role = operators.add_parser("set-role", help="change an operator's role (never the last active admin's)")
    set_role.add_argument("operator", help="email or id")
    set_role.add_argument("role", choices=roles)
    set_role.set_defaults(handler=_operators_change, status=None)
    disable = operators.add_parser("disable", help="disable an operator: refused at once, sessions and tokens end")
    disable.add_argument("operator", help="email or id")
    disable.set_defaults(handler=_operators_change, role=None, status="disabled")
    enable = operators.add_parser("enable", help="enable a disabled operator again")
    enable.add_argument("operator", help="email or id")
    enable.set_defaults(handler=_operators_change, role=None, status="active")
    reset = operators.add_parser(
        "reset-totp", help="forget an operator's second factor (a lost device); live mode: prints a link to enrol again"
    )
    reset.add_argument("operator", help="email or id")
    reset.set_defaults(handler=_operators_reset_totp)
    link = operators.add_parser("setup-link", help="print a new one-time setup link (a forgotten password)")
    link.add_argument("operator", help="email or id")
    link.set_defaults(handler=_operators_setup_link)


def _in_context(
    settings: Settings, work: Callable[[AppContext], Awaitable[T]], *, start: bool = True, signs: bool | None = None
) -> T:
    """Run ``work`` with a fresh application context (started: custody and chains ready), closed after.
    ``signs``: whether ``work`` needs signatures (by default, when the context is started): a signer answers."""
    from oms.context import AppContext

    # A worker or a command serves no request: it never opens the hot pool (README, "Connection budget").
    settings = settings.model_copy(update={"hot_reads": False})

    async def run() -> T:
        ctx = AppContext.build(settings)
        try:
            if start:
                await ctx.start()
            return await work(ctx)
        finally:
            await ctx.close()

    if not (start if signs is None else signs):
        return asyncio.run(run())
    from oms.signer.spawn import signer_for

    with signer_for(settings):  # a started context may need the signer (the seed, signatures): one answers
        return asyncio.run(run())


async def _audited(
    ctx: AppContext,
    session: AsyncSession,
    action: str,
    *,
    object_id: str | None,
    tenant_id: str | None = None,
    error_code: str | None = None,
) -> None:
    """Record a command in the audit log, in its own session (before its commit), as the OS user running it."""
    from oms.audit import service as audit

    entry = ctx.audit.entry(
        audit.cli_actor(), f"cli {action}", tenant_id=tenant_id, object_id=object_id, error_code=error_code
    )
    await audit.record(session, entry)


async def _refused(ctx: AppContext, action: str, *, object_id: str | None, error_code: str) -> None:
    """A command that changed nothing: its refusal recorded in a transaction of its own."""
    async with ctx.db.session_scope() as session:
        await _audited(ctx, session, action, object_id=object_id, error_code=error_code)


def _customer_status(settings: Settings, args: argparse.Namespace) -> int:
    from oms.errors import NotFound

    async def run(ctx: AppContext) -> None:
        action = f"customers set-status {args.status}"
        try:
            async with ctx.db.session_scope() as session:
                tenant_id = await ctx.customers.set_status(session, args.customer_id, args.status)
                await _audited(ctx, session, action, object_id=args.customer_id, tenant_id=tenant_id)
        except NotFound:
            await _refused(ctx, action, object_id=args.customer_id, error_code="resource_missing")
            raise

    try:
        _in_context(settings, run, start=False)
    except NotFound:
        print(f"oms: no customer {args.customer_id}", file=sys.stderr)
        return 1
    print(f"{args.customer_id} is {args.status}")
    return 0


def _print_link(link: SetupLink) -> None:
    print(f"setup link (one use, until {link.expires_at:%Y-%m-%dT%H:%M:%SZ}): {link.url}")
    print(
        "Give it to the operator only. Opened in a browser it asks for a password (and a TOTP key, required in\n"
        "live mode); or POST /admin/v1/setup/totp {token} and POST /admin/v1/setup {token, password, totpCode}."
    )


def _operator_action(
    settings: Settings, work: Callable[[AppContext, str], Awaitable[T]], who: str, *, action: str
) -> T:
    """Run ``work`` on the operator named by email or id; a refusal (none such, the last admin) is one line and
    exit status 1, and is recorded in the audit log as ``action`` (the operator's id, never an email)."""
    from oms.errors import OMSError

    async def run(ctx: AppContext) -> T:
        operator_id = who if who.startswith("op_") else None
        try:
            async with ctx.db.session_scope() as session:
                lookup = ctx.operators.get if who.startswith("op_") else ctx.operators.by_email
                operator_id = (await lookup(session, who)).id
            return await work(ctx, operator_id)
        except OMSError as error:
            await _refused(ctx, action, object_id=operator_id, error_code=error.code)
            raise

    try:
        return _in_context(settings, run, start=False)
    except OMSError as error:
        print(f"oms: {error.message}", file=sys.stderr)
        raise SystemExit(1) from None


def _operators_create(settings: Settings, args: argparse.Namespace) -> int:
    import getpass

    from oms.errors import OMSError
    from oms.operator.service import check_password

    password = None
    if args.password_prompt:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            print("oms: the passwords differ", file=sys.stderr)
            return 2
        try:
            check_password(password)
        except OMSError as error:
            print(f"oms: {error.message}", file=sys.stderr)
            return 2

    async def run(ctx: AppContext) -> tuple[str, SetupLink | None]:
        try:
            async with ctx.db.session_scope() as session:
                operator, setup = await ctx.operators.create(session, args.email, args.role)
                link: SetupLink | None = setup
                if password is not None:
                    await ctx.operators.set_password(session, operator.id, password)
                    # The password is set; in live mode the link is still needed once, to enrol the second factor.
                    link = setup if ctx.operators.totp_required else None
                await _audited(ctx, session, f"operators create {args.role}", object_id=operator.id)
                return operator.id, link
        except OMSError as error:  # the email is personal data: the refusal is recorded without it
            await _refused(ctx, f"operators create {args.role}", object_id=None, error_code=error.code)
            raise

    try:
        operator_id, link = _in_context(settings, run, start=False)
    except OMSError as error:
        print(f"oms: {error.message}", file=sys.stderr)
        return 1
    print(f"operator: {args.email.strip().lower()} ({operator_id}), {args.role}")
    if link is not None:
        _print_link(link)
    return 0


def _operators_list(settings: Settings, _: argparse.Namespace) -> int:
    async def run(ctx: AppContext) -> None:
        async with ctx.db.session_scope(write=False) as session:
            for operator in await ctx.operators.list(session):
                second = "totp" if operator.totp_confirmed_at else "no-totp"
                password = "password" if operator.password_hash else "no-password"
                print(f"{operator.id}\t{operator.email}\t{operator.role}\t{operator.status}\t{password}\t{second}")

    _in_context(settings, run, start=False)
    return 0


def _operators_change(settings: Settings, args: argparse.Namespace) -> int:
    """set-role, disable, enable: one change, of the role or of the status (the other is None)."""
    if args.role is not None:
        action = f"operators set-role {args.role}"
    else:
        action = "operators " + ("disable" if args.status == "disabled" else "enable")

    async def work(ctx: AppContext, operator_id: str) -> None:
        async with ctx.db.session_scope() as session:
            await ctx.operators.change(session, operator_id, role=args.role, status=args.status)
            await _audited(ctx, session, action, object_id=operator_id)

    _operator_action(settings, work, args.operator, action=action)
    print(f"{args.operator} is {args.role or args.status}")
    return 0


def _operators_reset_totp(settings: Settings, args: argparse.Namespace) -> int:
    async def work(ctx: AppContext, operator_id: str) -> SetupLink | None:
        async with ctx.db.session_scope() as session:
            link = await ctx.operators.reset_totp(session, operator_id)
            await _audited(ctx, session, "operators reset-totp", object_id=operator_id)
            return link

    link = _operator_action(settings, work, args.operator, action="operators reset-totp")
    print(f"{args.operator}: second factor removed, sessions ended")
    if link is not None:
        _print_link(link)
    return 0


def _operators_setup_link(settings: Settings, args: argparse.Namespace) -> int:
    async def work(ctx: AppContext, operator_id: str) -> SetupLink:
        async with ctx.db.session_scope() as session:
            link = await ctx.operators.issue_setup_link(session, operator_id)
            await _audited(ctx, session, "operators setup-link", object_id=operator_id)
            return link

    _print_link(_operator_action(settings, work, args.operator, action="operators setup-link"))
    return 0


async def _tenant_id(ctx: AppContext, name: str | None) -> str | None:
    """The id of the tenant named ``name`` (None for every tenant); exits with one line if there is none."""
    from oms.auth import repository

    if not name:
        return None
    async with ctx.db.session_scope(write=False) as session:
        tenant = await repository.get_tenant_by_name(session, name)
    if tenant is None:
        raise SystemExit(f"oms: no tenant named {name}")
    return tenant.id


def _reconcile(settings: Settings, args: argparse.Namespace) -> int:
    async def run(ctx: AppContext) -> ReconcileRun:
        return await ctx.reconciler.check(by="cli", tenant_id=await _tenant_id(ctx, args.tenant))

    result = _in_context(settings, run)
    checked, differences, flagged = result.checked, result.differences, result.flagged
    for difference in differences:
        print(f"DIFFERENCE {difference.describe()}")
    for deposit in flagged:
        print(f"FLAGGED {deposit.describe()}")
    summary = f"{checked} addresses checked, {len(differences)} differences"
    print(summary + (f", {len(flagged)} flagged deposits" if flagged else ""))
    return 1 if differences or flagged else 0


def _deposits_flagged(settings: Settings, args: argparse.Namespace) -> int:
    async def run(ctx: AppContext) -> list[FlaggedDeposit]:
        return await ctx.reconciler.flagged(tenant_id=await _tenant_id(ctx, args.tenant))

    found = _in_context(settings, run, start=False)
    for deposit in found:
        seen = f"{deposit.seen_at:%Y-%m-%dT%H:%M:%SZ}" if deposit.seen_at else ""
        print(f"FLAGGED {seen} tenant {deposit.tenant_id}: {deposit.describe()}")
    print(f"{len(found)} flagged deposits")
    return 0


def _deposits_dismiss(settings: Settings, args: argparse.Namespace) -> int:
    from oms.deposit.service import dismiss_flagged
    from oms.models import MAX_REVIEW_NOTE

    reason = args.reason.strip()
    if not reason or len(reason) > MAX_REVIEW_NOTE or "\0" in reason:
        print(f"oms: give a --reason of 1 to {MAX_REVIEW_NOTE} characters", file=sys.stderr)
        return 2

    async def run(ctx: AppContext) -> str:
        try:
            async with ctx.db.session_scope() as session:
                deposit = await dismiss_flagged(session, args.deposit_id, reason=reason, now=ctx.clock.now())
                # the reason is the operator's free text: kept with the deposit, not in the audit log
                await _audited(ctx, session, "deposits dismiss", object_id=args.deposit_id, tenant_id=deposit.tenant_id)
                return f"{deposit.chain} {deposit.asset} to {deposit.wallet_id}"
        except LookupError:
            await _refused(ctx, "deposits dismiss", object_id=args.deposit_id, error_code="resource_missing")
            raise

    try:
        what = _in_context(settings, run, start=False)
    except LookupError as exc:
        print(f"oms: {exc}", file=sys.stderr)
        return 1
    print(f"dismissed {args.deposit_id} ({what}): kept on record, its tokens stay outside the ledger")
    return 0


def _screening_import(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from oms.screening import ofac
    from oms.screening import service as screening

    path = Path(args.file)
    try:
        publication = ofac.read(path)
    except ofac.ListFileError as exc:
        print(f"oms: {exc}", file=sys.stderr)
        return 1

    async def run(ctx: AppContext) -> str:
        try:
            async with ctx.db.session_scope() as session:
                listing, previous = await screening.import_publication(
                    session, publication, file_name=path.name, now=ctx.clock.now()
                )
                await _audited(ctx, session, "screening import", object_id=listing.id)
        except ofac.ListFileError:
            await _refused(ctx, "screening import", object_id=None, error_code="list_refused")
            raise
        replaced = f", replacing {previous.id} of {previous.published_on.isoformat()}" if previous else ""
        return (
            f"imported {listing.id}: {listing.source} published {listing.published_on.isoformat()}, "
            f"{listing.address_count} digital currency addresses{replaced}"
        )

    try:
        print(_in_context(settings, run, start=False))
    except ofac.ListFileError as exc:
        print(f"oms: {exc}", file=sys.stderr)
        return 1
    return 0


def _screening_lists(settings: Settings, _: argparse.Namespace) -> int:
    from oms.screening import service as screening

    async def run(ctx: AppContext) -> None:
        async with ctx.db.session_scope(write=False) as session:
            for listing in await screening.lists(session):
                state = "active" if listing.active else "replaced"
                print(
                    f"{listing.id}\t{state}\t{listing.published_on.isoformat()}\t{listing.address_count}\t"
                    f"{listing.source}\t{listing.file_name}\tsha256:{listing.sha256}\t"
                    f"imported {listing.imported_at:%Y-%m-%dT%H:%M:%SZ}"
                )

    _in_context(settings, run, start=False)
    return 0


def _sandbox_fund(settings: Settings, args: argparse.Namespace) -> int:
    from eth_utils import is_address, to_checksum_address

    from oms.chain.port import dev_controls
    from oms.kit.money import ASSETS, AmountError, parse_amount

    if settings.chain != "sandbox" and not settings.evm_dev_node:
        print("oms: `sandbox fund` needs the sandbox chain or a dev node (`make run CHAIN=anvil`)", file=sys.stderr)
        return 2
    if not is_address(args.address) or args.asset not in ASSETS:
        print("oms: give a valid address and asset", file=sys.stderr)
        return 2
    try:
        amount = parse_amount(args.amount, ASSETS[args.asset].decimals)
    except AmountError as exc:
        print(f"oms: the amount {exc}", file=sys.stderr)
        return 2

    async def run(ctx: AppContext) -> str:
        chain = dev_controls(ctx.chains.get(args.network))
        return str(await chain.mint(args.asset, to_checksum_address(args.address), amount))

    print(f"submitted {args.amount} {args.asset} to {args.address} on {args.network}: {_in_context(settings, run)}")
    return 0


def _sandbox_reset(settings: Settings, args: argparse.Namespace) -> int:
    from oms.migrations.runner import downgrade_to_base, upgrade

    if settings.mode is not Mode.sandbox:
        print("oms: `sandbox reset` is refused in live mode: it deletes every record", file=sys.stderr)
        return 2
    if settings.chain != "sandbox":
        print(
            "oms: `sandbox reset` needs the sandbox chain: an EVM node keeps its balances, which the emptied database "
            "would no longer know (for `make run CHAIN=anvil`: stop it and delete its folder, .oms/anvil)",
            file=sys.stderr,
        )
        return 2
    where = _database_named(settings)
    if not args.yes:
        if not sys.stdin.isatty():
            print("oms: `sandbox reset` deletes every record; add --yes to do it without a question", file=sys.stderr)
            return 2
        answer = input(f"Delete every record in {where} and start the sandbox empty? Type 'reset' to go on: ")
        if answer.strip() != "reset":
            print("nothing changed")
            return 1
    schema = settings.database_schema or None
    downgrade_to_base(settings.database_url, schema=schema)
    upgrade(settings.database_url, schema=schema)

    async def run(ctx: AppContext) -> None:  # the new audit log's first record: this reset
        async with ctx.db.session_scope() as session:
            await _audited(ctx, session, "sandbox reset", object_id=None)

    _in_context(settings, run, start=False)
    print(f"reset {where}: the sandbox is empty. `make run` (or `oms bootstrap`) prints a new key.")
    return 0


def _demo(settings: Settings, _: argparse.Namespace) -> int:
    from oms import demo

    if settings.mode is not Mode.sandbox or settings.chain != "sandbox":
        print("oms: `demo` needs a sandbox server on the sandbox chain", file=sys.stderr)
        return 2
    print("seeding the demo tenant through the API (the sandbox chain settles as it goes: about a minute)…")
    try:
        demo_settings = settings.model_copy(update={"embedded_worker": False})
        summary = _in_context(demo_settings, demo.seed, start=False, signs=True)  # its transfers are signed
    except demo.DemoFailed as exc:
        print(f"oms: {exc}", file=sys.stderr)
        return 1
    transactions = ", ".join(f"{count} {status}" for status, count in sorted(summary.transactions.items()))
    print(f"""tenant:     {demo.TENANT} ({summary.tenant_id})
customers:  {summary.customers}, wallets: {summary.wallets}
transactions: {transactions}
webhook deliveries: {summary.deliveries} (the subscription is disabled: its receiver was this command)
apiKey:     {summary.api_key}
apiSecret:  {summary.api_secret}
The secret is shown only now; it reads and changes the demo tenant.""")
    return 0


def _database_named(settings: Settings) -> str:
    """The database, as an operator recognises it: a SQLite file's path, or PostgreSQL's host and name."""
    from sqlalchemy import make_url

    from oms.db import normalise_url

    url = make_url(normalise_url(settings.database_url))
    if settings.is_sqlite:
        return str(url.database)
    schema = f" (schema {settings.database_schema})" if settings.database_schema else ""
    return f"{url.database} on {url.host}:{url.port or 5432}{schema}"


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    _count_metrics_together(settings)
    from oms.db import warn_if_over_budget
    from oms.server import AddressUnavailable, reserved_address, serve

    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    workers = args.workers or settings.workers
    try:
        # First of all: a server that cannot listen says so in one line, and nothing else happens.
        with reserved_address(host, port):
            if workers > 1 and settings.is_sqlite:
                print("oms: several API workers need PostgreSQL; serving with one.", file=sys.stderr)
                workers = 1
            asyncio.run(warn_if_over_budget(settings, workers))
            from oms.signer.spawn import signer_for

            with signer_for(settings):  # none configured: the signer runs as this server's child
                serve(host, port, workers)
    except AddressUnavailable as exc:
        print(f"oms: {exc}", file=sys.stderr)
        return 1
    return 0


def _worker(settings: Settings, _: argparse.Namespace) -> int:
    _count_metrics_together(settings)
    from oms import worker

    _in_context(settings, worker.run_all)
    return 0


def _signer(settings: Settings, _: argparse.Namespace) -> int:
    from oms.signer import process

    return process.run(settings)


def _count_metrics_together(settings: Settings) -> None:
    """The server's workers (and a worker process on the same host) count their metrics into one directory,
    named before anything imports prometheus_client."""
    if settings.metrics:
        from oms.metrics.directory import multiprocess_directory

        multiprocess_directory(settings)


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    from oms.migrations.runner import upgrade

    applied = upgrade(settings.database_url, schema=settings.database_schema or None)
    for revision, description in applied:
        print(f"applied {revision}: {description}")
    print(f"{len(applied)} migrations applied" if applied else "nothing to apply: the database is at the head")
    return 0


def _keys_create(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from oms.auth import scopes
    from oms.kit.time import as_utc

    mode = Mode(args.mode) if args.mode else settings.mode
    try:
        granted = scopes.parse(args.scopes)
        lifetime = _duration(args.expires_in) if args.expires_in else None
        expires_at = as_utc(datetime.fromisoformat(args.expires_at)) if args.expires_at else None
    except ValueError as exc:
        print(f"oms: {exc}", file=sys.stderr)
        return 2
    if lifetime is not None:
        expires_at = datetime.now(UTC) + lifetime  # the CLI's own clock, like `oms keys revoke`'s
    if expires_at is not None and expires_at <= datetime.now(UTC):
        print(f"oms: the expiry {expires_at:%Y-%m-%dT%H:%M:%SZ} is not in the future", file=sys.stderr)
        return 2

    async def run(ctx: AppContext) -> IssuedKey:
        async with ctx.db.session_scope() as session:
            issued = await ctx.auth.create_key(
                session, tenant_name=args.tenant, mode=mode, scopes=granted, expires_at=expires_at
            )
            await _audited(ctx, session, "keys create", object_id=issued.key_id, tenant_id=issued.tenant_id)
            return issued

    issued = _in_context(settings, run, start=False)
    print(f"tenant:     {args.tenant} ({issued.tenant_id})")
    print(f"apiKey:     {issued.key_id}")
    print(f"apiSecret:  {issued.secret}")
    print(f"scopes:     {scopes.described(issued.scopes)}")
    print(f"expires:    {_moment(issued.expires_at) if issued.expires_at else 'never'}")
    print("The secret is shown only now; store it safely.")
    return 0


_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def _duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``3600s``: a positive whole number and its unit."""
    number, unit = text[:-1], text[-1:]
    if unit not in _UNITS or not number.isdigit() or int(number) == 0:
        raise ValueError(f"invalid --expires-in {text!r}: a positive whole number of d, h, m or s, like 30d")
    return timedelta(**{_UNITS[unit]: int(number)})


def _moment(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _keys_list(settings: Settings, args: argparse.Namespace) -> int:
    from oms.auth import repository
    from oms.auth.scopes import described, granted_by
    from oms.auth.service import key_status

    async def run(ctx: AppContext) -> None:
        now = ctx.clock.now()
        async with ctx.db.session_scope(write=False) as session:
            for key, tenant in await repository.list_keys(session, args.tenant):
                status = key_status(key, now)
                since = key.revoked_at if status == "revoked" else key.expires_at if status == "expired" else None
                state = f"{status} {_moment(since)}" if since else status
                expiry = f"expires {_moment(key.expires_at)}" if key.expires_at else "no expiry"
                print(f"{key.id}\t{tenant.name}\t{key.mode}\t{state}\t{described(granted_by(key.scopes))}\t{expiry}")

    _in_context(settings, run, start=False)
    return 0


def _keys_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from oms.auth import repository

    async def run(ctx: AppContext) -> bool:
        async with ctx.db.session_scope() as session:
            key = await repository.get_key(session, args.key_id)
            revoked = await repository.revoke_key(session, args.key_id, ctx.clock.now())
            tenant_id = key.tenant_id if key is not None else None
            code = None if revoked else "resource_missing"  # unknown or already revoked: nothing changed
            await _audited(ctx, session, "keys revoke", object_id=args.key_id, tenant_id=tenant_id, error_code=code)
            return revoked

    if not _in_context(settings, run, start=False):
        print(f"oms: no active key {args.key_id}", file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}")
    return 0


def _bootstrap(settings: Settings, _: argparse.Namespace) -> int:
    """On the first start of a sandbox install, create a tenant and key and show how to use them."""
    from oms.auth import repository

    async def run(ctx: AppContext) -> IssuedKey | None:
        async with ctx.db.session_scope() as session:
            if await repository.list_keys(session, None):
                return None
            issued = await ctx.auth.create_key(session, tenant_name="sandbox", mode=Mode.sandbox)
            await _audited(ctx, session, "bootstrap", object_id=issued.key_id, tenant_id=issued.tenant_id)
            return issued

    if settings.mode is not Mode.sandbox:
        return 0
    issued = _in_context(settings, run)
    base = f"http://{settings.host}:{settings.port}{API_PREFIX}"
    if issued is None:
        print(
            f"\nOMS sandbox at {base} (docs: {base}/docs). Your first key was printed at first start;\n"
            "create another with: .venv/bin/oms keys create --tenant sandbox\n"
        )
        return 0
    print(f"""
OMS sandbox is ready at {base}  (interactive docs: {base}/docs)

  apiKey:    {issued.key_id}
  apiSecret: {issued.secret}

This secret is shown only once. Exchange the key for a bearer token:

curl -X POST {base}/auth/token \\
  -H "Content-Type: application/json" \\
  -d '{{
    "apiKey": "{issued.key_id}",
    "apiSecret": "{issued.secret}"
  }}'
""")
    return 0


def _audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from oms.audit import service as audit

    try:
        logged = audit.parse_head(args.head) if args.head else None
    except ValueError as exc:
        print(f"oms: {exc}", file=sys.stderr)
        return 2

    async def run(ctx: AppContext) -> audit.Verdict:
        async with ctx.db.session_scope(write=False) as session:
            return await audit.verify(session, logged_head=logged)

    verdict = _in_context(settings, run, start=False)
    if not verdict.sound:
        print(f"BROKEN at audit record {verdict.broken_at} (aud_{verdict.broken_at}): {verdict.reason}")
        print(f"{verdict.count} records verified before it")
        return 1
    sequence, digest = verdict.head
    print(f"{verdict.count} audit records verified; head {sequence}:{digest}")
    return 0


def _audit_head(settings: Settings, _: argparse.Namespace) -> int:
    from oms.audit import service as audit

    async def run(ctx: AppContext) -> tuple[int, str]:
        async with ctx.db.session_scope(write=False) as session:
            return await audit.current_head(session)

    sequence, digest = _in_context(settings, run, start=False)
    print(f"{sequence}:{digest}")
    return 0


# --- oms custody: the seed's wrapping, its rotation, the recovery kit (docs/custody.md) ---------------------

_KIT_WARNING = """\
WARNING: these shares ARE the custody master seed. Any {threshold} of them can rebuild it and move every
customer's funds; fewer reveal nothing. Give each share to a different custodian, keep them offline and apart
(never together, never in this server's backups, a ticket or a chat), and check each one as it is handed over."""


def _custody_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    custody = commands.add_parser(
        "custody", help="the master seed's wrapping key, its rotation, the recovery kit (docs/custody.md)"
    ).add_subparsers(dest="custody_command", required=True)
    custody.add_parser(
        "status", help="which key wraps the seed, its public key, and the retired keys (nothing secret)"
    ).set_defaults(handler=_custody_status)
    rotate = custody.add_parser(
        "rotate-kek",
        help="re-wrap the seed under a new key-encryption key (no address changes); the old key is retired. The "
        "seed is opened with the key the settings configure now",
    )
    rotate.add_argument("--to", choices=["configured", "pkcs11"], required=True, help="the new key's backend")
    rotate.add_argument(
        "--new-kek-file", help="--to configured: a file holding the new 32-byte key (hex or base64), e.g. written "
        "by `openssl rand -hex 32`; afterwards set OMS_CUSTODY_KEK to it"
    )  # fmt: skip
    rotate.add_argument("--module", help="--to pkcs11: the PKCS#11 module (default: OMS_CUSTODY_PKCS11_MODULE)")
    rotate.add_argument("--token-label", help="--to pkcs11: the token (default: OMS_CUSTODY_PKCS11_TOKEN_LABEL)")
    rotate.add_argument(
        "--key-label", help="--to pkcs11: the new key's label, generated in the token unless there already "
        "(default: OMS_CUSTODY_PKCS11_KEY_LABEL)"
    )  # fmt: skip
    rotate.add_argument("--pin-file", help="--to pkcs11: the token's PIN (default: OMS_CUSTODY_PKCS11_PIN[_FILE])")
    rotate.set_defaults(handler=_custody_rotate)
    backup = custody.add_parser(
        "backup", help="write the recovery kit: the seed as N SLIP-39 shares, any K of which rebuild it"
    )
    backup.add_argument("--shares", type=int, required=True, help="how many shares (N, at most 16)")
    backup.add_argument("--threshold", type=int, required=True, help="how many rebuild the seed (K)")
    where = backup.add_mutually_exclusive_group(required=True)
    where.add_argument("--out-dir", help="write share-1-of-N.txt ... there, readable by you only (a new folder)")
    where.add_argument("--stdout", action="store_true", help="print the shares instead (to a printer, say)")
    backup.set_defaults(handler=_custody_backup)
    recover = custody.add_parser(
        "recover",
        help="rebuild the seed from K shares and wrap it under the configured key: on a fresh database (after "
        "`oms migrate`), or on a restored one whose key was lost (the same seed only)",
    )
    recover.add_argument(
        "--share-file", action="append", help="a file of shares, one a line (# comments ignored); "
        "repeat for each file (default: ask for each share on the terminal, or read standard input)"
    )  # fmt: skip
    recover.set_defaults(handler=_custody_recover)


def _configured_wrapper(ctx: AppContext) -> SeedWrapper:
    """The key the settings configure, whatever ``OMS_SIGNER`` says: a custody ceremony runs where that key is
    (the signer's host), never through the signer."""
    from oms.custody.wiring import build_wrapper

    return build_wrapper(ctx.settings)


def _custody_status(settings: Settings, _: argparse.Namespace) -> int:
    from oms.custody import keys
    from oms.custody import service as custody

    async def run(ctx: AppContext) -> None:
        async with ctx.db.session_scope(write=False) as session:
            seed, retired = await custody.status(session)
        wrapping = custody.describe_key(seed.wrapping_backend, seed.kek_fingerprint, seed.wrapping_key_label)
        print(f"wrapped by:    {wrapping}, since {_moment(seed.wrapped_at)}")
        print(f"configured:    {settings.custody_backend}")
        print(f"account xpub:  {seed.account_xpub}")
        print(f"first address: {keys.address_at(seed.account_xpub, 0)}")
        for key in retired:
            what = custody.describe_key(key.backend, key.key_id, key.key_label)
            print(
                f"retired:       {what}, {key.reason} {_moment(key.retired_at)} "
                f"(wrapped since {_moment(key.wrapped_since)}), replaced by {key.replaced_by_backend} key "
                f"{key.replaced_by_key_id}"
            )

    _in_context(settings, run, start=False)
    return 0


def _custody_rotate(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from oms.custody import service as custody
    from oms.custody import wiring
    from oms.custody.wrapping import ConfiguredKek

    if args.to == "configured" and not args.new_kek_file:
        print("oms: --to configured needs --new-kek-file (a file holding the new key)", file=sys.stderr)
        return 2
    action = f"custody rotate-kek {args.to}"

    async def run(ctx: AppContext) -> custody.Rewrapped:
        try:
            new: SeedWrapper
            if args.to == "configured":
                new = wiring.new_configured_kek(Path(args.new_kek_file))
            else:
                config = wiring.pkcs11_config(
                    settings,
                    module=args.module,
                    token_label=args.token_label,
                    key_label=args.key_label,
                    pin_file=Path(args.pin_file) if args.pin_file else None,
                )
                new = wiring.provisioned_pkcs11(config)
            async with ctx.db.session_scope() as session:
                rewrapped = await custody.rotate(session, current=_configured_wrapper(ctx), new=new, clock=ctx.clock)
                await _audited(ctx, session, action, object_id=rewrapped.key_id)
        except Exception as exc:
            if expected_error(exc) is not None:
                await _refused(ctx, action, object_id=None, error_code="rotation_refused")
            raise
        if isinstance(new, ConfiguredKek) and wiring.development_kek_in_use(settings):
            path = wiring.install_development_kek(settings, Path(args.new_kek_file))
            print(f"the sandbox's key file {path} now holds the new key")
        return rewrapped

    rewrapped = _in_context(settings, run, start=False)
    print(f"re-wrapped the seed under {rewrapped.wrapping}")
    print(f"retired: {rewrapped.retired}")
    print(f"account xpub unchanged: {rewrapped.xpub}")
    if args.to == "configured" and not settings.custody_kek:
        print("Every process must now run with the new key (the sandbox's key file has it).")
    elif args.to == "configured":
        print("Now set OMS_CUSTODY_KEK to the new key (the file's contents) and restart every process.")
    else:
        print(
            "Now set OMS_CUSTODY_BACKEND=pkcs11 and OMS_CUSTODY_PKCS11_* to this token and key, and restart every "
            "process."
        )
    return 0


def _custody_backup(settings: Settings, args: argparse.Namespace) -> int:
    import os
    from datetime import UTC, datetime
    from pathlib import Path

    from oms.custody import recovery
    from oms.custody import service as custody

    try:
        recovery.check_split(args.shares, args.threshold)
    except ValueError as exc:
        print(f"oms: {exc}", file=sys.stderr)
        return 2
    folder = Path(args.out_dir) if args.out_dir else None
    if folder is not None:
        if folder.exists() and any(folder.iterdir()):
            print(f"oms: {folder} is not empty: give a new folder for the recovery kit", file=sys.stderr)
            return 2
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    action = f"custody backup {args.threshold}-of-{args.shares}"

    async def run(ctx: AppContext) -> custody.Kit:
        try:
            async with ctx.db.session_scope() as session:
                wrapper = _configured_wrapper(ctx)
                kit = await custody.backup(session, wrapper, shares=args.shares, threshold=args.threshold)
                await _audited(ctx, session, action, object_id=None)
                return kit
        except Exception as exc:
            if expected_error(exc) is not None:
                await _refused(ctx, action, object_id=None, error_code="backup_refused")
            raise

    kit = _in_context(settings, run, start=False)
    made = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
    blocks = []
    for number, share in enumerate(kit.shares, start=1):
        blocks.append(
            f"# OMS custody recovery share {number} of {len(kit.shares)}: any {kit.threshold} rebuild the seed.\n"
            f"# Seed: account xpub {kit.xpub}, first address {kit.first_address}; made {made}.\n"
            f"{share}\n"
        )
    print(_KIT_WARNING.format(threshold=kit.threshold), file=sys.stderr)
    if folder is None:
        print("\n".join(blocks), end="")
        return 0
    for number, block in enumerate(blocks, start=1):
        path = folder / f"share-{number}-of-{len(blocks)}.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(block)
    print(f"wrote {len(blocks)} shares to {folder} (share-N-of-{len(blocks)}.txt): move each to its custodian")
    return 0


def _read_shares(files: list[str]) -> list[str]:
    """Every share in ``files`` (one a line, ``#`` comments and blank lines ignored); none given: from the
    terminal, asked one at a time without echo until the first share's threshold is reached, or from stdin."""
    import getpass

    from oms.custody import recovery

    def shares_in(text: str) -> list[str]:
        lines = (line.strip() for line in text.splitlines())
        return [line for line in lines if line and not line.startswith("#")]

    if files:
        found: list[str] = []
        for name in files:
            with open(name, encoding="utf-8") as file:
                found.extend(shares_in(file.read()))
        return found
    if not sys.stdin.isatty():
        return shares_in(sys.stdin.read())
    shares = [getpass.getpass("Share 1 (its words, not shown): ")]
    needed = recovery.inspect(shares[0], 1).threshold
    print(f"share 1 read: {needed} shares rebuild the seed", file=sys.stderr)
    while len(shares) < needed:
        shares.append(getpass.getpass(f"Share {len(shares) + 1} of {needed}: "))
    return shares


def _custody_recover(settings: Settings, args: argparse.Namespace) -> int:
    from oms.custody import keys
    from oms.custody import service as custody

    try:
        shares = _read_shares(args.share_file or [])
    except OSError as exc:
        print(f"oms: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1

    async def run(ctx: AppContext) -> custody.Rewrapped:
        try:
            async with ctx.db.session_scope() as session:
                wrapper = _configured_wrapper(ctx)
                rewrapped = await custody.recover(session, shares=shares, wrapper=wrapper, clock=ctx.clock)
                await _audited(ctx, session, "custody recover", object_id=rewrapped.key_id)
                return rewrapped
        except Exception as exc:
            if expected_error(exc) is not None:
                await _refused(ctx, "custody recover", object_id=None, error_code="recovery_refused")
            raise

    rewrapped = _in_context(settings, run, start=False)
    print(f"rebuilt the seed: account xpub {rewrapped.xpub}, first address {keys.address_at(rewrapped.xpub, 0)}")
    print(f"wrapped under {rewrapped.wrapping}")
    if rewrapped.retired:
        print(f"retired (lost): {rewrapped.retired}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
