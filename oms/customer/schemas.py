"""Wire models for customers and endorsements."""

from __future__ import annotations

from datetime import date
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)
from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12

from oms.models.customer import (
    CustomerStatus,
    CustomerType,
    EndorsementName,
    EndorsementStatus,
    RejectionReason,
    Requirements,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]
MAX_METADATA_KEYS = 50
# The metadata object is level 1; objects and arrays inside it count one level each (docs/decisions.md).
MAX_METADATA_DEPTH = 8


def _too_deep(value: dict[str, Any]) -> bool:
    # Iterative: a body nested near the parser's own limit must not exhaust the interpreter's stack here.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if level > MAX_METADATA_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return False


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"at most {MAX_METADATA_KEYS} keys")
    for key in value:
        if not 0 < len(key) <= 40:
            raise ValueError("keys must be 1 to 40 characters")
    if _too_deep(value):
        raise ValueError(f"nested at most {MAX_METADATA_DEPTH} levels deep")
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_check_metadata)]


class Strict(BaseModel):
    """Request models refuse unknown fields: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Address(Strict):
    line1: Name
    line2: Name | None = None
    city: Name
    state: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    country: CountryCode
    zipCode: Annotated[str, StringConstraints(min_length=1, max_length=20)]


class IdentityDocument(Strict):
    type: Literal["ssn", "itin", "driversLicense", "passport"]
    issuingCountry: CountryCode
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=64)]


def _past(value: date) -> date:
    if value >= date.today():
        raise ValueError("must be in the past")
    return value


class CustomerFields(Strict):
    firstName: Name | None = None
    middleName: Name | None = None
    lastName: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    birthDate: Annotated[date, AfterValidator(_past)] | None = None
    nationality: CountryCode | None = None
    ipAddress: IPv4Address | IPv6Address | None = None
    externalId: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    signedAgreement: StrictBool | None = None
    residentialAddress: Address | None = None
    identifyingInformation: Annotated[list[IdentityDocument], Field(max_length=10)] | None = None
    endorsements: list[EndorsementName] | None = None
    metadata: Metadata | None = None

    @field_validator("endorsements")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("must not repeat an endorsement")
        return value


class CustomerCreate(CustomerFields):
    type: Literal["individual"] = "individual"


class CustomerUpdate(CustomerFields):
    pass


# The answers: what the service renders (checked by mypy) and the operations' OpenAPI schemas (response_model).


class EndorsementOut(TypedDict):
    name: EndorsementName
    status: EndorsementStatus
    requirements: Requirements
    rejectionReasons: list[RejectionReason]


class CustomerWallet(TypedDict):
    id: str
    type: Literal["custodial"]
    address: str
    network: str
    asset: str
    balance: str
    estimatedValueUsd: str
    createdAt: str


class Customer(TypedDict):
    id: str
    object: Literal["customer"]
    type: CustomerType
    firstName: str | None
    middleName: str | None
    lastName: str | None
    email: str | None
    phone: str | None
    nationality: str | None
    externalId: str | None
    status: CustomerStatus
    signedAgreement: bool
    signedAgreementAt: str | None
    wallets: list[CustomerWallet]
    endorsements: list[EndorsementOut]
    metadata: dict[str, Any]
    createdAt: str
    updatedAt: str


class CustomerList(TypedDict):
    data: list[Customer]
    hasMore: bool
    nextCursor: str | None
    previousCursor: str | None
    cursor: str | None
