"""The custody service: owns the sealed seed, hands out addresses, and (later) signs.

Callers get addresses and key indexes; no private key or seed leaves this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy.ext.asyncio import AsyncSession

from oms.custody import keys, repository
from oms.kit.crypto import DecryptionFailed, fingerprint
from oms.kit.time import Clock
from oms.models import CustodySeed

log = logging.getLogger(__name__)
SEED_ID = 1


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    raw: bytes
    tx_hash: str
    sender: str


class CustodyError(RuntimeError):
    """Custody cannot operate (wrong key-encryption key, tampered seed)."""


class Custody:
    """``kek`` None: public only (a process that asks ``oms signer`` for signatures): addresses from the stored
    extended public key, never the seed; the seed is created by the signer, and signing here is refused."""

    def __init__(self, kek: bytes | None, clock: Clock) -> None:
        self._kek = kek
        self._kek_fingerprint = fingerprint(kek) if kek is not None else ""
        self._clock = clock
        self._xpub: str | None = None
        # The sealed seed, kept as ciphertext: signing opens it for the moment it needs a key.
        self._sealed: tuple[bytes, bytes, int] | None = None

    async def ensure_seed(self, session: AsyncSession, *, mnemonic: str | None = None) -> None:
        """Create the master seed on first start (or import ``mnemonic``); verify it on every start."""
        seed = await repository.seed(session, SEED_ID)
        if seed is None and self._kek is None:
            raise CustodyError("there is no custody seed yet: the signer (`oms signer`) creates it on its first start")
        if seed is None:
            assert self._kek is not None
            phrase = mnemonic or keys.generate_mnemonic()
            nonce, ciphertext = keys.seal_mnemonic(self._kek, phrase, SEED_ID)
            await repository.insert_seed_once(
                session,
                seed_id=SEED_ID,
                nonce=nonce,
                ciphertext=ciphertext,
                kek_fingerprint=self._kek_fingerprint,
                account_xpub=keys.account_xpub(phrase),
                created_at=self._clock.now(),
            )
            seed = await repository.seed(session, SEED_ID, reread=True)
            assert seed is not None
            log.info("custody seed ready", extra={"kekFingerprint": self._kek_fingerprint})
        self._xpub = self._verify(seed) if self._kek is not None else seed.account_xpub
        self._sealed = (seed.nonce, seed.ciphertext, seed.id)

    def _verify(self, seed: CustodySeed) -> str:
        assert self._kek is not None
        if seed.kek_fingerprint != self._kek_fingerprint:
            raise CustodyError("the configured custody key-encryption key is not the one that sealed the seed")
        try:
            phrase = keys.open_mnemonic(self._kek, seed.nonce, seed.ciphertext, seed.id)
        except DecryptionFailed as exc:
            raise CustodyError("the custody seed failed authentication (tampered or wrong key)") from exc
        if keys.account_xpub(phrase) != seed.account_xpub:
            raise CustodyError("the stored public key does not match the sealed seed")
        return seed.account_xpub

    @property
    def xpub(self) -> str:
        if self._xpub is None:
            raise CustodyError("custody is not initialised: call ensure_seed first")
        return self._xpub

    async def new_address(self, session: AsyncSession, *, purpose: str) -> tuple[int, str]:
        """Allocate the next derivation index and return it with its EIP-55 address."""
        index = await repository.allocate_index(session, purpose, self._clock.now())
        address = keys.address_at(self.xpub, index)
        await repository.record_address(session, index, address)
        return index, address

    async def system_key(self, session: AsyncSession, purpose: str) -> tuple[int, str]:
        """The server's own key for ``purpose`` (a gas account, a treasury), created on first use.

        Two processes racing may both create one; everyone uses the lowest index, so they agree.
        """
        index = await repository.lowest_index_for(session, purpose)
        if index is None:
            await self.new_address(session, purpose=purpose)
            index = await repository.lowest_index_for(session, purpose)
        assert index is not None
        return index, keys.address_at(self.xpub, index)

    def sign_transaction(self, key_index: int, transaction: dict[str, Any]) -> SignedTransaction:
        """Sign an EVM transaction dict with the key at ``key_index``; returns raw bytes and hash."""
        account = Account.from_key(self._private_key(key_index))
        signed = account.sign_transaction(transaction)
        return SignedTransaction(
            raw=bytes(signed.raw_transaction), tx_hash="0x" + bytes(signed.hash).hex(), sender=account.address
        )

    def sign_typed_data(self, key_index: int, typed_data: dict[str, Any]) -> bytes:
        """EIP-712 signature (65 bytes, r || s || v) by the key at ``key_index``."""
        signed = Account.from_key(self._private_key(key_index)).sign_typed_data(full_message=typed_data)
        return bytes(signed.signature)

    def sign_digest(self, key_index: int, message: bytes) -> bytes:
        """EIP-191 personal-message signature by the key at ``key_index``."""
        signed = Account.from_key(self._private_key(key_index)).sign_message(encode_defunct(primitive=message))
        return bytes(signed.signature)

    def address_of(self, key_index: int) -> str:
        return keys.address_at(self.xpub, key_index)

    def _private_key(self, key_index: int) -> bytes:
        if self._kek is None:
            raise CustodyError("this process holds no key: its signatures come from the signer (`oms signer`)")
        if self._sealed is None:
            raise CustodyError("custody is not initialised: call ensure_seed first")
        nonce, ciphertext, seed_id = self._sealed
        try:
            mnemonic = keys.open_mnemonic(self._kek, nonce, ciphertext, seed_id)
        except DecryptionFailed as exc:
            raise CustodyError("the custody seed failed authentication") from exc
        return keys.private_key_at(mnemonic, key_index)
