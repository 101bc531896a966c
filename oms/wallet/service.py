"""Custodial wallets: provisioning (custody derives the address) and balances (from the ledger)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.service import AuthContext
from oms.chain import assets
from oms.chain.registry import Chains
from oms.custody.service import Custody
from oms.customer.service import CustomerService
from oms.errors import Conflict, InvalidRequest, NotFound
from oms.kit.ids import new_id
from oms.kit.money import ASSETS, format_amount
from oms.kit.pagination import PageParams, paginate
from oms.kit.time import Clock, isoformat
from oms.ledger import service as ledger
from oms.models import Wallet
from oms.wallet import repository, schemas
from oms.wallet.schemas import WalletCreate

ESTIMATE_CURRENCIES = {"USD"}


class WalletService:
    def __init__(self, *, custody: Custody, customers: CustomerService, clock: Clock, chains: Chains) -> None:
        self._chains = chains
        self._custody = custody
        self._customers = customers
        self._clock = clock

    async def create(
        self, session: AsyncSession, auth: AuthContext, customer_id: str, body: WalletCreate
    ) -> schemas.Wallet:
        chain_asset = _supported(body.asset, body.chain)
        if not self._chains.serves(body.chain, body.asset):
            raise InvalidRequest(
                "chain_unavailable", f"This server has no node for {body.asset} on {body.chain}.", param="chain"
            )
        customer = await self._customers.require_endorsement(session, auth, customer_id, "cryptoCustody")
        if await repository.exists_for(session, customer.id, body.asset, body.chain):
            raise _duplicate(body)
        now = self._clock.now()
        key_index, address = await self._custody.new_address(session, purpose="wallet")
        wallet = Wallet(
            id=new_id("wlt"),
            tenant_id=auth.tenant_id,
            customer_id=customer.id,
            asset=chain_asset.asset,
            chain=chain_asset.chain,
            address=address,
            key_index=key_index,
            status="active",
            created_at=now,
            updated_at=now,
        )
        session.add(wallet)
        try:
            await session.flush()
        except IntegrityError as exc:  # a concurrent twin won the unique (customer, asset, chain)
            raise _duplicate(body) from exc
        await ledger.open_wallet_accounts(
            session,
            tenant_id=auth.tenant_id,
            wallet_id=wallet.id,
            currency=ledger.currency_of(wallet.asset, wallet.chain),
            at=now,
        )
        return render(wallet)

    async def list(
        self, session: AsyncSession, auth: AuthContext, customer_id: str, page: PageParams
    ) -> schemas.WalletList:
        customer = await self._customers.get_model(session, auth, customer_id)
        statement = repository.list_statement(auth.tenant_id, customer.id)
        result = await paginate(session, statement, Wallet, page, scope=Wallet.customer_id == customer.id)
        return result.listed([render(wallet) for wallet in result.items])

    async def balance(
        self, session: AsyncSession, auth: AuthContext, wallet_id: str, currency_code: str
    ) -> schemas.Balance:
        if currency_code.upper() not in ESTIMATE_CURRENCIES:
            raise InvalidRequest(
                "unsupported_currency",
                f"Estimated balances are available in: {', '.join(sorted(ESTIMATE_CURRENCIES))}.",
                param="estimatedBalanceCurrencyCode",
            )
        found = await repository.get_with_balances(session, auth.tenant_id, wallet_id)
        if found is None:
            raise NotFound.resource("wallet", wallet_id)
        asset, chain, by_kind = found
        return render_balance(wallet_id, asset, chain, by_kind, currency_code)


def render_balance(
    wallet_id: str, asset: str, chain: str, by_kind: dict[str, int], currency_code: str
) -> schemas.Balance:
    amounts = ledger.WalletBalance(**by_kind)
    decimals = ASSETS[asset].decimals
    settled = format_amount(amounts.balance, decimals)
    return {
        "object": "balance",
        "walletId": wallet_id,
        "asset": asset,
        "chain": chain,
        "balance": settled,
        "available": format_amount(amounts.available, decimals),
        # A frozen deposit (sender on the sanctions list) looks pending to the tenant: no tipping off.
        "pending": format_amount(amounts.pending + amounts.frozen, decimals),
        # Stablecoins are valued one to one against the dollar.
        "estimatedBalance": {"currencyCode": currency_code.upper(), "amount": settled},
    }


def render(wallet: Wallet) -> schemas.Wallet:
    chain_asset = assets.SUPPORTED[(wallet.asset, wallet.chain)]
    return {
        "id": wallet.id,
        "object": "wallet",
        "customerId": wallet.customer_id,
        "address": wallet.address,
        "asset": wallet.asset,
        "chain": wallet.chain,
        "status": wallet.status,
        "type": "internal",
        "assetIdentity": {"chain": wallet.chain, "protocol": chain_asset.protocol, "tokenId": chain_asset.token_id},
        "createdAt": isoformat(wallet.created_at),
        "updatedAt": isoformat(wallet.updated_at),
    }


def _supported(asset: str, chain: str) -> assets.ChainAsset:
    if asset not in assets.ASSETS:
        raise InvalidRequest(
            "unsupported_asset", f"Unsupported asset '{asset}'; use one of: {', '.join(assets.ASSETS)}.", param="asset"
        )
    found = assets.lookup(asset, chain)
    if found is None:
        raise InvalidRequest(
            "unsupported_chain",
            f"Unsupported chain '{chain}' for {asset}; use one of: {', '.join(assets.CHAINS)}.",
            param="chain",
        )
    return found


def _duplicate(body: WalletCreate) -> Conflict:
    return Conflict("wallet_exists", f"The customer already has a {body.asset} wallet on {body.chain}.")
