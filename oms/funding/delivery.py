"""Delivering funded money: the auto-created transaction, its ledger entries and its chain sends.

Fiat (a cash-in; an ACH, wire or SWIFT deposit into a virtual account), in one database transaction:

    funding.received   usd:<rail>    funding          -gross   the dollars that came in from outside
                       usd:<rail>    fees             +fee     OMS revenue
                       usd:<rail>    liquidity        +net     the dollars sold to the liquidity desk ...
                       usdc:<chain>  liquidity        -token   ... for the same value of stablecoin
                       usdc:<chain>  funding_transit  +token   on its way to the customer

and a ``funding`` chain send of ``token`` from the liquidity address to the destination. Once it is final:

    funding.delivered  usdc:<chain>  funding_transit  -token
                                     wallet available (or ``chain`` for an external address)  +token

and the transaction (and its cash-in) completes. If the send fails on chain, ``funding.reversed`` is the
exact negation of ``funding.received`` and the transaction (and cash-in) fails: in live mode the provider
returns the dollars. A wallet is credited only once its transfer is final, so the ledger equals the chain
at every moment (the reconciler's invariant).

Crypto (a deposit address), once the incoming transfer is final:

    funding.received   usdc:<chain>  chain  -amount ;  funding_transit  +amount

then a ``funding`` send of amount - fee from the deposit address to the destination and, once that is
final (``funding.delivered`` as above), a ``funding_fee`` sweep of the fee to the treasury
(``funding.fee``: funding_transit -fee ; fees +fee). A failed send of a deposit address is sent again: the
tokens are still at the address; after ``MAX_FORWARDS`` forwards, ``funding.reversed`` (funding_transit -amount ;
chain +amount) and the transaction fails, and the deposit is held (``forward_failed``) at the address until the
address is reactivated.

This module books and queues; the sends are settled by the one settlement (oms/transaction/settlement.py), to
which ``FundingSettlement`` (oms/funding/settlement.py) supplies these entries and the outcome listeners.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from oms.chain import sender
from oms.clock.service import TenantClock
from oms.funding.destination import Destination
from oms.funding.fees import to_token
from oms.funding.liquidity import Liquidity
from oms.kit.ids import new_id
from oms.kit.time import Clock
from oms.ledger import service as ledger
from oms.models import ChainSend, DepositAddress, Transaction, TransactionFunding
from oms.transaction.service import TransactionService

Listener = Callable[[AsyncSession, Transaction, TransactionFunding], Awaitable[None]]
FORWARD_FAILED = "forward_failed"  # a deposit's hold reason once its forward was given up


class FundingDelivery:
    def __init__(
        self,
        *,
        transactions: TransactionService,
        liquidity: Liquidity,
        tenant_clock: TenantClock,
        clock: Clock,
    ) -> None:
        self._transactions = transactions
        self._liquidity = liquidity
        self._tenant_clock = tenant_clock
        self._clock = clock
        self._listeners: dict[str, Listener] = {}

    def on_outcome(self, kind: str, listener: Listener) -> None:
        """Call ``listener`` when a transaction funded by ``kind`` completes or fails (cash-ins follow it)."""
        self._listeners[kind] = listener

    # --- fiat -------------------------------------------------------------------------------------------

    async def deliver_fiat(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        customer_id: str,
        destination: Destination,
        network: str,
        rail: str,
        gross: int,
        fee: int,
        kind: str,
        cash_in_id: str | None = None,
        virtual_account_id: str | None = None,
        details: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Transaction:
        """Book ``gross`` cents received on ``network``, convert what is left after ``fee`` and queue it."""
        net = gross - fee
        assert net > 0, "callers refuse amounts that do not cover the fee"
        token_gross, token_fee, token_net = (to_token(v, destination.asset) for v in (gross, fee, net))
        # Two entries (dollars, then stablecoin): their accounts are locked together first (one sweep).
        dollars, token = ledger.currency_of("usd", network), ledger.currency_of(destination.asset, destination.chain)
        system = [(tenant_id, dollars, kind) for kind in FIAT_KINDS]
        system += [(tenant_id, token, kind) for kind in ("liquidity", "funding_transit")]
        await ledger.lock_accounts(session, system=system, at=self._clock.now())
        # One read of the liquidity key: the address minted to (on a development chain) is the one sent from.
        index, address = await self._liquidity.source(session)
        await self._liquidity.ensure(
            session, chain=destination.chain, asset=destination.asset, amount=token_net, address=address
        )
        transaction = await self._new_transaction(
            session,
            TransactionFunding(
                tenant_id=tenant_id,
                kind=kind,
                cash_in_id=cash_in_id,
                virtual_account_id=virtual_account_id,
                deposit_address_id=None,
                source_asset="usd",
                source_network=network,
                rail=rail,
                source_gross=gross,
                fee=fee,
                details=details or {},
            ),
            customer_id=customer_id,
            type="fiatToCrypto",
            destination=destination,
            gross=token_gross,
            fee=token_fee,
            net=token_net,
            metadata=metadata,
        )
        await self._post(
            session,
            tenant_id,
            "funding.received",
            transaction.id,
            fiat_legs(gross, fee),
            currency=ledger.currency_of("usd", network),
        )
        await self._post(
            session,
            tenant_id,
            "funding.received",
            transaction.id,
            [("liquidity", -token_net), ("funding_transit", token_net)],
            currency=ledger.currency_of(destination.asset, destination.chain),
        )
        session.add(self._send(transaction, "funding", index, address, destination.address, token_net))
        await self._emit(session, transaction)
        return transaction

    # --- crypto (deposit addresses) ---------------------------------------------------------------------

    async def route_crypto(
        self,
        session: AsyncSession,
        *,
        deposit_address: DepositAddress,
        amount: int,
        fee: int,
        details: dict[str, Any],
    ) -> Transaction:
        """Forward a final deposit (``amount`` in the token's unit) to the address's destination."""
        net = amount - fee
        assert net > 0, "callers hold deposits that do not cover the fee"
        destination = Destination(
            deposit_address.asset,
            deposit_address.chain,
            deposit_address.destination_wallet_id,
            deposit_address.destination_address,
        )
        transaction = await self._new_transaction(
            session,
            TransactionFunding(
                tenant_id=deposit_address.tenant_id,
                kind="depositAddress",
                cash_in_id=None,
                virtual_account_id=None,
                deposit_address_id=deposit_address.id,
                source_asset=deposit_address.asset,
                source_network=deposit_address.chain,
                rail="crypto",
                source_gross=amount,
                fee=fee,
                details=details,
            ),
            customer_id=deposit_address.customer_id,
            type="cryptoToCrypto",
            destination=destination,
            gross=amount,
            fee=fee,
            net=net,
            metadata=None,
        )
        await self._post(
            session,
            deposit_address.tenant_id,
            "funding.received",
            transaction.id,
            [("chain", -amount), ("funding_transit", amount)],
            currency=ledger.currency_of(deposit_address.asset, deposit_address.chain),
        )
        session.add(
            self._send(
                transaction, "funding", deposit_address.key_index, deposit_address.address, destination.address, net
            )
        )
        await self._emit(session, transaction)
        return transaction

    async def outcome(self, session: AsyncSession, transaction: Transaction, funding: TransactionFunding) -> None:
        """A funded transaction has just completed or failed (``FundingSettlement``): tell its kind's listener."""
        listener = self._listeners.get(funding.kind)
        if listener is not None:
            await listener(session, transaction, funding)

    # --- helpers ----------------------------------------------------------------------------------------

    async def _new_transaction(
        self,
        session: AsyncSession,
        funding: TransactionFunding,
        *,
        customer_id: str,
        type: str,
        destination: Destination,
        gross: int,
        fee: int,
        net: int,
        metadata: dict[str, Any] | None,
    ) -> Transaction:
        """The auto-created transaction, and ``funding`` (where its money came from) linked to it."""
        tenant_id = funding.tenant_id
        now = await self._tenant_clock.now(session, tenant_id)
        transaction = Transaction(
            id=new_id("txn"),
            tenant_id=tenant_id,
            type=type,
            status="processing",
            sub_status="fundsReceived",
            quote_id=None,
            # Funded money belongs to the customer on both sides (spec: "the sender for cash/fiat rails").
            sender_customer_id=customer_id,
            recipient_customer_id=customer_id,
            source_wallet_id=None,
            destination_wallet_id=destination.wallet_id,
            destination_address=destination.address,
            asset=destination.asset,
            chain=destination.chain,
            fixed_side="source",
            source_gross=gross,
            fee=fee,
            destination_net=net,
            tx_hash=None,
            error=None,
            request={},
            metadata_=dict(metadata or {}),
            version=1,
            created_at=now,
            updated_at=now,
            completed_at=None,
        )
        session.add(transaction)
        await session.flush()
        funding.transaction_id, funding.created_at = transaction.id, now
        session.add(funding)
        await session.flush()
        return transaction

    def _send(
        self, transaction: Transaction, purpose: str, from_index: int, from_address: str, to_address: str, amount: int
    ) -> ChainSend:
        return sender.new_send(
            tenant_id=transaction.tenant_id,
            purpose=purpose,
            reference=transaction.id,
            chain=transaction.chain,
            asset=transaction.asset,
            from_address=from_address,
            from_key_index=from_index,
            to_address=to_address,
            amount=amount,
            # An OMS wallet is credited by settlement, so the deposit scanner must not credit it again.
            to_wallet_id=transaction.destination_wallet_id if purpose == "funding" else None,
            at=self._clock.now(),
        )

    async def _post(
        self,
        session: AsyncSession,
        tenant_id: str,
        kind: str,
        reference: str,
        legs: list[tuple[str, int]],
        *,
        currency: str,
    ) -> None:
        """One balanced entry over the tenant's system accounts."""
        at = self._clock.now()
        resolved = await system_legs(session, tenant_id, currency, legs, at=at)
        await ledger.post_entry(session, tenant_id=tenant_id, kind=kind, reference=reference, at=at, legs=resolved)

    async def _emit(self, session: AsyncSession, transaction: Transaction) -> None:
        await self._transactions.announce(session, transaction)


async def system_legs(
    session: AsyncSession, tenant_id: str, currency: str, legs: Iterable[tuple[str, int]], *, at: datetime
) -> list[ledger.Leg]:
    """Legs over the tenant's system accounts, named by kind (a zero leg is dropped: a fee of zero, say)."""
    return [
        ledger.Leg(
            await ledger.system_account(session, tenant_id=tenant_id, currency=currency, kind=name, at=at),
            currency,
            amount,
        )
        for name, amount in legs
        if amount
    ]


FIAT_KINDS = ("funding", "liquidity", "fees")  # the dollar side's accounts


def fiat_legs(gross: int, fee: int) -> list[tuple[str, int]]:
    """The dollar side of ``funding.received``: in from outside, fee to revenue, the rest to liquidity (a zero
    fee's leg is dropped by ``_post``, like any zero leg)."""
    return [("funding", -gross), ("liquidity", gross - fee), ("fees", fee)]
