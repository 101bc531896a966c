"""The audit log: who changed what, when, and with what outcome.

`Actor` names who acted: authentication sets `request.state.actor` to one, and the CLI records its commands
as `Actor("cli", <OS user>)`. `Entry` is one action to record (`oms.audit.service.record` / `append`), before
the chain gives it its sequence number and hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performed an action: `kind` is "api_key", "operator" or "cli"; `id` the
    API key's id, the operator's id, or the OS user running the CLI."""

    kind: str
    id: str


# A request refused before anyone was authenticated (a wrong secret on POST /auth/token, a missing token).
ANONYMOUS = Actor("anonymous", "")

SUCCEEDED, FAILED = "succeeded", "failed"


@dataclass(frozen=True, slots=True)
class Entry:
    """One state-changing action, as recorded: ids only, never a body, a secret or a customer's data.

    ``action`` is a stable name: the route's ``METHOD /path-template`` for a request
    (``POST /v0.9/customers/{customer_id}/wallets``), ``cli <command>`` for a command (``cli keys create``).
    ``status`` is the HTTP status of a request's answer; ``error_code`` the error's code when it failed (a
    command that failed has no status, only its code)."""

    actor: Actor
    action: str
    at: datetime
    tenant_id: str | None = None
    object_id: str | None = None
    request_id: str | None = None
    client_address: str | None = None
    status: int | None = None
    error_code: str | None = None

    @property
    def outcome(self) -> str:
        failed = self.error_code is not None or (self.status is not None and self.status >= 400)
        return FAILED if failed else SUCCEEDED
