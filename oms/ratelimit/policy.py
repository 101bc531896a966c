"""What is limited: the route families, each with its limits per API key and per client address (the settings
``OMS_RATE_LIMIT_<FAMILY>_PER_KEY`` / ``_PER_ADDRESS``), and the family of a request.

Each limit is a quota policy of draft-ietf-httpapi-ratelimit-headers-11 (May 2026): ``"read-key";q=600000;w=60``
in ``RateLimit-Policy``, named ``<family>-<key|address>`` (and ``-<w>s`` when one of them has several windows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from limits import RateLimitItem, parse_many

from oms import API_PREFIX
from oms.config import Settings

ADMIN_PREFIX = "/admin/v1"
TOKEN_PATH = f"{API_PREFIX}/auth/token"
# Operator sign-in (oms/admin/login.py): logging in, and completing a setup link (its token, a TOTP code).
ADMIN_LOGIN_PATHS = frozenset({f"{ADMIN_PREFIX}/session", f"{ADMIN_PREFIX}/setup", f"{ADMIN_PREFIX}/setup/totp"})
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    item: RateLimitItem
    # the item's, read once here: every request reads them
    amount: int = field(init=False)
    window: int = field(init=False)
    # this policy's item of the RateLimit header, to fill with what is left and the seconds to the window's end
    state_format: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", self.item.amount)
        object.__setattr__(self, "window", int(self.item.get_expiry()))
        object.__setattr__(self, "state_format", f'"{self.name}";r=%d;t=%d')

    def counter_key(self, identifier: str) -> str:
        # limits' own key (namespace, amount, window) with the policy and who it counts
        return self.item.key_for(self.name, identifier)

    def header(self) -> str:
        return f'"{self.name}";q={self.amount};w={self.window}'


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    per_key: tuple[Policy, ...]
    per_address: tuple[Policy, ...]
    # RateLimit-Policy's value, with and without the per-key policies (a request without a key has none)
    policy_header: dict[bool, bytes] = field(init=False)

    def __post_init__(self) -> None:
        keyed = ", ".join(policy.header() for policy in self.per_key + self.per_address).encode()
        unkeyed = ", ".join(policy.header() for policy in self.per_address).encode()
        object.__setattr__(self, "policy_header", {True: keyed, False: unkeyed})


def _policies(family: str, scope: str, notation: str) -> tuple[Policy, ...]:
    items = parse_many(notation) if notation else []
    name = f"{family}-{scope}"
    if len(items) == 1:
        return (Policy(name, items[0]),)
    return tuple(Policy(f"{name}-{int(item.get_expiry())}s", item) for item in items)


def families(settings: Settings) -> dict[str, Family]:
    """Every family with its configured limits (a family without any is left out: nothing to count)."""
    configured = {
        "auth": (settings.rate_limit_auth_per_key, settings.rate_limit_auth_per_address),
        "admin_login": ("", settings.rate_limit_admin_login_per_address),
        "read": (settings.rate_limit_read_per_key, settings.rate_limit_read_per_address),
        "write": (settings.rate_limit_write_per_key, settings.rate_limit_write_per_address),
        "admin": ("", settings.rate_limit_admin_per_address),
    }
    found: dict[str, Family] = {}
    for name, (per_key, per_address) in configured.items():
        family = Family(name, _policies(name, "key", per_key), _policies(name, "address", per_address))
        if family.per_key or family.per_address:
            found[name] = family
    return found


def family_of(method: str, path: str) -> str | None:
    """The family of a request; None for what is not limited (the probes /healthz and /readyz)."""
    if path.startswith(ADMIN_PREFIX):
        if method == "POST" and path in ADMIN_LOGIN_PATHS:
            return "admin_login"
        return "admin"
    if not path.startswith(API_PREFIX):
        return None
    if method == "POST" and path == TOKEN_PATH:
        return "auth"
    return "read" if method in _READ_METHODS else "write"
