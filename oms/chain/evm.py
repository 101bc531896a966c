"""``EvmChainAdapter``: the ChainAdapter over an EVM node's JSON-RPC (Polygon, Amoy, a local anvil).

Reads go straight to the node (``eth_blockNumber``, ``eth_getLogs``, ``balanceOf``). Sending is
sponsored: customer addresses never hold the native coin. The customer's key signs an EIP-3009
``transferWithAuthorization`` (EIP-712 typed data) and the operator's gas account, a custody system
key, submits it in an EIP-1559 transaction of its own. Only the gas account's nonces are consumed,
so ``fee_payer`` is always the gas account. Why this design: ``docs/decisions.md``; operating it:
``docs/evm.md``.

Every web3, aiohttp and transport exception is translated here into the port's ``ChainError`` tree.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
from eth_typing import ChecksumAddress, HexStr
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.contract import AsyncContract
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    TimeExhausted,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import FilterParams

from oms.chain import assets, erc20
from oms.chain.port import (
    ChainError,
    ChainUnavailable,
    FeePayer,
    NonceTooLow,
    Receipt,
    SignedTransfer,
    TokenTransfer,
    TransferIntent,
)
from oms.config import Settings
from oms.custody.service import Custody
from oms.db import Database
from oms.kit.logging import scrub_urls

log = logging.getLogger(__name__)

GWEI = 10**9
# Replacement rule: each fee-bump attempt prices both fee fields at least 1/8 (12.5 %) above the
# previous attempt; geth and Bor require 10 % to replace a pending transaction at the same nonce.
BUMP_NUMERATOR, BUMP_DENOMINATOR = 9, 8
# eth_getLogs topic filters OR at most this many recipient addresses per query (providers cap the list).
MAX_TOPIC_ADDRESSES = 200
# Fees signed per (fee payer, nonce), for that many recent nonces: a replacement is priced from them.
_FEE_MEMORY = 4096

# Node error messages (lower-cased substrings) across geth/Bor, Erigon, Nethermind and anvil.
_ALREADY_KNOWN = ("already known", "already imported", "known transaction", "alreadyknown", "already exists")
_NONCE_TOO_LOW = ("nonce too low", "oldnonce", "nonce is too low")
_TRANSIENT = ("rate limit", "too many requests", "limit exceeded", "header not found", "timeout", "timed out")


def gas_key_purpose(network: str) -> str:
    """The custody purpose of the operator's gas account on ``network``."""
    return f"gas:{network}"


def gwei(amount: float) -> int:
    """Wei in ``amount`` gwei, exact for decimal inputs like 30 or 0.1 (no float rounding)."""
    return int(Decimal(str(amount)) * GWEI)


@dataclass(frozen=True, slots=True)
class Fees:
    """EIP-1559 fee fields, in wei."""

    max_fee: int
    priority_fee: int

    def bumped(self) -> Fees:
        """At least 12.5 % (and one wei) more on both fields: a valid replacement everywhere."""
        return Fees(max_fee=_bump(self.max_fee), priority_fee=_bump(self.priority_fee))

    def at_least(self, other: Fees) -> Fees:
        return Fees(max(self.max_fee, other.max_fee), max(self.priority_fee, other.priority_fee))


