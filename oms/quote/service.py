"""Quotes: lock the terms (amounts, fees, rate) of a movement of money for a short window."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal, TypedDict

from eth_utils import is_address, to_checksum_address
from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.service import AuthContext
from oms.clock.service import TenantClock
from oms.controls.decision import Controls, Movement, Stage
from oms.customer.service import CustomerService
from oms.errors import InvalidRequest, NotFound
from oms.kit.ids import new_id
from oms.kit.money import ASSETS, AmountError, check_max, format_amount, parse_amount
from oms.kit.time import Clock, isoformat
from oms.models import Quote, Wallet
from oms.quote import pricing, repository, schemas
from oms.quote.schemas import QuoteCreate
from oms.wallet import repository as wallet_repository

QUOTE_TYPE = "cryptoToCrypto"
REQUIRED = ("basic",)  # the endorsements a customer needs to quote and execute a transfer


class QuoteService:
    def __init__(
        self,
        *,
        customers: CustomerService,
        clock: Clock,
        lock_seconds: int,
        schedule: pricing.FeeSchedule,
        tenant_clock: TenantClock | None = None,
        controls: Controls | None = None,
    ) -> None:
        self._customers = customers
        # The checks before money leaves (policies, screening): a quote they refuse is refused here already.
        self._controls = controls or Controls()
        self._clock = clock
        # The lock window runs on the tenant's clock (a sandbox tenant may move it forward).
        self._tenant_clock = tenant_clock
        self._lock = timedelta(seconds=lock_seconds)
        self._schedule = schedule

    async def create(self, session: AsyncSession, auth: AuthContext, body: QuoteCreate) -> schemas.Quote:
        customer = await self._customers.require_endorsements(
            session, auth, body.customerId, REQUIRED, param="customerId"
        )
        source = await wallet_repository.get(session, auth.tenant_id, body.source.walletId)
        target = destination_wallet_id(body)
        destination = await wallet_repository.get(session, auth.tenant_id, target) if target else None
        now = await self.now(session, auth.tenant_id)
        quote = self.new_quote(auth.tenant_id, customer.id, body, source, destination, now)
        (await self._controls.decide(session, movement_of(quote, now, stage="quote"))).refuse_if_denied()
        session.add(quote)
        await session.flush()
        return self.render(quote, quote.created_at)

    def new_quote(
        self,
        tenant_id: str,
        customer_id: str,
        body: QuoteCreate,
        source: Wallet | None,
        destination: Wallet | None,
        now: datetime,
    ) -> Quote:
        """Every rule of a new quote, on wallets already looked up (``destination``: the one the body names by
        id, if any); raises the request's error. Shared by the endpoint and the fast lane (oms/fastlane/writes.py)."""
        source = self._source_wallet(body, source, customer_id)
        destination_wallet, destination_address = self._destination(body, source, destination)
        price = self._price(body, source.asset)
        return Quote(
            id=new_id("qt"),
            tenant_id=tenant_id,
            customer_id=customer_id,
            type=QUOTE_TYPE,
            status="open",
            asset=source.asset,
            chain=source.chain,
            source_wallet_id=source.id,
            destination_wallet_id=destination_wallet.id if destination_wallet else None,
            destination_address=destination_address,
            fixed_side=price.fixed_side,
            source_gross=price.source_gross,
            fee=price.fee,
            destination_net=price.destination_net,
            metadata_=body.metadata or {},
            created_at=now,
            expires_at=now + self._lock,
            accepted_at=None,
        )

    async def get(self, session: AsyncSession, auth: AuthContext, quote_id: str) -> schemas.Quote:
        quote = await self.get_model(session, auth, quote_id)
        return self.render(quote, await self.now(session, auth.tenant_id))

    async def now(self, session: AsyncSession, tenant_id: str) -> datetime:
        """The tenant's time, which quote locks are measured on."""
        if self._tenant_clock is None:
            return self._clock.now()
        return await self._tenant_clock.now(session, tenant_id)

    def now_at(self, offset_ms: int | None) -> datetime:
        """``now`` given the tenant's clock offset, already read (the fast lane reads it with everything else)."""
        if self._tenant_clock is None:
            return self._clock.now()
        return self._tenant_clock.now_at(offset_ms)

    async def get_model(
        self,
        session: AsyncSession,
        auth: AuthContext,
        quote_id: str,
        *,
        for_update: bool = False,
        param: str | None = None,
    ) -> Quote:
        quote = await repository.get(session, auth.tenant_id, quote_id, for_update=for_update)
        if quote is None:
            raise NotFound.resource("quote", quote_id, param=param)
        return quote

    def status_of(self, quote: Quote, now: datetime | None = None) -> Literal["open", "accepted", "expired"]:
        """``expired`` is derived: an open quote whose lock has lapsed (at ``now``, the tenant's time)."""
        if quote.status == "open" and (now or self._clock.now()) >= quote.expires_at:
            return "expired"
        return quote.status

    def render(self, quote: Quote, now: datetime | None = None) -> schemas.Quote:
        sides = money_sides(
            asset=quote.asset,
            chain=quote.chain,
            source_wallet_id=quote.source_wallet_id,
            source_gross=quote.source_gross,
            fee=quote.fee,
            destination_net=quote.destination_net,
            destination_wallet_id=quote.destination_wallet_id,
            destination_address=quote.destination_address,
        )
        return {
            "id": quote.id,
            "object": "quote",
            "type": quote.type,
            "status": self.status_of(quote, now),
            "customerId": quote.customer_id,
            **sides,
            "fixedAmountSide": quote.fixed_side,
            "developerFees": [],
            "sponsorGas": True,
            "sponsorGasCost": "0",
            "metadata": quote.metadata_,
            "createdAt": isoformat(quote.created_at),
            "expiresAt": isoformat(quote.expires_at),
        }

    # --- rules ----------------------------------------------------------------------------------------

    def _source_wallet(self, body: QuoteCreate, wallet: Wallet | None, customer_id: str) -> Wallet:
        if wallet is None:
            raise NotFound.resource("wallet", body.source.walletId, param="source.walletId")
        if wallet.customer_id != customer_id:
            raise InvalidRequest(
                "wallet_not_owned", "The source wallet does not belong to this customer.", param="source.walletId"
            )
        if wallet.status != "active":
            raise InvalidRequest("wallet_inactive", "The source wallet is not active.", param="source.walletId")
        if body.source.asset != wallet.asset:
            raise InvalidRequest("asset_mismatch", f"The source wallet holds {wallet.asset}.", param="source.asset")
        if body.source.network != wallet.chain:
            raise InvalidRequest("network_mismatch", f"The source wallet is on {wallet.chain}.", param="source.network")
        if (body.destination.asset, body.destination.network) != (wallet.asset, wallet.chain):
            param = "destination.asset" if body.destination.asset != wallet.asset else "destination.network"
            raise InvalidRequest(
                "unsupported_pair",
                "Only transfers of the same asset on the same network "
                f"({wallet.asset} on {wallet.chain}) are available.",
                param=param,
            )
        return wallet

    def _destination(self, body: QuoteCreate, source: Wallet, wallet: Wallet | None) -> tuple[Wallet | None, str]:
        target = body.destination.wallet
        wallet_id = destination_wallet_id(body)
        given = [v for v in (wallet_id, target.blockchainAddress, target.externalAccount) if v is not None]
        if len(given) != 1:
            raise InvalidRequest(
                "invalid_destination",
                "Give exactly one of destination.wallet.id, "
                "destination.wallet.blockchainAddress or destination.wallet.externalAccount.",
                param="destination.wallet",
            )
        if target.externalAccount is not None:
            raise InvalidRequest(
                "external_accounts_unavailable",
                "External accounts are not available yet.",
                param="destination.wallet.externalAccount",
            )
        if wallet_id is not None:
            param = "destination.wallet.id" if target.id else "destination.wallet.wallet"
            if wallet is None:
                raise NotFound.resource("wallet", wallet_id, param=param)
            if (wallet.asset, wallet.chain) != (source.asset, source.chain):
                raise InvalidRequest(
                    "unsupported_pair", "The destination wallet holds another asset or network.", param=param
                )
            if wallet.id == source.id:
                raise InvalidRequest("same_wallet", "Source and destination are the same wallet.", param=param)
            return wallet, wallet.address
        address = str(target.blockchainAddress)
        if not is_address(address) or (address != address.lower() and address != to_checksum_address(address)):
            raise InvalidRequest(
                "invalid_address",
                "Not a valid EVM address (mixed case must be EIP-55).",
                param="destination.wallet.blockchainAddress",
            )
        address = to_checksum_address(address)
        if address == source.address:
            raise InvalidRequest(
                "same_wallet",
                "Source and destination are the same address.",
                param="destination.wallet.blockchainAddress",
            )
        return None, address

    def _price(self, body: QuoteCreate, asset: str) -> pricing.Price:
        decimals = ASSETS[asset].decimals
        amounts = {"source.amount": body.source.amount, "destination.amount": body.destination.amount}
        given = {param: text for param, text in amounts.items() if text is not None}
        if len(given) != 1:
            raise InvalidRequest(
                "amount_side", "Give exactly one of source.amount and destination.amount.", param="source.amount"
            )
        ((param, text),) = given.items()
        try:
            amount = parse_amount(text, decimals)
            if param == "source.amount":
                return pricing.fixed_source(amount, self._schedule)
            price = pricing.fixed_destination(amount, self._schedule)
            check_max(price.source_gross, decimals)  # the fees on top must not take the debit past the maximum
            return price
        except AmountError as exc:
            raise InvalidRequest(exc.code, f"{param} {exc}.", param=param) from exc
        except pricing.PricingError as exc:
            raise InvalidRequest("amount_too_small", f"{param}: {exc}.", param=param) from exc


