"""Endorsement rules: what each endorsement needs, and how a requirement list reads."""

from __future__ import annotations

from collections.abc import Iterable

from oms.models.customer import EndorsementStatus, Requirements

_BASIC = ("firstName", "lastName", "email", "birthDate", "residentialAddress", "signedAgreement")
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "basic": _BASIC,
    "cryptoCustody": (*_BASIC, "identifyingInformation"),
    "usd": (*_BASIC, "identifyingInformation", "nationality"),
}
DEFAULT_REQUEST = ("cryptoCustody", "usd")
ORDER = ("basic", "cryptoCustody", "usd")
IDENTITY_FIELDS = {
    "firstName",
    "middleName",
    "lastName",
    "email",
    "phone",
    "birthDate",
    "nationality",
    "ipAddress",
    "residentialAddress",
    "identifyingInformation",
}
# Sandbox: a customer with this last name is always rejected, to exercise the unhappy path.
SANDBOX_REJECT_LAST_NAME = "reject"


def requested(names: Iterable[str] | None) -> list[str]:
    """The endorsements to hold: the request (or the default), always with ``basic``."""
    wanted = set(names if names is not None else DEFAULT_REQUEST) | {"basic"}
    return [name for name in ORDER if name in wanted]


def requirements(
    name: str, status: EndorsementStatus, provided: set[str], *, issues: list[str] | None = None
) -> Requirements:
    needed = REQUIRED_FIELDS[name]
    have = [field for field in needed if field in provided]
    if status == "active":
        return {"complete": have, "pending": [], "missing": [], "issues": []}
    if status == "rejected":
        return {"complete": [], "pending": [], "missing": [], "issues": issues or []}
    return {"complete": [], "pending": have, "missing": [f for f in needed if f not in provided], "issues": []}


def is_complete(name: str, provided: set[str]) -> bool:
    return all(field in provided for field in REQUIRED_FIELDS[name])
