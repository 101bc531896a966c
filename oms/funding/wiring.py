"""Build the funding services from Settings (called by the composition root, ``oms/context.py``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from oms.chain.registry import Chains
from oms.clock.service import TenantClock
from oms.config import Mode, Settings
from oms.custody.service import Custody
from oms.customer.service import CustomerService
from oms.db import Database
from oms.funding.cash_in.service import CashInService
from oms.funding.cash_location.dataset import DatasetLocations
from oms.funding.cash_location.service import CashLocationService
from oms.funding.delivery import FundingDelivery
from oms.funding.deposit_address.service import DepositAddressService
from oms.funding.fees import FiatFees
from oms.funding.liquidity import Liquidity
from oms.funding.settlement import FundingSettlement
from oms.funding.virtual_account.bank import SandboxBank
from oms.funding.virtual_account.service import VirtualAccountService
from oms.kit.time import Clock
from oms.quote.pricing import FeeSchedule
from oms.screening.port import Screener
from oms.transaction.service import TransactionService

log = logging.getLogger(__name__)


@dataclass
class Funding:
    locations: CashLocationService
    delivery: FundingDelivery
    settlement: FundingSettlement  # funding's purpose in the one settlement (registered by oms/context.py)
    cash_ins: CashInService
    virtual_accounts: VirtualAccountService
    deposit_addresses: DepositAddressService
    liquidity: Liquidity

    async def start(self, db: Database) -> None:
        """Once per process: the liquidity key exists (and operators learn which address to fund)."""
        async with db.session_scope() as session:
            address = await self.liquidity.start(session)
        log.info("funding liquidity address", extra={"address": address})


def build_funding(
    settings: Settings,
    *,
    db: Database,
    clock: Clock,
    tenant_clock: TenantClock,
    custody: Custody,
    chains: Chains,
    customers: CustomerService,
    transactions: TransactionService,
    crypto_fees: FeeSchedule,
    screener: Screener,
) -> Funding:
    # The sandbox dataset of retail locations; a provider adapter (GreenDot's API) would replace it.
    locations = CashLocationService(DatasetLocations())
    liquidity = Liquidity(custody=custody, chains=chains)
    delivery = FundingDelivery(transactions=transactions, liquidity=liquidity, tenant_clock=tenant_clock, clock=clock)
    rail_fees = {
        "ach_in": FiatFees.of(settings.fee_ach_in_rate, settings.fee_ach_in_fixed),
        "wire_in": FiatFees.of(settings.fee_wire_in_rate, settings.fee_wire_in_fixed),
        "swift_in": FiatFees.of(settings.fee_swift_in_rate, settings.fee_swift_in_fixed),
    }
    return Funding(
        locations=locations,
        delivery=delivery,
        settlement=FundingSettlement(delivery=delivery, clock=clock),
        cash_ins=CashInService(
            customers=customers,
            locations=locations,
            chains=chains,
            delivery=delivery,
            tenant_clock=tenant_clock,
            clock=clock,
            fees=FiatFees.of(settings.fee_cash_in_rate, settings.fee_cash_in_fixed),
            code_ttl=timedelta(seconds=settings.cash_in_code_seconds),
        ),
        virtual_accounts=VirtualAccountService(
            customers=customers,
            chains=chains,
            delivery=delivery,
            tenant_clock=tenant_clock,
            # No bank partner is integrated for live mode yet: virtual accounts exist in sandbox only.
            issuer=SandboxBank() if settings.mode is Mode.sandbox else None,
            fees=rail_fees,
        ),
        deposit_addresses=DepositAddressService(
            customers=customers,
            custody=custody,
            chains=chains,
            db=db,
            delivery=delivery,
            tenant_clock=tenant_clock,
            clock=clock,
            fees=crypto_fees,
            screener=screener,
        ),
        liquidity=liquidity,
    )
