"""Structured logs, with every secret redacted before a record is written anywhere."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any

import orjson
from sqlalchemy.exc import StatementError

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Values that must never reach a log line, whatever field or message they hide in (one pass, one regex).
_SECRET = re.compile(
    r"(?P<jwt>eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,})"  # JWTs
    r"|(?P<api>\bsks_[A-Za-z0-9_-]{10,})"  # API secrets
    r"|(?P<webhook>\bwhsec_[A-Za-z0-9+/=_-]{10,})"  # webhook secrets
    r"|(?P<operator>\bo(?:at|ss|st)_[A-Za-z0-9_-]{10,})"  # operators' tokens, session cookies, setup links
    r"|(?P<bearer>(?i:bearer)\s+)[A-Za-z0-9._~+/=-]+"  # Authorization header values
    r"|(?P<key>\b0x[0-9a-fA-F]{64}\b)"  # raw private keys / 32-byte secrets
    # The data a database error quotes, in text formatted elsewhere (a traceback granian renders itself):
    # PostgreSQL's DETAIL line (`Key (email)=(…)`, `Failing row contains (…)`), asyncpg's rejected argument,
    # SQLAlchemy's statement parameters. Tracebacks we format carry none of them (format_exception).
    r"|(?P<detail>\bDETAIL:[ \t]*)[^\n]*"
    r"|(?P<argument>\binvalid input for query argument \$\d+:[ \t]*)[^\n]*"
    r"|(?P<parameters>\[parameters:[ \t]*)[^\n]*"
)
_KEPT_PREFIXES = ("bearer", "detail", "argument", "parameters")
_SECRET_KEYS = {
    "apisecret", "secret", "accesstoken", "authorization", "mnemonic", "seed", "password", "privatekey",
    "private_key", "kek", "secret_key", "custody_kek", "token", "totpcode", "csrftoken", "provisioninguri",
    "pin", "custody_pkcs11_pin", "share", "shares",
}  # fmt: skip
REDACTED = "[REDACTED]"


# URLs keep their scheme and host; credentials, path and query go: hosted nodes put their API key there.
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://)(?:[^@/\s'\"]+@)?([^/\s'\"?#]+)([^\s'\"]*)", re.IGNORECASE)


def scrub_urls(text: str) -> str:
    return _URL.sub(lambda m: m.group(1) + m.group(2) + ("/" + REDACTED if m.group(3).strip("/") else ""), text)


def redact_text(text: str) -> str:
    if not _may_hold_secret(text):
        return text
    return redact_all(text)


def redact_all(text: str) -> str:
    """Every pattern above replaced, without the quick check (which must never skip a line this changes)."""
    return scrub_urls(_SECRET.sub(_redacted, text))


def _redacted(match: re.Match[str]) -> str:
    return next((match.group(name) for name in _KEPT_PREFIXES if match.group(name)), "") + REDACTED


def _may_hold_secret(text: str) -> bool:
    """False only when no pattern above can match: each needs one of these literals. Every log line's
    fields pass through here, and substring tests cost a twentieth of the two regex passes."""
    return (
        "eyJ" in text
        or "sks_" in text
        or "whsec_" in text
        or "oat_" in text
        or "oss_" in text
        or "ost_" in text
        or "0x" in text
        or "://" in text
        or ("bearer" in text.lower())
        or "DETAIL:" in text
        or "query argument" in text
        or "[parameters:" in text
    )


def redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: (REDACTED if str(k).lower() in _SECRET_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Rewrites the message and extra fields of every record; attached to handlers, so nothing escapes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                record.msg = str(record.msg)
            record.args = None
        record.msg = redact_text(str(record.msg))
        fields = record.__dict__
        for key in [key for key in fields if key not in _STANDARD_ATTRS]:
            fields[key] = REDACTED if key.lower() in _SECRET_KEYS else redact(fields[key])
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(format_exception(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def format_exception(exc_info: ExcInfo) -> str:
    """A traceback as the standard library writes it, except that a database error's message, which quotes the
    data of its statement (parameters, `DETAIL: Key (email)=(…)`, a rejected argument), is replaced by what
    identifies the error without it: its classes, SQLSTATE, the constraint, table and column it names, and
    the kind of statement (docs/decisions.md, "No personal data in logs")."""
    text = "".join(traceback.format_exception(*exc_info))
    replacements = []
    for error in _chain(exc_info[1]):
        safe = _database_error(error)
        if safe is not None:
            # The lines the standard library wrote for this exception: "module.Class: message" (and notes).
            written = "".join(traceback.format_exception_only(type(error), error))
            named = written.partition("\n")[0].partition(": ")[0]
            replacements.append((written, f"{named}: {safe}\n"))
    for written, safe in sorted(replacements, key=lambda pair: -len(pair[0])):  # one may quote another
        text = text.replace(written, safe)
    return text.rstrip("\n")


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending = [error] if error is not None else []
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        pending.extend(getattr(current, "exceptions", ()))  # an ExceptionGroup's


def _database_error(error: BaseException) -> str | None:
    """The safe description of a database error, or None for any other exception (left as it is)."""
    if isinstance(error, StatementError):
        words = (error.statement or "").split()
        kind = " ".join(words[:3]) if words else "a statement"
        cause = describe_driver_error(error.orig) if error.orig is not None else "an error"
        return f"{cause} in {kind} (statement and parameters not logged)"
    if _from_postgresql_driver(error):
        return describe_driver_error(error, named=False)  # the line names its class already
    return None


def describe_driver_error(error: BaseException, *, named: bool = True) -> str:
    """A driver error by its classes and the names PostgreSQL gives (SQLSTATE, constraint, table, column),
    never its message: PostgreSQL's can quote values (`invalid input syntax for type …: "…"`), asyncpg's a
    rejected argument. SQLite's messages name a constraint or column, never a value: they are kept."""
    if type(error).__module__ == "sqlite3":
        return f"{type(error).__name__}: {error}"
    names: list[str] = []
    facts: dict[str, str] = {}
    current: BaseException | None = error
    for _ in range(3):  # SQLAlchemy's adapted error, the driver's, and what caused that
        if current is None:
            break
        if type(current).__name__ not in names:  # the adapted error is named as the driver's
            names.append(type(current).__name__)
        for attribute, label in _POSTGRES_FACTS:
            value = getattr(current, attribute, None)
            if value and label not in facts:
                facts[label] = str(value)
        current = current.__cause__
    described = ", ".join([*names[1:], *(f"{label} {value}" for label, value in facts.items())])
    if not named:
        return described or "details not logged"
    return f"{names[0]} ({described})" if described else names[0]


