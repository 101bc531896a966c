"""The custody service: owns the sealed seed, hands out addresses, and (later) signs.

Callers get addresses and key indexes; no private key or seed leaves this module.
"""

from __future__ import annotations

import logging

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from oms.custody import keys
from oms.kit.crypto import DecryptionFailed, fingerprint
from oms.kit.sql import insert_ignore
from oms.kit.time import Clock
from oms.models import CustodyKey, CustodySeed

log = logging.getLogger(__name__)
SEED_ID = 1


class CustodyError(RuntimeError):
    """Custody cannot operate (wrong key-encryption key, tampered seed)."""


class Custody:
    def __init__(self, kek: bytes, clock: Clock) -> None:
        self._kek = kek
        self._kek_fingerprint = fingerprint(kek)
        self._clock = clock
        self._xpub: str | None = None

    async def ensure_seed(self, session: AsyncSession, *, mnemonic: str | None = None) -> None:
        """Create the master seed on first start (or import ``mnemonic``); verify it on every start."""
        seed = await session.get(CustodySeed, SEED_ID)
        if seed is None:
            phrase = mnemonic or keys.generate_mnemonic()
            nonce, ciphertext = keys.seal_mnemonic(self._kek, phrase, SEED_ID)
            statement = insert_ignore(session, CustodySeed).values(
                id=SEED_ID,
                nonce=nonce,
                ciphertext=ciphertext,
                kek_fingerprint=self._kek_fingerprint,
                account_xpub=keys.account_xpub(phrase),
                created_at=self._clock.now(),
            )
            await session.execute(statement)
            seed = await session.get(CustodySeed, SEED_ID, populate_existing=True)
            assert seed is not None
            log.info("custody seed ready", extra={"kekFingerprint": self._kek_fingerprint})
        self._xpub = self._verify(seed)

    def _verify(self, seed: CustodySeed) -> str:
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
        result = await session.execute(
            insert(CustodyKey).values(purpose=purpose, created_at=self._clock.now()).returning(CustodyKey.index)
        )
        index = result.scalar_one()
        address = keys.address_at(self.xpub, index)
        await session.execute(CustodyKey.__table__.update().where(CustodyKey.index == index).values(address=address))
        return index, address

    async def _mnemonic(self, session: AsyncSession) -> str:
        seed = await session.get(CustodySeed, SEED_ID)
        if seed is None:
            raise CustodyError("custody is not initialised")
        try:
            return keys.open_mnemonic(self._kek, seed.nonce, seed.ciphertext, seed.id)
        except DecryptionFailed as exc:
            raise CustodyError("the custody seed failed authentication") from exc
