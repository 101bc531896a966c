"""Funding's part in the one settlement (``oms/transaction/settlement.py``): the ``funding`` sends that deliver
funded money and the ``funding_fee`` sweeps of deposit addresses, as a ``SettlementPurpose``. It supplies the
entries (oms/funding/delivery.py describes them), when a forward is sent again and how a delivery fails; the
settlement does the rest.

- Delivered: ``funding.delivered`` (``funding_transit`` → the wallet's available account, or ``chain`` for an
  address outside). A deposit address then sweeps its fee from the address to the treasury (``funding.fee``
  once final); a fiat delivery took its fee in dollars and completes.
- A fiat delivery that fails is not sent again: ``funding.reversed`` negates ``funding.received`` (dollars and
  stablecoin) and the transaction fails (``chain_transaction_failed``); the provider returns the dollars.
- A deposit address's forward that fails is sent again (the tokens are still at the address), at most
  ``MAX_FORWARDS`` times; then ``funding.reversed`` (``funding_transit`` → ``chain``), the transaction fails
  with ``forward_failed``, and the deposit-address listener holds the deposit.
- Either way the funding kind's listener (cash-in, deposit address) follows the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from oms.funding import repository
from oms.funding.delivery import FIAT_KINDS, FORWARD_FAILED, FundingDelivery, fiat_legs, system_legs
from oms.kit.time import Clock
from oms.ledger import service as ledger
from oms.models import ChainSend, DepositAddress, Transaction, TransactionFunding
from oms.transaction.ports import Accounts, Entry, Failure, Settling, Source

log = logging.getLogger(__name__)
MAX_FORWARDS = 5  # a deposit address's forward is given up after this many reverted attempts
_TOKEN_KINDS = ("funding_transit", "chain", "fees", "liquidity")  # what settling a delivery may post to


class FundingSettlement:
    principal = "funding"
    fee = "funding_fee"

    def __init__(self, *, delivery: FundingDelivery, clock: Clock) -> None:
        self._delivery = delivery
        self._clock = clock

    async def open(self, session: AsyncSession, transactions: Sequence[Transaction]) -> Mapping[str, Settling]:
        fundings = await repository.by_transaction(session, [transaction.id for transaction in transactions])
        return {
            transaction.id: _Funded(transaction, fundings[transaction.id], self._delivery, self._clock)
            for transaction in transactions
            if transaction.id in fundings  # without its funding row a send is set aside by the settlement
        }


class _Funded:
    """One funded transaction being settled."""

    def __init__(
        self, transaction: Transaction, funding: TransactionFunding, delivery: FundingDelivery, clock: Clock
    ) -> None:
        self._transaction = transaction
        self._funding = funding
        self._delivery = delivery
        self._clock = clock
        self._token = ledger.currency_of(transaction.asset, transaction.chain)
        self._forward = funding.kind == "depositAddress"
        system = {(transaction.tenant_id, self._token, kind) for kind in _TOKEN_KINDS}
        if funding.source_asset == "usd":
            dollars = ledger.currency_of("usd", funding.source_network)
            system |= {(transaction.tenant_id, dollars, kind) for kind in FIAT_KINDS}
        self.accounts = Accounts(
            wallet_ids=frozenset(filter(None, [transaction.destination_wallet_id])), system=frozenset(system)
        )

    async def delivered(self, session: AsyncSession) -> Sequence[Entry]:
        transaction = self._transaction
        legs = await self._legs(session, [("funding_transit", -transaction.destination_net)])
        if transaction.destination_wallet_id:
            target = (await ledger.wallet_account_ids(session, transaction.destination_wallet_id))["available"]
            legs.append(ledger.Leg(target, self._token, transaction.destination_net))
        else:
            legs += await self._legs(session, [("chain", transaction.destination_net)])
        return [Entry("funding.delivered", legs)]

    async def fee_source(self, session: AsyncSession) -> Source | None:
        if not self._forward:
            return None  # a fiat delivery's fee was taken in dollars
        address = await self._deposit_address(session)
        return Source(address.key_index, address.address)

    async def fee_collected(self, session: AsyncSession) -> Sequence[Entry]:
        fee = self._transaction.fee
        return [Entry("funding.fee", await self._legs(session, [("funding_transit", -fee), ("fees", fee)]))]

    def resends(self, failures: int) -> bool:
        return self._forward and failures < MAX_FORWARDS

    async def failed(self, session: AsyncSession, send: ChainSend, failures: int) -> Failure:
        transaction, funding = self._transaction, self._funding
        if self._forward:
            log.error(
                "deposit-address forward reverted every time; given up, the deposit is held",
                extra={"transaction": transaction.id, "send": send.id, "failures": failures},
            )
            gross = transaction.source_gross
            legs = await self._legs(session, [("funding_transit", -gross), ("chain", gross)])
            message = (
                f"The forward reverted on chain {failures} times; the tokens stay at the deposit address, "
                "held until the address is reactivated."
            )
            return Failure([Entry("funding.reversed", legs)], FORWARD_FAILED, message)
        dollars = ledger.currency_of("usd", funding.source_network)
        reversed_dollars = [(kind, -amount) for kind, amount in fiat_legs(funding.source_gross, funding.fee)]
        net = transaction.destination_net
        entries = [
            Entry("funding.reversed", await self._legs(session, reversed_dollars, currency=dollars)),
            Entry("funding.reversed", await self._legs(session, [("funding_transit", -net), ("liquidity", net)])),
        ]
        message = send.last_error or "The stablecoin could not be delivered on chain; the deposit is returned."
        return Failure(entries, "chain_transaction_failed", message)

    async def on_outcome(self, session: AsyncSession) -> None:
        await self._delivery.outcome(session, self._transaction, self._funding)

    async def _legs(
        self, session: AsyncSession, legs: list[tuple[str, int]], *, currency: str | None = None
    ) -> list[ledger.Leg]:
        tenant_id, at = self._transaction.tenant_id, self._clock.now()
        return await system_legs(session, tenant_id, currency or self._token, legs, at=at)

    async def _deposit_address(self, session: AsyncSession) -> DepositAddress:
        address = await session.get(DepositAddress, self._funding.deposit_address_id)
        assert address is not None, "a deposit address is never removed, only marked deleted"
        return address
