"""Where the stablecoin delivered for fiat comes from: the OMS liquidity address.

The address is a custody system key (``custody.system_key(session, "liquidity")``), shared by every tenant
of a server; each delivery is an exactly-once ``ChainSend`` from it, signed by custody like any other.

Two ways to keep it funded, chosen by what the chain offers:

* a development chain (the embedded sandbox chain, or a local anvil) can mint: before a delivery is
  queued the exact amount is minted to the liquidity address and a block is mined, so the delivery (signed
  and broadcast later by the worker) always finds the funds on chain;
* a real network cannot: the operator keeps the liquidity address funded (the address is logged and shown
  by ``oms`` on start); a delivery the address cannot cover reverts on chain and the funding is reversed.
  In live mode the conversion itself (buying the stablecoin with the fiat received) is the operator's
  treasury process; OMS only books it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from oms.chain.port import ChainError
from oms.chain.registry import Chains
from oms.custody.service import Custody
from oms.funding.errors import chain_unavailable

LIQUIDITY_KEY = "liquidity"


class Liquidity:
    def __init__(self, *, custody: Custody, chains: Chains) -> None:
        self._custody = custody
        self._chains = chains

    async def source(self, session: AsyncSession) -> tuple[int, str]:
        """The liquidity address's custody key index and address."""
        return await self._custody.system_key(session, LIQUIDITY_KEY)

    async def start(self, session: AsyncSession) -> str:
        """Create the key before any request needs it (concurrent first uses could each create one; the
        lowest index wins from then on); returns the address, which an operator funds on a real network."""
        _, address = await self.source(session)
        return address

    async def ensure(self, session: AsyncSession, *, chain: str, asset: str, amount: int, address: str) -> None:
        """Make sure ``amount`` of ``asset`` will be at ``address`` (the liquidity address the delivery is
        sent from) when the delivery is mined."""
        adapter: Any = self._chains.get(chain)
        mint = getattr(adapter, "mint", None)
        if mint is None:
            return  # a real network: funded by the operator
        try:
            await mint_on(adapter, asset, address, amount)
            await adapter.mine(1)
        except ChainError as exc:
            raise chain_unavailable(chain, exc) from exc


async def mint_on(adapter: Any, asset: str, address: str, amount: int) -> str:
    """Mint on a development chain (the sandbox chain or anvil)."""
    return str(await adapter.mint(asset, address, amount))
