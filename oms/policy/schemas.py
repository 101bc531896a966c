"""Wire models of policies (the admin API's)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

Per = Literal["wallet", "customer"]
Window = Literal["day", "week"]
PolicyAction = Literal["deny", "requireApproval"]
PolicyStatus = Literal["active", "disabled"]
MAX_LIST = 100_000  # addresses in one allow-list or deny-list


class Limit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per: Per
    window: Window
    maxCount: StrictInt | None = Field(default=None, ge=0, le=1_000_000_000)
    maxAmount: str | None = Field(default=None, max_length=40)


class CoolingOff(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # How long after the first transfer to an external address it may receive more than maxAmount.
    seconds: StrictInt = Field(ge=1, le=366 * 86400)
    maxAmount: str = Field(max_length=40)


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    maxAmountPerTransaction: str | None = Field(default=None, max_length=40)
    limits: list[Limit] = Field(default_factory=list, max_length=20)
    allowList: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    denyList: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    # Only allow-listed external addresses receive.
    denyByDefault: StrictBool = False
    coolingOff: CoolingOff | None = None


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requiredApprovals: StrictInt = Field(default=1, ge=1, le=20)
    # None: an approval never expires.
    expiresInSeconds: StrictInt | None = Field(default=None, ge=1, le=366 * 86400)


class PolicyWrite(BaseModel):
    """A policy as created, or as its next version (a full replacement)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)
    customerId: str | None = Field(default=None, max_length=64)
    walletId: str | None = Field(default=None, max_length=64)
    action: PolicyAction = "deny"
    approval: Approval | None = None
    rules: Rules


class LimitOut(TypedDict):
    per: Per
    window: Window
    maxCount: int | None
    maxAmount: str | None


class CoolingOffOut(TypedDict):
    seconds: int
    maxAmount: str


class RulesOut(TypedDict):
    maxAmountPerTransaction: str | None
    limits: list[LimitOut]
    allowList: list[str]
    denyList: list[str]
    denyByDefault: bool
    coolingOff: CoolingOffOut | None


class ApprovalOut(TypedDict):
    requiredApprovals: int
    expiresInSeconds: int | None


class Actor(TypedDict):
    kind: str
    id: str


class Policy(TypedDict):
    id: str
    object: Literal["policy"]
    tenantId: str
    status: PolicyStatus
    version: int
    versionId: str
    name: str
    customerId: str | None
    walletId: str | None
    action: PolicyAction
    approval: ApprovalOut | None
    rules: RulesOut
    createdAt: str
    updatedAt: str


class PolicyVersion(TypedDict):
    id: str
    object: Literal["policy_version"]
    policyId: str
    tenantId: str
    status: PolicyStatus
    version: int
    name: str
    customerId: str | None
    walletId: str | None
    action: PolicyAction
    approval: ApprovalOut | None
    rules: RulesOut
    createdBy: Actor
    createdAt: str


class PolicyList(TypedDict):
    data: list[Policy]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None


class PolicyVersionList(TypedDict):
    data: list[PolicyVersion]
