"""The token contract as OMS speaks to it: ERC-20 plus EIP-3009 ``transferWithAuthorization``, exactly as
Circle's USDC (FiatTokenV2) implements them, and the EIP-712 typed data a customer key signs."""

from __future__ import annotations

from typing import Any

from eth_abi import encode as abi_encode
from eth_account.messages import encode_typed_data
from eth_utils import keccak

# An authorization valid from the epoch for ever: signed fields must not depend on the clock, so
# re-signing an intent reproduces the same authorization (the trade-off: docs/decisions.md).
VALID_AFTER, VALID_BEFORE = 0, 2**256 - 1

TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
_AUTHORIZATION_TAG = "oms/eip3009/v1"  # versions the derivation of authorization nonces

# The slice of the ERC-20 and EIP-3009 (Circle FiatTokenV2) ABIs the adapter uses.
TOKEN_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "account", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "decimals", "stateMutability": "view",
     "inputs": [], "outputs": [{"name": "", "type": "uint8"}]},
    {"type": "function", "name": "name", "stateMutability": "view",
     "inputs": [], "outputs": [{"name": "", "type": "string"}]},
    {"type": "function", "name": "version", "stateMutability": "view",
     "inputs": [], "outputs": [{"name": "", "type": "string"}]},
    {"type": "function", "name": "DOMAIN_SEPARATOR", "stateMutability": "view",
     "inputs": [], "outputs": [{"name": "", "type": "bytes32"}]},
    {"type": "function", "name": "authorizationState", "stateMutability": "view",
     "inputs": [{"name": "authorizer", "type": "address"}, {"name": "nonce", "type": "bytes32"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"type": "function", "name": "transferWithAuthorization", "stateMutability": "nonpayable",
     "inputs": [{"name": "from", "type": "address"}, {"name": "to", "type": "address"},
                {"name": "value", "type": "uint256"}, {"name": "validAfter", "type": "uint256"},
                {"name": "validBefore", "type": "uint256"}, {"name": "nonce", "type": "bytes32"},
                {"name": "v", "type": "uint8"}, {"name": "r", "type": "bytes32"}, {"name": "s", "type": "bytes32"}],
     "outputs": []},
    {"type": "event", "name": "Transfer", "anonymous": False,
     "inputs": [{"name": "from", "type": "address", "indexed": True},
                {"name": "to", "type": "address", "indexed": True},
                {"name": "value", "type": "uint256", "indexed": False}]},
]  # fmt: skip

EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
TRANSFER_WITH_AUTHORIZATION = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]


def domain(name: str, version: str, chain_id: int, token: str) -> dict[str, Any]:
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": token}


def transfer_authorization(domain: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """EIP-712 typed data of a ``TransferWithAuthorization`` (fields: from, to, value, validAfter,
    validBefore, nonce), ready for ``Custody.sign_typed_data``."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN, "TransferWithAuthorization": TRANSFER_WITH_AUTHORIZATION},
        "primaryType": "TransferWithAuthorization",
        "domain": domain,
        "message": message,
    }


def transfer_with_authorization_args(message: dict[str, Any], signature: bytes) -> list[Any]:
    """Arguments of ``transferWithAuthorization(from, to, value, validAfter, validBefore, nonce, v, r, s)``
    for a signed authorization (``signature`` is r || s || v, 65 bytes)."""
    fields = ("from", "to", "value", "validAfter", "validBefore", "nonce")
    return [*(message[name] for name in fields), signature[64], signature[:32], signature[32:64]]


def domain_separator(domain: dict[str, Any]) -> bytes:
    """What the token's ``DOMAIN_SEPARATOR()`` returns if it signs against ``domain``: the header of any
    EIP-712 message in that domain is the domain's hash."""
    empty = {"from": domain["verifyingContract"], "to": domain["verifyingContract"], "value": 0,
             "validAfter": 0, "validBefore": 0, "nonce": b"\0" * 32}  # fmt: skip
    return bytes(encode_typed_data(full_message=transfer_authorization(domain, empty)).header)


def authorization_nonce(
    *, chain_id: int, token: str, sender: str, recipient: str, amount: int, reference: str
) -> bytes:
    """The EIP-3009 nonce of a relayed transfer: deterministic per payment (its reference), the same for every
    attempt and every fee-payer nonce it is ever signed at, so the token lets the payment happen at most once.
    Two identical transfers (same wallet, recipient and amount) are different payments: their references differ."""
    encoded = abi_encode(
        ["string", "uint256", "address", "address", "address", "uint256", "string"],
        [_AUTHORIZATION_TAG, chain_id, token, sender, recipient, amount, reference],
    )
    return keccak(encoded)