def movement_of(quote: Quote, at: datetime, *, stage: Stage) -> Movement:
    """A quote's transfer as the controls check it (at quote time and at execution)."""
    return Movement(
        stage=stage,
        tenant_id=quote.tenant_id,
        customer_id=quote.customer_id,
        source_wallet_id=quote.source_wallet_id,
        destination_wallet_id=quote.destination_wallet_id,
        destination_address=quote.destination_address,
        asset=quote.asset,
        chain=quote.chain,
        amount=quote.source_gross,
        at=at,
    )


def destination_wallet_id(body: QuoteCreate) -> str | None:
    """The OMS wallet the body names as its destination, if any (the rules check the rest of the body)."""
    return body.destination.wallet.id or body.destination.wallet.wallet


class MoneySides(TypedDict):
    source: schemas.SourceSide
    destination: schemas.DestinationSide
    rates: schemas.Rates


def money_sides(
    *,
    asset: str,
    chain: str,
    source_wallet_id: str | None,
    source_gross: int,
    fee: int,
    destination_net: int,
    destination_wallet_id: str | None,
    destination_address: str | None,
) -> MoneySides:
    """The ``source``, ``destination`` and ``rates`` objects shared by quotes and transactions."""
    decimals = ASSETS[asset].decimals

    def amount(minor: int) -> str:
        return format_amount(minor, decimals)

    zero: schemas.Fees = {"total": amount(0), "developer": amount(0), "oms": amount(0), "gas": amount(0)}
    effective = (Decimal(destination_net) / Decimal(source_gross)).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)
    return {
        "source": {
            "walletId": source_wallet_id,
            "asset": asset,
            "network": chain,
            "amountGross": amount(source_gross),
            "amountNet": amount(source_gross - fee),
            "feesDeducted": {**zero, "total": amount(fee), "oms": amount(fee)},
        },
        "destination": {
            "asset": asset,
            "network": chain,
            "amountGross": amount(destination_net),
            "amountNet": amount(destination_net),
            "feesDeducted": zero,
            "wallet": {"id": destination_wallet_id, "blockchainAddress": destination_address},
        },
        "rates": {"exchangeRate": "1.0", "effectiveRate": _rate(effective), "pair": f"{asset}/{asset}"},
    }


def _rate(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"
