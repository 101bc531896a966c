"""Which chain adapter serves which network, built once per process from Settings."""

from __future__ import annotations

from pathlib import Path

from oms.chain import assets
from oms.chain.port import ChainAdapter, ChainError
from oms.chain.sandbox import SandboxChain
from oms.config import Settings
from oms.custody.service import Custody
from oms.db import Database
from oms.kit.time import Clock


class Chains:
    def __init__(self, adapters: dict[str, ChainAdapter]) -> None:
        self._adapters = adapters

    def get(self, chain: str) -> ChainAdapter:
        try:
            return self._adapters[chain]
        except KeyError:
            raise ChainError(f"no node is configured for chain '{chain}'") from None

    def serves(self, chain: str, asset: str | None = None) -> bool:
        adapter = self._adapters.get(chain)
        return adapter is not None and (asset is None or asset in adapter.assets)

    def all(self) -> list[ChainAdapter]:
        return list(self._adapters.values())

    async def start(self) -> None:
        for adapter in self._adapters.values():
            start = getattr(adapter, "start", None)
            if start is not None:
                await start()

    async def close(self) -> None:
        for adapter in self._adapters.values():
            close = getattr(adapter, "close", None)
            if close is not None:
                await close()


def sandbox_chain_database(settings: Settings, db: Database) -> Database:
    """Where the sandbox chain keeps its blocks. On SQLite its own file: a node is a separate system, and
    OMS holds its database's single write lock while it talks to the node. PostgreSQL shares the database."""
    if not db.is_sqlite:
        return db
    main = Path(db.url.database or "oms.db")
    chain_file = main.with_name(f"{main.stem}-sandbox-chain{main.suffix}")
    return Database(settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{chain_file}"}))


def build_chains(settings: Settings, *, db: Database, custody: Custody, clock: Clock) -> Chains:
    if settings.chain == "sandbox":
        chain_db = sandbox_chain_database(settings, db)
        return Chains(
            {
                name: SandboxChain(
                    name, db=chain_db, custody=custody, clock=clock, confirmations=settings.chain_confirmations
                )
                for name in assets.CHAINS
            }
        )
    # Imported only when a node is configured; the anvil adapter (dev-only code) only for a local anvil. The
    # choice is made here, not in evm.py: anvil.py extends the EVM adapter, so evm.py must not import it.
    if settings.evm_dev_node:  # the adapter that can also mint, mine and reorganise, like the sandbox chain
        from oms.chain.anvil import AnvilChain

        return Chains({settings.evm_network: AnvilChain(settings, custody=custody, db=db)})
    from oms.chain.evm import EvmChainAdapter

    return Chains({settings.evm_network: EvmChainAdapter(settings, custody=custody, db=db)})