_POSTGRES_FACTS = (
    ("sqlstate", "SQLSTATE"),
    ("constraint_name", "constraint"),
    ("table_name", "table"),
    ("column_name", "column"),
)


def _from_postgresql_driver(error: BaseException) -> bool:
    module = type(error).__module__
    return module.split(".")[0] == "asyncpg" or module.startswith("sqlalchemy.dialects.postgresql")


_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request_id := request_id_var.get()) is not None:
            payload["requestId"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS:
                payload[key] = value
        if record.exc_text:
            payload["exception"] = record.exc_text
        return orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


_ACCESS_FIELDS = ("method", "path", "status", "durationMs")


class TextFormatter(logging.Formatter):
    """One line for people: time (UTC), level, logger, message, then every extra field as ``name=value``.
    An access line reads ``POST /v0.9/customers 201 12.5ms`` in place of its message. Values are the
    redacted ones (the filter runs first); a value with a space or a quote is JSON-quoted."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        fields = {key: value for key, value in record.__dict__.items() if key not in _STANDARD_ATTRS}
        if (request_id := request_id_var.get()) is not None:
            fields.setdefault("requestId", request_id)
        message = record.getMessage()
        if all(name in fields for name in _ACCESS_FIELDS):
            method, path, status, duration = (fields.pop(name) for name in _ACCESS_FIELDS)
            message = f"{method} {path} {status} {duration}ms"
        parts = [moment, f"{record.levelname:<7}", record.name, message]
        parts.extend(f"{key}={_text_value(value)}" for key, value in fields.items())
        line = " ".join(parts)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    if not text or any(c in text for c in ' \t\n"='):
        return orjson.dumps(text).decode()
    return text


# Path segments that read as lower-case words, or are short (versions, dates, short ids); anything else may be
# a token (`/services/T0/B0/xR7Kd93LmQpWz28VtBn4YcHs`, `/v3/<32 hex>`) and is not written.
_PLAIN_SEGMENT = re.compile(r"[a-z._~-]{0,40}|[A-Za-z0-9._~-]{0,11}")


def loggable_path(url: str) -> str:
    """A URL's path for a log line: words, versions and dates kept, any segment that may be a secret replaced,
    the query and fragment never written (``/hooks/[REDACTED]?[REDACTED]``). No scheme, host or credentials:
    the caller logs the host itself."""
    rest = url.split("://", 1)[-1]
    slash = rest.find("/")
    if slash < 0:
        return "/"
    path, query = rest[slash:], ""
    for mark in ("?", "#"):
        if mark in path:
            path, query = path.split(mark, 1)[0], "?" + REDACTED
    segments = [s if _PLAIN_SEGMENT.fullmatch(s) and not _may_hold_secret(s) else REDACTED for s in path.split("/")]
    return "/".join(segments) + query


def configure_logging(level: str = "INFO", *, json_lines: bool = True, stream: IO[str] | None = None) -> None:
    # Per-record work the JSON lines never show (caller's frame, thread, process, task): skipped, as the
    # logging HOWTO's "Optimization" section describes. Every request writes an access line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JSONFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    # httpx's INFO line names the address a webhook was pinned to and a URL the filter cuts to its host; the
    # webhook dispatcher writes its own ("webhook attempt"), the EVM adapter's calls need none.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # aiosqlite's DEBUG lines quote every statement with its parameters: customers' data, whatever the level.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
