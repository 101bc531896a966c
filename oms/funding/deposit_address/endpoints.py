"""Deposit addresses' routes: the funding instrument's (``oms.funding.instrument.endpoints``); their sandbox
simulation is in ``oms.funding.simulation``."""

from __future__ import annotations

from oms.funding.deposit_address.schemas import (
    DepositAddress,
    DepositAddressCreate,
    DepositAddressList,
    DepositAddressUpdate,
)
from oms.funding.deposit_address.service import KIND, DepositAddressService
from oms.funding.instrument.endpoints import InstrumentRoutes, instrument_router
from oms.routing import provided

router = instrument_router(
    InstrumentRoutes(
        kind=KIND,
        plural="deposit addresses",
        resource=DepositAddress,
        listing=DepositAddressList,
        create=DepositAddressCreate,
        update=DepositAddressUpdate,
        service=provided(DepositAddressService),
        create_summary="Create a deposit address that forwards incoming tokens to a wallet",
        update_summary="Update a deposit address: pause it (deposits are held) or reactivate it (held deposits go out)",
        delete_summary="Delete a deposit address (permanent; later deposits are held)",
    )
)
