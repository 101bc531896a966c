"""Bank details for virtual accounts, behind a port: a bank partner issues them in live mode (none is
integrated yet); the sandbox bank issues realistic ones (ABA routing number with a valid checksum, 12-digit
account numbers, a SWIFT/BIC for international wires)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Protocol

_ABA_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7, 1)
# Matched whole (``fullmatch``): ``$`` also matches before a final newline.
BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")


def aba_checksum_ok(routing: str) -> bool:
    """The ABA routing-number check: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10)."""
    if not re.fullmatch(r"[0-9]{9}", routing):
        return False
    return sum(int(digit) * weight for digit, weight in zip(routing, _ABA_WEIGHTS, strict=True)) % 10 == 0


def aba_check_digit(first_eight: str) -> str:
    partial = sum(int(digit) * weight for digit, weight in zip(first_eight, _ABA_WEIGHTS[:8], strict=True))
    return str((10 - partial % 10) % 10)


@dataclass(frozen=True, slots=True)
class BankDetails:
    bank_name: str
    bank_address: str
    routing_number: str
    account_number: str
    account_type: str
    swift_code: str


class BankIssuer(Protocol):
    def issue(self) -> BankDetails:
        """New, unused-looking account details at the partner bank (the caller checks uniqueness)."""


class SandboxBank:
    """A fictional bank: the routing number passes the ABA checksum but was made up for the sandbox."""

    NAME = "OMS Sandbox Bank, N.A."
    ADDRESS = "2100 Ross Avenue, Dallas, TX 75201, US"
    ROUTING = "11399982" + aba_check_digit("11399982")
    SWIFT = "OMSBUS44XXX"

    def issue(self) -> BankDetails:
        account = "8" + "".join(str(secrets.randbelow(10)) for _ in range(11))
        return BankDetails(self.NAME, self.ADDRESS, self.ROUTING, account, "checking", self.SWIFT)
