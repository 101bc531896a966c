"""The (asset, chain) pairs OMS supports, and each token's identity on its chain."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChainAsset:
    asset: str
    chain: str
    protocol: str
    token_id: str
    decimals: int


# Mainnet contract addresses of the tokens (Circle's native USDC, Tether's USDT).
SUPPORTED: dict[tuple[str, str], ChainAsset] = {
    ("usdc", "polygon"): ChainAsset("usdc", "polygon", "evm", "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", 6),
    ("usdt", "polygon"): ChainAsset("usdt", "polygon", "evm", "0xc2132D05D31c914a87C6611C10748AEb04B58e8F", 6),
    ("usdc", "ethereum"): ChainAsset("usdc", "ethereum", "evm", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", 6),
    ("usdt", "ethereum"): ChainAsset("usdt", "ethereum", "evm", "0xdAC17F958D2ee523a2206206994597C13D831ec7", 6),
}
ASSETS = sorted({asset for asset, _ in SUPPORTED})
CHAINS = sorted({chain for _, chain in SUPPORTED})


def lookup(asset: str, chain: str) -> ChainAsset | None:
    return SUPPORTED.get((asset, chain))
