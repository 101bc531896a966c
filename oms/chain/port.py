"""The ChainAdapter port: everything OMS needs from a chain.

Two adapters implement it and pass the same contract tests (``tests/chain/test_contract.py``):
``oms.chain.sandbox.SandboxChain`` (embedded, persisted in our database, the zero-setup default) and
``oms.chain.evm.EvmChainAdapter`` (JSON-RPC node: Polygon, Amoy, or a local anvil).

An adapter behaves like a remote node: it keeps its own state and transactions, independent of the
OMS database transaction that calls it. Library and transport errors are translated here into the
``ChainError`` tree, so callers never see a web3 or HTTP exception.

Sending is split so a worker can make it exactly-once: ``sign_transfer`` is pure (same intent + nonce
gives the same transaction and hash), the worker persists the ``SignedTransfer`` and only then calls
``broadcast``, which is idempotent (re-broadcasting a known transaction is not an error). A crash between
the two re-broadcasts the stored bytes; it never re-signs with a new nonce.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from oms.outage import Unreachable


class ChainError(Exception):
    """A chain operation failed in a way the caller should not retry blindly."""


class ChainUnavailable(ChainError, Unreachable):
    """The node could not be reached or timed out: retry later (a request answers 503)."""

    unavailable_message: ClassVar[str] = "The chain node is unavailable; retry later."


class NonceTooLow(ChainError):
    """A different transaction already used this nonce of the sender."""


class SigningRefused(ChainError):
    """The signer will not sign this send (not queued, held for a review, refused by one): ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SignerUnavailable(ChainUnavailable):
    """The signer could not be reached or did not answer in time: retry later."""

    unavailable_message: ClassVar[str] = "The signer is unavailable; retry later."


@dataclass(frozen=True, slots=True)
class TokenTransfer:
    """One ERC-20 ``Transfer`` (or sandbox transfer) observed on chain."""

    asset: str
    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    from_address: str
    to_address: str
    amount: int


@dataclass(frozen=True, slots=True)
class Receipt:
    tx_hash: str
    block_number: int
    block_hash: str
    succeeded: bool


@dataclass(frozen=True, slots=True)
class TransferIntent:
    """Move ``amount`` (smallest units) of ``asset`` from a custody-held address to ``to_address``.

    ``reference`` identifies the payment (the send's id): two identical payments differ by it, and every
    signing of one payment (a replacement, a re-sign at a new nonce) must authorise the same single movement.
    """

    asset: str
    from_address: str
    from_key_index: int
    to_address: str
    amount: int
    reference: str


@dataclass(frozen=True, slots=True)
class FeePayer:
    """The address whose nonce sequence a transfer consumes (the sender, or a sponsoring gas account)."""

    address: str
    key_index: int | None


@dataclass(frozen=True, slots=True)
class SignedTransfer:
    tx_hash: str
    raw: bytes
    nonce: int
    fee_payer: str


class ChainAdapter(Protocol):
    chain: str  # "polygon", "ethereum"
    confirmations: int  # blocks on top of (and including) the one holding a transfer before it is final
    assets: frozenset[str]  # the tokens this node serves ("usdc", "usdt")

    async def head(self) -> int:
        """Number of the latest block."""

    async def block_hash(self, number: int) -> str | None:
        """Hash of the canonical block at ``number`` (None above the head)."""

    async def balance_of(self, asset: str, address: str) -> int:
        """Token balance (smallest units) of ``address`` at the latest block."""

    async def transfers(
        self, asset: str, from_block: int, to_block: int, to_addresses: Collection[str] | None = None
    ) -> list[TokenTransfer]:
        """Token transfers in canonical blocks ``from_block..to_block`` (inclusive), oldest first;
        only those to ``to_addresses`` when given (addresses compared case-insensitively)."""

    def fee_payer(self, intent: TransferIntent) -> FeePayer:
        """Which address's nonce sequence ``intent`` will consume."""

    async def pending_nonce(self, address: str) -> int:
        """The next nonce of ``address`` as the chain sees it, pending transactions included."""

    async def sign_transfer(self, intent: TransferIntent, nonce: int, *, fee_bump: int = 0) -> SignedTransfer:
        """Build and sign (via custody) the transaction for ``intent`` at ``nonce``; no network side effect.
        ``fee_bump`` > 0 asks for a replacement priced higher than attempt ``fee_bump - 1``."""

    async def broadcast(self, signed: SignedTransfer) -> None:
        """Submit; already-known transactions are fine. Raises ``NonceTooLow`` if another transaction
        took the nonce, ``ChainUnavailable`` on transport failure."""

    async def receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt once mined in a canonical block, else None."""


class SendSigner(Protocol):
    """Signatures for chain sends (``oms.signer``): the signer reads the send from the database itself, checks
    that it may be sent, and builds and signs its transaction with the chain's adapter; the caller names the send
    and nothing else. Adapters: in this process (``oms.signer.local``), or the ``oms signer`` process over its
    Unix socket (``oms.signer.client``)."""

    async def sign_send(self, send_id: str, *, attempt: int) -> SignedTransfer:
        """The signed transaction of send ``send_id`` at the nonce reserved for it: ``attempt`` 0 for its first,
        n for the n-th replacement at a higher fee. Raises ``SigningRefused`` or ``SignerUnavailable``."""

    async def ready(self) -> None:
        """Return once signatures can be had (the signer answers), or raise ``SignerUnavailable``."""

    async def close(self) -> None:
        """Release connections."""


@runtime_checkable
class DevChainControl(Protocol):
    """Test and sandbox controls that only a development chain offers."""

    async def mine(self, blocks: int = 1) -> int:
        """Produce ``blocks`` blocks; returns the new head."""

    async def mint(self, asset: str, to_address: str, amount: int) -> str:
        """Create test tokens at ``to_address``; returns the transaction hash (mined when blocks are)."""

    async def reorg(self, depth: int) -> None:
        """Replace the last ``depth`` blocks with empty ones: their transactions leave the chain."""


def dev_controls(adapter: ChainAdapter) -> DevChainControl:
    """The development controls of ``adapter`` (the sandbox chain, anvil); a ``ChainError`` for a real node."""
    if not isinstance(adapter, DevChainControl):
        raise ChainError(f"the {adapter.chain} node is not a development chain (no mine, mint or reorg)")
    return adapter
