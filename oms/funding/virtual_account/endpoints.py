"""Virtual accounts' routes: the funding instrument's (``oms.funding.instrument.endpoints``); their sandbox
simulation is in ``oms.funding.simulation``."""

from __future__ import annotations

from oms.funding.instrument.endpoints import InstrumentRoutes, instrument_router
from oms.funding.virtual_account.schemas import (
    VirtualAccount,
    VirtualAccountCreate,
    VirtualAccountList,
    VirtualAccountUpdate,
)
from oms.funding.virtual_account.service import KIND, VirtualAccountService
from oms.routing import provided

router = instrument_router(
    InstrumentRoutes(
        kind=KIND,
        plural="virtual accounts",
        resource=VirtualAccount,
        listing=VirtualAccountList,
        create=VirtualAccountCreate,
        update=VirtualAccountUpdate,
        service=provided(VirtualAccountService),
        create_summary="Create a virtual account (US bank details) for a customer",
        update_summary="Update a virtual account: pause or reactivate it, change its label, memo or metadata",
        delete_summary="Delete a virtual account (permanent; it stays readable with status deleted)",
    )
)
