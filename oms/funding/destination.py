"""The destination of funding: an OMS wallet of the customer, or an address on the same network."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import is_address, to_checksum_address
from sqlalchemy.ext.asyncio import AsyncSession

from oms.chain import assets
from oms.chain.registry import Chains
from oms.errors import InvalidRequest, NotFound
from oms.quote.schemas import DestinationWallet, WalletTarget
from oms.wallet import repository as wallet_repository


@dataclass(frozen=True, slots=True)
class Destination:
    asset: str
    chain: str
    wallet_id: str | None
    address: str


async def resolve(
    session: AsyncSession,
    chains: Chains,
    *,
    tenant_id: str,
    customer_id: str,
    asset: str,
    network: str,
    target: WalletTarget,
    param: str = "destination",
) -> Destination:
    """Check the requested asset and network, and exactly one of wallet id / blockchain address."""
    if asset not in assets.ASSETS:
        raise InvalidRequest(
            "unsupported_asset",
            f"Unsupported asset '{asset}'; use one of: {', '.join(assets.ASSETS)}.",
            param=f"{param}.asset",
        )
    if assets.lookup(asset, network) is None or not chains.serves(network):
        served = [chain for chain in assets.CHAINS if chains.serves(chain) and assets.lookup(asset, chain)]
        raise InvalidRequest(
            "unsupported_network",
            f"{asset} is not available on '{network}' here; use one of: {', '.join(served)}.",
            param=f"{param}.network",
        )
    wallet_id = target.id or target.wallet
    given = [value for value in (wallet_id, target.blockchainAddress, target.externalAccount) if value is not None]
    if len(given) != 1:
        raise InvalidRequest(
            "invalid_destination",
            f"Give exactly one of {param}.wallet.id, {param}.wallet.blockchainAddress or "
            f"{param}.wallet.externalAccount.",
            param=f"{param}.wallet",
        )
    if target.externalAccount is not None:
        raise InvalidRequest(
            "external_accounts_unavailable",
            "External accounts are not available yet.",
            param=f"{param}.wallet.externalAccount",
        )
    if wallet_id is not None:
        wallet_param = f"{param}.wallet.id" if target.id else f"{param}.wallet.wallet"
        wallet = await wallet_repository.get(session, tenant_id, wallet_id)
        if wallet is None:
            raise NotFound.resource("wallet", wallet_id, param=wallet_param)
        if wallet.customer_id != customer_id:
            raise InvalidRequest(
                "wallet_not_owned", "The destination wallet does not belong to this customer.", param=wallet_param
            )
        if wallet.status != "active":
            raise InvalidRequest("wallet_inactive", "The destination wallet is not active.", param=wallet_param)
        if (wallet.asset, wallet.chain) != (asset, network):
            raise InvalidRequest(
                "unsupported_pair",
                f"The destination wallet holds {wallet.asset} on {wallet.chain}, not {asset} on {network}.",
                param=wallet_param,
            )
        return Destination(asset, network, wallet.id, wallet.address)
    address = str(target.blockchainAddress)
    if not is_address(address) or (address != address.lower() and address != to_checksum_address(address)):
        raise InvalidRequest(
            "invalid_address",
            "Not a valid EVM address (mixed case must be EIP-55).",
            param=f"{param}.wallet.blockchainAddress",
        )
    return Destination(asset, network, None, to_checksum_address(address))


def render(destination_wallet_id: str | None, address: str) -> DestinationWallet:
    return {"id": destination_wallet_id, "blockchainAddress": address}
