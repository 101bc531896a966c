"""Structured logs, with every secret redacted before a record is written anywhere."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# Values that must never reach a log line, whatever field or message they hide in (one pass, one regex).
_SECRET = re.compile(
    r"(?P<jwt>eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,})"  # JWTs
    r"|(?P<api>\bsks_[A-Za-z0-9_-]{10,})"  # API secrets
    r"|(?P<webhook>\bwhsec_[A-Za-z0-9+/=_-]{10,})"  # webhook secrets
    r"|(?P<bearer>(?i:bearer)\s+)[A-Za-z0-9._~+/=-]+"  # Authorization header values
    r"|(?P<key>\b0x[0-9a-fA-F]{64}\b)"  # raw private keys / 32-byte secrets
)
_SECRET_KEYS = {
    "apisecret", "secret", "accesstoken", "authorization", "mnemonic", "seed", "password", "privatekey",
    "private_key", "kek", "secret_key", "custody_kek", "token",
}  # fmt: skip
REDACTED = "[REDACTED]"


# URLs keep their scheme and host; credentials, path and query go: hosted nodes put their API key there.
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://)(?:[^@/\s'\"]+@)?([^/\s'\"?#]+)([^\s'\"]*)", re.IGNORECASE)


def scrub_urls(text: str) -> str:
    return _URL.sub(lambda m: m.group(1) + m.group(2) + ("/" + REDACTED if m.group(3).strip("/") else ""), text)


def redact_text(text: str) -> str:
    if not _may_hold_secret(text):
        return text
    return scrub_urls(_SECRET.sub(lambda m: (m.group("bearer") or "") + REDACTED, text))


def _may_hold_secret(text: str) -> bool:
    """False only when no pattern above can match: each needs one of these literals. Every log line's
    fields pass through here, and substring tests cost a twentieth of the two regex passes."""
    return (
        "eyJ" in text
        or "sks_" in text
        or "whsec_" in text
        or "0x" in text
        or "://" in text
        or ("bearer" in text.lower())
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
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


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


def configure_logging(level: str = "INFO", *, json_lines: bool = True, stream: IO[str] | None = None) -> None:
    # Per-record work the JSON lines never show (caller's frame, thread, process, task): skipped, as the
    # logging HOWTO's "Optimization" section describes. Every request writes an access line.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JSONFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