def _bump(value: int) -> int:
    return max(value + 1, -(-value * BUMP_NUMERATOR // BUMP_DENOMINATOR))


@dataclass(frozen=True, slots=True)
class Token:
    """A configured token, as checked against the node on first use."""

    asset: str
    address: ChecksumAddress
    decimals: int
    eip712_name: str | None  # None: the token has no (working) EIP-3009, so we cannot send it
    eip712_version: str | None


class EvmChainAdapter:
    """The ChainAdapter over JSON-RPC. Call ``start()`` once before use and ``close()`` at exit."""

    def __init__(self, settings: Settings, *, custody: Custody, db: Database) -> None:
        if not settings.evm_rpc_url or not settings.evm_chain_id:
            raise ChainError("the EVM adapter needs OMS_EVM_RPC_URL and OMS_EVM_CHAIN_ID")
        self.settings = settings
        self.chain = settings.evm_network
        self.confirmations = settings.chain_confirmations
        self.chain_id = settings.evm_chain_id
        self._custody = custody
        self._db = db
        self._gas_limit = settings.evm_transfer_gas_limit
        self._min_priority_fee = gwei(settings.evm_min_priority_fee_gwei)
        self._max_fee_cap = gwei(settings.evm_max_fee_gwei)
        self._log_chunk = settings.evm_log_block_chunk
        self._addresses = _token_addresses(settings)
        self.assets = frozenset(self._addresses)
        self._w3 = _connect(settings.evm_rpc_url, settings.evm_rpc_timeout_seconds)
        self._gas: FeePayer | None = None
        self._tokens: dict[str, Token] = {}
        self._node_checked = False
        self._signed_fees: dict[tuple[str, int], dict[int, Fees]] = {}  # (payer, nonce) -> attempt -> fees

    # --- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load (creating on first start) the gas account's custody key. Needs no node: the node and the
        token contracts are checked on first use, so the API can start while the node is down."""
        async with self._db.session_scope() as session:
            index, address = await self._custody.system_key(session, gas_key_purpose(self.chain))
        self._gas = FeePayer(address=address, key_index=index)
        # Operators fund this address with the native coin (POL on Polygon): say where it is.
        log.info("EVM gas account", extra={"network": self.chain, "chainId": self.chain_id, "address": address})

    async def close(self) -> None:
        await self._w3.provider.disconnect()

    @property
    def gas_account(self) -> FeePayer:
        if self._gas is None:
            raise ChainError("the EVM adapter is not started: call start() first")
        return self._gas

    # --- reads ----------------------------------------------------------------------------------------

    async def head(self) -> int:
        async with translate_errors("eth_blockNumber"):
            return int(await self._w3.eth.block_number)

    async def block_hash(self, number: int) -> str | None:
        if number < 0:
            return None
        try:
            async with translate_errors("eth_getBlockByNumber"):
                block = await self._w3.eth.get_block(number)
        except ChainError as exc:
            if isinstance(exc.__cause__, BlockNotFound):
                return None
            raise
        return _hex(block["hash"])

    async def balance_of(self, asset: str, address: str) -> int:
        token = await self._token(asset)
        async with translate_errors("balanceOf"):
            return int(await self._contract(token).functions.balanceOf(checksum(address)).call())

    async def transfers(
        self, asset: str, from_block: int, to_block: int, to_addresses: Collection[str] | None = None
    ) -> list[TokenTransfer]:
        if from_block > to_block or (to_addresses is not None and not to_addresses):
            return []
        token = await self._token(asset)
        groups: list[list[str] | None] = [None]
        if to_addresses is not None:
            topics = sorted({_address_topic(address) for address in to_addresses})
            groups = [topics[i : i + MAX_TOPIC_ADDRESSES] for i in range(0, len(topics), MAX_TOPIC_ADDRESSES)]
        found: list[TokenTransfer] = []
        for start in range(max(from_block, 0), to_block + 1, self._log_chunk):
            end = min(start + self._log_chunk - 1, to_block)
            for group in groups:
                found.extend(await self._transfer_logs(token, start, end, group))
        found.sort(key=lambda transfer: (transfer.block_number, transfer.log_index))
        return found

    async def _transfer_logs(
        self, token: Token, start: int, end: int, to_topics: list[str] | None
    ) -> list[TokenTransfer]:
        query: FilterParams = {
            "address": token.address,
            "fromBlock": start,
            "toBlock": end,
            "topics": [erc20.TRANSFER_TOPIC, None, to_topics] if to_topics else [erc20.TRANSFER_TOPIC],
        }
        async with translate_errors("eth_getLogs"):
            logs = await self._w3.eth.get_logs(query)
        event = self._contract(token).events.Transfer()
        transfers = []
        for entry in logs:
            if entry.get("removed"):
                continue
            decoded = event.process_log(entry)
            transfers.append(
                TokenTransfer(
                    asset=token.asset,
                    tx_hash=_hex(entry["transactionHash"]),
                    log_index=int(entry["logIndex"]),
                    block_number=int(entry["blockNumber"]),
                    block_hash=_hex(entry["blockHash"]),
                    from_address=checksum(decoded["args"]["from"]),
                    to_address=checksum(decoded["args"]["to"]),
                    amount=int(decoded["args"]["value"]),
                )
            )
        return transfers

    async def native_balance(self, address: str) -> int:
        """Native-coin balance (wei) of ``address``: how operators watch the gas account."""
        async with translate_errors("eth_getBalance"):
            return int(await self._w3.eth.get_balance(checksum(address)))

    # --- sending --------------------------------------------------------------------------------------

    def fee_payer(self, intent: TransferIntent) -> FeePayer:
        return self.gas_account

    async def pending_nonce(self, address: str) -> int:
        async with translate_errors("eth_getTransactionCount"):
            return int(await self._w3.eth.get_transaction_count(checksum(address), "pending"))

    async def sign_transfer(self, intent: TransferIntent, nonce: int, *, fee_bump: int = 0) -> SignedTransfer:
        """The gas account's transaction relaying the customer's EIP-3009 authorization.

        The authorization depends only on the intent and ``nonce`` (never on fees or the clock), so every
        fee-bump attempt at a nonce carries the same one and at most one of them can move the money.
        The fees are read from the node, so two signings of one attempt can differ: the worker persists
        what it signed and re-broadcasts those bytes, as the port requires.
        """
        token = await self._sendable_token(intent.asset)
        if self._custody.address_of(intent.from_key_index).lower() != intent.from_address.lower():
            raise ChainError(f"custody key {intent.from_key_index} does not hold {intent.from_address}")
        gas = self.gas_account
        fees = await self._fees(gas.address, nonce, fee_bump)
        authorization = self._authorization(token, intent, nonce)
        signature = self._custody.sign_typed_data(intent.from_key_index, authorization)
        data = self._contract(token).encode_abi(
            "transferWithAuthorization",
            args=erc20.transfer_with_authorization_args(authorization["message"], signature),
        )
        transaction = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": token.address,
            "value": 0,
            "data": data,
            "gas": self._gas_limit,
            "maxFeePerGas": fees.max_fee,
            "maxPriorityFeePerGas": fees.priority_fee,
        }
        assert gas.key_index is not None
        signed = self._custody.sign_transaction(gas.key_index, transaction)
        self._remember_fees(gas.address, nonce, fee_bump, fees)
        return SignedTransfer(tx_hash=signed.tx_hash, raw=signed.raw, nonce=nonce, fee_payer=gas.address)

    def _authorization(self, token: Token, intent: TransferIntent, nonce: int) -> dict[str, Any]:
        """The customer's ``TransferWithAuthorization`` for ``intent``, relayed at fee-payer ``nonce``."""
        sender, recipient = checksum(intent.from_address), checksum(intent.to_address)
        assert token.eip712_name is not None and token.eip712_version is not None
        authorization_nonce = erc20.authorization_nonce(
            chain_id=self.chain_id, token=token.address, sender=sender, recipient=recipient, amount=intent.amount,
            reference=intent.reference,
        )  # fmt: skip
        message = {"from": sender, "to": recipient, "value": intent.amount, "validAfter": erc20.VALID_AFTER,
                   "validBefore": erc20.VALID_BEFORE, "nonce": authorization_nonce}  # fmt: skip
        domain = erc20.domain(token.eip712_name, token.eip712_version, self.chain_id, token.address)
        return erc20.transfer_authorization(domain, message)

    async def broadcast(self, signed: SignedTransfer) -> None:
        try:
            async with translate_errors("eth_sendRawTransaction"):
                await self._w3.eth.send_raw_transaction(signed.raw)
        except ChainError as exc:
            message = str(exc).lower()
            if any(marker in message for marker in _ALREADY_KNOWN):
                return
            if any(marker in message for marker in _NONCE_TOO_LOW):
                # Our own transaction, already mined, is "nonce too low" too: that is success.
                if await self._known(signed.tx_hash):
                    return
                raise NonceTooLow(
                    f"nonce {signed.nonce} of {signed.fee_payer} was used by another transaction"
                ) from exc
            raise

    async def _known(self, tx_hash: str) -> bool:
        try:
            async with translate_errors("eth_getTransactionByHash"):
                await self._w3.eth.get_transaction(HexStr(tx_hash))
        except ChainError as exc:
            if isinstance(exc.__cause__, TransactionNotFound):
                return False
            raise
        return True

    async def receipt(self, tx_hash: str) -> Receipt | None:
        try:
            async with translate_errors("eth_getTransactionReceipt"):
                found = await self._w3.eth.get_transaction_receipt(HexStr(tx_hash))
        except ChainError as exc:
            if isinstance(exc.__cause__, TransactionNotFound):
                return None
            raise
        number, block = int(found["blockNumber"]), _hex(found["blockHash"])
        if await self.block_hash(number) != block:
            return None  # a node behind a load balancer answered from a block that is no longer canonical
        succeeded = int(found["status"]) == 1 or await self._authorization_used_elsewhere(tx_hash, number)
        return Receipt(
            tx_hash=_hex(found["transactionHash"]), block_number=number, block_hash=block, succeeded=succeeded
        )

    async def _authorization_used_elsewhere(self, tx_hash: str, block_number: int) -> bool:
        """A reverted relay whose authorization is nevertheless used: someone copied it from the mempool
        and submitted it first. The money moved exactly as intended, so the send must not be failed."""
        async with translate_errors("eth_getTransactionByHash"):
            transaction = await self._w3.eth.get_transaction(HexStr(tx_hash))
        asset = next(
            (a for a, address in self._addresses.items() if address.lower() == str(transaction["to"]).lower()), None
        )
        if asset is None:
            return False
        token = await self._token(asset)
        if token.eip712_name is None:
            return False
        contract = self._contract(token)
        try:
            function, arguments = contract.decode_function_input(transaction["input"])
        except ValueError:
            return False
        if function.fn_name != "transferWithAuthorization":
            return False
        async with translate_errors("authorizationState"):
            used = await contract.functions.authorizationState(arguments["from"], arguments["nonce"]).call(
                block_identifier=block_number
            )
        if used:
            log.warning(
                "relay reverted but its authorization was used by another transaction", extra={"txHash": tx_hash}
            )
        return bool(used)

    # --- fees -----------------------------------------------------------------------------------------

    async def _fees(self, payer: str, nonce: int, fee_bump: int) -> Fees:
        """EIP-1559 fees for attempt ``fee_bump`` at ``nonce``: the market price and, for a replacement,
        at least 12.5 % above attempt ``fee_bump - 1``. That attempt's fees are remembered by the process
        that signed it; after a restart (or from another worker) we assume it was priced by this rule from
        a market no higher than now, i.e. market x 1.125^(k-1). Capped by OMS_EVM_MAX_FEE_GWEI."""
        market = await self.market_fees()
        if fee_bump <= 0:
            return self._capped(market)
        previous = self._signed_fees.get((payer.lower(), nonce), {}).get(fee_bump - 1)
        if previous is None:
            previous = market
            for _ in range(fee_bump - 1):
                previous = previous.bumped()
        required = previous.bumped()
        fees = self._capped(market.at_least(required))
        if fees.max_fee < required.max_fee or fees.priority_fee < required.priority_fee:
            raise ChainError(f"cannot price replacement {fee_bump} of nonce {nonce}: OMS_EVM_MAX_FEE_GWEI is reached")
        return fees

    async def market_fees(self) -> Fees:
        """maxFeePerGas = 2 x next base fee + tip, which stays valid through six full blocks in a row."""
        async with translate_errors("eth_maxPriorityFeePerGas"):
            tip = max(int(await self._w3.eth.max_priority_fee), self._min_priority_fee)
        async with translate_errors("eth_feeHistory"):
            history = await self._w3.eth.fee_history(1, "latest", [])
        next_base_fee = int(history["baseFeePerGas"][-1])
        return Fees(max_fee=2 * next_base_fee + tip, priority_fee=tip)

    def _capped(self, fees: Fees) -> Fees:
        cap = self._max_fee_cap
        return Fees(max_fee=min(fees.max_fee, cap), priority_fee=min(fees.priority_fee, fees.max_fee, cap))

    def _remember_fees(self, payer: str, nonce: int, attempt: int, fees: Fees) -> None:
        key = (payer.lower(), nonce)
        if key not in self._signed_fees and len(self._signed_fees) >= _FEE_MEMORY:
            self._signed_fees.pop(next(iter(self._signed_fees)))  # the oldest nonce: long since mined
        self._signed_fees.setdefault(key, {})[attempt] = fees

    # --- tokens ---------------------------------------------------------------------------------------

    async def _token(self, asset: str) -> Token:
        token = self._tokens.get(asset)
        if token is None:
            if asset not in self._addresses:
                raise ChainError(f"asset {asset!r} has no token contract configured on this node")
            await self._check_node()
            token = self._tokens[asset] = await self._load_token(asset, self._addresses[asset])
        return token

    async def _sendable_token(self, asset: str) -> Token:
        token = await self._token(asset)
        if token.eip712_name is None:
            raise ChainError(
                f"{asset} at {token.address} has no EIP-3009 transferWithAuthorization: OMS cannot send it"
            )
        return token

    async def _check_node(self) -> None:
        if self._node_checked:
            return
        async with translate_errors("eth_chainId"):
            chain_id = int(await self._w3.eth.chain_id)
        if chain_id != self.chain_id:
            raise ChainError(
                f"the node serves chain id {chain_id}, not the configured OMS_EVM_CHAIN_ID {self.chain_id}"
            )
        self._node_checked = True
        if self._gas is not None:
            balance = await self.native_balance(self._gas.address)
            level = logging.INFO if balance else logging.WARNING
            log.log(level, "EVM gas account balance", extra={"address": self._gas.address, "balanceWei": str(balance)})

    async def _load_token(self, asset: str, address: ChecksumAddress) -> Token:
        """Check the contract is the token we expect and find out whether it speaks EIP-3009."""
        contract = self._w3.eth.contract(address=address, abi=erc20.TOKEN_ABI)
        expected = _expected_decimals(asset, self.chain)
        async with translate_errors("decimals"):
            decimals = int(await contract.functions.decimals().call())
        if decimals != expected:
            raise ChainError(f"{asset} at {address} has {decimals} decimals, expected {expected}: wrong address?")
        name, version = await self._eip3009_domain(contract, address)
        return Token(asset=asset, address=address, decimals=decimals, eip712_name=name, eip712_version=version)

    async def _eip3009_domain(self, contract: AsyncContract, address: str) -> tuple[str | None, str | None]:
        """The token's EIP-712 (name, version) if it has EIP-3009 and its domain separator is the one we
        would sign against; (None, None) otherwise."""
        try:
            async with translate_errors("EIP-3009 probe"):
                name = str(await contract.functions.name().call())
                version = str(await contract.functions.version().call())
                separator = bytes(await contract.functions.DOMAIN_SEPARATOR().call())
                await contract.functions.authorizationState(address, b"\0" * 32).call()
        except ChainUnavailable:
            raise
        except ChainError as exc:
            log.warning("token has no EIP-3009; sending it is disabled", extra={"token": address, "reason": str(exc)})
            return None, None
        if erc20.domain_separator(erc20.domain(name, version, self.chain_id, address)) != separator:
            log.warning("token's EIP-712 domain is not (name, version, chainId, address); sending disabled",
                        extra={"token": address})  # fmt: skip
            return None, None
        return name, version

    def _contract(self, token: Token) -> AsyncContract:
        return self._w3.eth.contract(address=token.address, abi=erc20.TOKEN_ABI)


# --- helpers --------------------------------------------------------------------------------------------


def _connect(rpc_url: str, timeout: float) -> AsyncWeb3[AsyncHTTPProvider]:
    provider = AsyncHTTPProvider(
        rpc_url,
        request_kwargs={"timeout": aiohttp.ClientTimeout(total=timeout)},
        # Retry a refused or dropped connection briefly here (it fails at once); never a timeout, or a frozen
        # node would hold a request for four timeouts instead of one. Longer outages surface as
        # ChainUnavailable: a request answers 503, and the worker retries on its own schedule.
        exception_retry_configuration=ExceptionRetryConfiguration(
            errors=(aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError), retries=3, backoff_factor=0.1
        ),
    )
    w3 = AsyncWeb3(provider)
    # Polygon's blocks carry validator data in extraData, longer than web3's 32-byte Ethereum check.
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


def _token_addresses(settings: Settings) -> dict[str, ChecksumAddress]:
    configured = {"usdc": settings.evm_usdc_address, "usdt": settings.evm_usdt_address}
    try:
        return {asset: to_checksum_address(address) for asset, address in configured.items() if address}
    except ValueError as exc:
        raise ChainError(f"invalid token address in settings: {exc}") from exc


def _expected_decimals(asset: str, network: str) -> int:
    known = assets.lookup(asset, network)
    return known.decimals if known is not None else 6


@asynccontextmanager
async def translate_errors(what: str) -> AsyncIterator[None]:
    """Translate library and transport exceptions into the port's ChainError tree. Messages keep no more of
    the node's URL than its host: a hosted node's URL holds its API key, and these messages reach clients."""
    try:
        yield
    except ChainError:
        raise
    except Web3RPCError as exc:
        message = scrub_urls(f"{what}: {_rpc_message(exc)}")
        if any(marker in message.lower() for marker in _TRANSIENT):
            raise ChainUnavailable(message) from exc
        raise ChainError(message) from exc
    except (aiohttp.ClientError, TimeoutError, ConnectionError, TimeExhausted) as exc:
        raise ChainUnavailable(scrub_urls(f"{what}: node unreachable ({type(exc).__name__}: {exc})")) from exc
    except ContractLogicError as exc:
        raise ChainError(scrub_urls(f"{what}: reverted ({exc})")) from exc
    except (Web3Exception, ValueError, TypeError, KeyError) as exc:
        if _is_transport(exc):
            raise ChainUnavailable(scrub_urls(f"{what}: {exc}")) from exc
        raise ChainError(scrub_urls(f"{what}: {type(exc).__name__}: {exc}")) from exc


def _rpc_message(exc: Web3RPCError) -> str:
    error = (exc.rpc_response or {}).get("error")
    if isinstance(error, dict) and "message" in error:
        return str(error["message"])
    return str(exc)


def _is_transport(exc: BaseException) -> bool:
    """web3 wraps some transport failures (ProviderConnectionError, RequestTimedOut, TooManyRequests)."""
    return type(exc).__name__ in {"ProviderConnectionError", "RequestTimedOut", "TooManyRequests"}


def checksum(address: str) -> ChecksumAddress:
    try:
        return to_checksum_address(address)
    except ValueError as exc:
        raise ChainError(f"not an EVM address: {address!r}") from exc


def _address_topic(address: str) -> str:
    return "0x" + "00" * 12 + checksum(address)[2:].lower()


def _hex(value: bytes | str | HexBytes) -> str:
    return HexBytes(value).to_0x_hex()
