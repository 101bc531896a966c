"""TOTP (RFC 6238) through pyotp: 30-second steps, six digits, one step of drift either way."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp

ISSUER = "OMS"
STEP_SECONDS = 30
WINDOW_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (within ±1 of ``now``) whose code ``code`` is, or None. The step is what makes a code
    single-use: the caller accepts it only if it is later than the last accepted one."""
    totp = pyotp.TOTP(secret)
    for drift in range(-WINDOW_STEPS, WINDOW_STEPS + 1):
        at = now + timedelta(seconds=drift * STEP_SECONDS)
        if totp.verify(code, for_time=at):  # constant-time comparison inside pyotp
            return totp.timecode(at)
    return None
