"""Wire models of operators, their sessions and tokens (the admin API's)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.models.operator import OperatorRole, OperatorStatus

Email = Annotated[str, StringConstraints(min_length=3, max_length=320)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
TotpCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
SetupToken = Annotated[str, StringConstraints(min_length=1, max_length=200)]
YEAR = 365 * 24 * 3600


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(Strict):
    email: Email
    password: Password
    totpCode: TotpCode | None = None


class SetupTotp(Strict):
    token: SetupToken


class Setup(Strict):
    token: SetupToken
    # Optional when the operator has a password already (a link to enrol a second factor again).
    password: Password | None = None
    # The current code of the key begun with POST /admin/v1/setup/totp (required in live mode).
    totpCode: TotpCode | None = None


class TotpConfirm(Strict):
    code: TotpCode


class OperatorCreate(Strict):
    email: Email
    role: OperatorRole


class OperatorUpdate(Strict):
    role: OperatorRole | None = None
    status: OperatorStatus | None = None


class TokenCreate(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    # Seconds until it stops working; none: until revoked.
    expiresIn: Annotated[int, Field(ge=60, le=YEAR)] | None = None


# The answers.


class Operator(TypedDict):
    id: str
    object: Literal["operator"]
    email: str
    role: OperatorRole
    status: OperatorStatus
    passwordSet: bool
    totpEnrolled: bool
    createdAt: str
    updatedAt: str


class OperatorList(TypedDict):
    object: Literal["list"]
    data: list[Operator]


class CreatedOperator(TypedDict):
    operator: Operator
    setupUrl: str  # shown once: the one-time link the operator sets a password with
    setupExpiresAt: str


class SetupLink(TypedDict):
    operatorId: str
    setupUrl: str
    setupExpiresAt: str


class TotpReset(TypedDict):
    operator: Operator
    setupUrl: str | None  # live mode: the link to enrol a new second factor (the only way back in)
    setupExpiresAt: str | None


class TotpEnrolment(TypedDict):
    # otpauth:// URI for an authenticator app; returned only here, never again.
    provisioningUri: str


class Session(TypedDict):
    object: Literal["operatorSession"]
    operator: Operator
    # Send it as X-CSRF-Token on every POST, PATCH, PUT and DELETE of this session.
    csrfToken: str
    expiresAt: str
    idleTimeoutSeconds: int


class OperatorToken(TypedDict):
    id: str
    object: Literal["operatorToken"]
    name: str
    operatorId: str
    status: Literal["active", "expired", "revoked"]
    createdAt: str
    expiresAt: str | None
    revokedAt: str | None


class CreatedToken(OperatorToken):
    token: str  # shown once


class TokenList(TypedDict):
    object: Literal["list"]
    data: list[OperatorToken]
