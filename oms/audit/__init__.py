"""The audit log: who changed what, when, and with what outcome.

`Actor` names who acted: authentication sets `request.state.actor` to one, and
the CLI records its commands as `Actor("cli", <OS user>)`.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performed an action: `kind` is "api_key", "operator" or "cli"; `id` the
    API key's id, the operator's id, or the OS user running the CLI."""

    kind: str
    id: str
