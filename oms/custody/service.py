"""The custody service: owns the wrapped seed, hands out addresses, signs; rotates the seed's wrapping key, writes
the recovery kit and recovers from it.

Callers get addresses and key indexes; no private key or seed leaves this module (the recovery kit's shares
are the one exception, and only for ``oms custody backup``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy.ext.asyncio import AsyncSession

from oms.custody import keys, recovery, repository
from oms.custody.wrapping import SeedWrapper, Wrapped, WrappingError
from oms.kit.time import Clock
from oms.models import CustodyRetiredKey, CustodySeed

log = logging.getLogger(__name__)
SEED_ID = 1


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    raw: bytes
    tx_hash: str
    sender: str


class CustodyError(RuntimeError):
    """Custody cannot operate (another key-encryption key, a tampered seed, an unreachable token); the message is
    one line, safe to print (no key, PIN or seed)."""


def describe_key(backend: str, key_id: str, label: str | None) -> str:
    """A wrapping key as operators read it: ``pkcs11 key 3f…a1 (oms-custody-kek)``."""
    return f"{backend} key {key_id}" + (f" ({label})" if label else "")


def _describe_wrapping(seed: CustodySeed) -> str:
    return describe_key(seed.wrapping_backend, seed.kek_fingerprint, seed.wrapping_key_label)


def _key_id(wrapper: SeedWrapper) -> str:
    try:
        return wrapper.key_id
    except WrappingError as exc:
        raise CustodyError(str(exc)) from exc


def open_seed(wrapper: SeedWrapper, seed: CustodySeed) -> str:
    """The seed's mnemonic, opened by ``wrapper``: it must be the key recorded on the row, the wrapping must
    authenticate, and the phrase must derive the row's public key."""
    if seed.wrapping_backend != wrapper.backend or seed.kek_fingerprint != _key_id(wrapper):
        raise CustodyError(
            f"the configured custody key-encryption key is not the one that wraps the seed (the seed: "
            f"{_describe_wrapping(seed)}; configured: {wrapper.describe()})"
        )
    phrase = _unwrap(wrapper, Wrapped(seed.nonce, seed.ciphertext), seed.id)
    if keys.account_xpub(phrase) != seed.account_xpub:
        raise CustodyError("the stored public key does not match the wrapped seed")
    return phrase


def _unwrap(wrapper: SeedWrapper, wrapped: Wrapped, seed_id: int) -> str:
    try:
        plaintext = wrapper.unwrap(wrapped, keys.seed_associated_data(seed_id))
    except WrappingError as exc:
        raise CustodyError(f"the custody seed cannot be opened: {exc}") from exc
    try:
        return plaintext.decode()
    except UnicodeDecodeError as exc:  # authenticated, yet not a phrase: never written by this code
        raise CustodyError("the custody seed opened to something that is not a mnemonic") from exc


def _wrap(wrapper: SeedWrapper, mnemonic: str, seed_id: int, *, first: bool = False) -> Wrapped:
    """``mnemonic`` wrapped by ``wrapper`` and read back through it: a wrapping is written only once it opens.
    ``first``: the seed's first wrapping in this database (a token may generate its key for it)."""
    try:
        if first:
            wrapper.ensure_key()
        wrapped = wrapper.wrap(mnemonic.encode(), keys.seed_associated_data(seed_id))
    except WrappingError as exc:
        raise CustodyError(f"the custody seed cannot be wrapped: {exc}") from exc
    if _unwrap(wrapper, wrapped, seed_id) != mnemonic:
        raise CustodyError(f"{wrapper.describe()} did not give back the seed it wrapped: nothing written")
    return wrapped


class Custody:
    """``wrapper`` None: public only (a process that asks ``oms signer`` for signatures): addresses from the stored
    extended public key, never the seed; the seed is created by the signer, and signing here is refused."""

    def __init__(self, wrapper: SeedWrapper | None, clock: Clock) -> None:
        self._wrapper = wrapper
        self._clock = clock
        self._xpub: str | None = None
        # The wrapped seed, kept wrapped: signing opens it for the moment it needs a key.
        self._sealed: tuple[Wrapped, int] | None = None

    @property
    def wrapper(self) -> SeedWrapper:
        if self._wrapper is None:
            raise CustodyError("this process holds no key: its signatures come from the signer (`oms signer`)")
        return self._wrapper

    async def ensure_seed(self, session: AsyncSession, *, mnemonic: str | None = None) -> None:
        """Create the master seed on first start (or import ``mnemonic``); verify it on every start."""
        seed = await repository.seed(session, SEED_ID)
        if seed is None and self._wrapper is None:
            raise CustodyError("there is no custody seed yet: the signer (`oms signer`) creates it on its first start")
        if seed is None:
            assert self._wrapper is not None
            phrase = mnemonic or keys.generate_mnemonic()
            wrapped = _wrap(self._wrapper, phrase, SEED_ID, first=True)
            await repository.insert_seed_once(
                session,
                seed_id=SEED_ID,
                nonce=wrapped.nonce,
                ciphertext=wrapped.ciphertext,
                backend=self._wrapper.backend,
                key_id=_key_id(self._wrapper),
                key_label=self._wrapper.key_label,
                account_xpub=keys.account_xpub(phrase),
                created_at=self._clock.now(),
            )
            seed = await repository.seed(session, SEED_ID, reread=True)
            assert seed is not None
            log.info("custody seed ready", extra={"wrapping": self._wrapper.describe()})
        if self._wrapper is not None:
            open_seed(self._wrapper, seed)
        self._xpub = seed.account_xpub
        self._sealed = (Wrapped(seed.nonce, seed.ciphertext), seed.id)

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
        wrapper = self.wrapper  # refused in a process that holds no key
        if self._sealed is None:
            raise CustodyError("custody is not initialised: call ensure_seed first")
        wrapped, seed_id = self._sealed
        return keys.private_key_at(_unwrap(wrapper, wrapped, seed_id), key_index)


# --- rotation, backup and recovery (the `oms custody` commands) --------------------------------------------

ROTATED, RECOVERED = "rotated", "recovered"


@dataclass(frozen=True, slots=True)
class Rewrapped:
    """A rotation's or a recovery's outcome: the key retired (None: there was no seed) and the key now wrapping."""

    retired: str | None
    wrapping: str
    key_id: str
    xpub: str


@dataclass(frozen=True, slots=True)
class Kit:
    """The recovery kit: the shares, and what identifies the seed they rebuild (public)."""

    shares: list[str]
    threshold: int
    xpub: str
    first_address: str


async def _the_seed(session: AsyncSession) -> CustodySeed:
    seed = await repository.seed(session, SEED_ID)
    if seed is None:
        raise CustodyError("this database has no custody seed yet (start the server once, or `oms custody recover`)")
    return seed


async def _replace_wrapping(
    session: AsyncSession, seed: CustodySeed, mnemonic: str, new: SeedWrapper, *, reason: str, at: datetime
) -> Rewrapped:
    """Wrap ``mnemonic`` under ``new`` and swap it in for ``seed``'s wrapping, retiring the old key, in the
    caller's transaction: its commit makes the new wrapping and the record of the retired key at once."""
    new_key_id = _key_id(new)
    if (seed.wrapping_backend, seed.kek_fingerprint) == (new.backend, new_key_id):
        raise CustodyError(f"the seed is wrapped by {new.describe()} already: give another key")
    wrapped = _wrap(new, mnemonic, seed.id)
    was = (seed.wrapping_backend, seed.kek_fingerprint, seed.ciphertext)
    retired = CustodyRetiredKey(
        seed_id=seed.id,
        backend=seed.wrapping_backend,
        key_id=seed.kek_fingerprint,
        key_label=seed.wrapping_key_label,
        reason=reason,
        wrapped_since=seed.wrapped_at,
        retired_at=at,
        replaced_by_backend=new.backend,
        replaced_by_key_id=new_key_id,
    )
    written = await repository.rewrap_seed(
        session,
        seed_id=seed.id,
        was=was,
        nonce=wrapped.nonce,
        ciphertext=wrapped.ciphertext,
        backend=new.backend,
        key_id=new_key_id,
        key_label=new.key_label,
        at=at,
    )
    if not written:
        raise CustodyError("the seed's wrapping changed meanwhile (another rotation or recovery): nothing written")
    await repository.retire_key(session, retired)
    return Rewrapped(_describe_wrapping(seed), new.describe(), new_key_id, seed.account_xpub)


async def rotate(session: AsyncSession, *, current: SeedWrapper, new: SeedWrapper, clock: Clock) -> Rewrapped:
    """Re-wrap the seed under ``new``: opened by ``current`` (the key that wraps it), wrapped and read back
    under ``new``, swapped in with one conditional update in the caller's transaction. The phrase, so the
    public key and every address, is unchanged."""
    seed = await _the_seed(session)
    mnemonic = open_seed(current, seed)
    return await _replace_wrapping(session, seed, mnemonic, new, reason=ROTATED, at=clock.now())


async def backup(session: AsyncSession, wrapper: SeedWrapper, *, shares: int, threshold: int) -> Kit:
    """The seed split into ``shares`` SLIP-39 shares, any ``threshold`` of which rebuild it."""
    seed = await _the_seed(session)
    mnemonic = open_seed(wrapper, seed)
    split = recovery.split(mnemonic, shares=shares, threshold=threshold)
    if recovery.combine(split[:threshold]) != mnemonic:  # the kit is checked before anyone relies on it
        raise CustodyError("the recovery shares did not rebuild the seed: no kit written")
    return Kit(split, threshold, seed.account_xpub, keys.address_at(seed.account_xpub, 0))


async def recover(session: AsyncSession, *, shares: list[str], wrapper: SeedWrapper, clock: Clock) -> Rewrapped:
    """Rebuild the seed from its shares and wrap it under ``wrapper``, in the caller's transaction.

    On a fresh database the seed is inserted. On a database that has one (a restored copy whose key was lost),
    the shares must rebuild that very seed (the same public key), which is then re-wrapped under ``wrapper``,
    the lost key retired. ``recovery.RecoveryError`` (the shares) or ``CustodyError``, and nothing written."""
    mnemonic = recovery.combine(shares)
    xpub = keys.account_xpub(mnemonic)
    now = clock.now()
    seed = await repository.seed(session, SEED_ID)
    if seed is not None:
        if seed.account_xpub != xpub:
            raise CustodyError(
                "the shares rebuild another seed than the one this database holds (its addresses would all "
                "differ): nothing written"
            )
        if (seed.wrapping_backend, seed.kek_fingerprint) == (wrapper.backend, _key_id(wrapper)):
            raise CustodyError("this database's seed is wrapped by the configured key already: nothing to recover")
        return await _replace_wrapping(session, seed, mnemonic, wrapper, reason=RECOVERED, at=now)
    wrapped = _wrap(wrapper, mnemonic, SEED_ID, first=True)
    await repository.insert_seed_once(
        session,
        seed_id=SEED_ID,
        nonce=wrapped.nonce,
        ciphertext=wrapped.ciphertext,
        backend=wrapper.backend,
        key_id=_key_id(wrapper),
        key_label=wrapper.key_label,
        account_xpub=xpub,
        created_at=now,
    )
    seed = await repository.seed(session, SEED_ID, reread=True)
    if seed is None or seed.account_xpub != xpub:
        raise CustodyError("another process created a seed meanwhile: nothing written")
    return Rewrapped(None, wrapper.describe(), _key_id(wrapper), xpub)


async def status(session: AsyncSession) -> tuple[CustodySeed, list[CustodyRetiredKey]]:
    """The seed's row (its wrapping, its public key) and the keys retired from it, oldest first."""
    seed = await _the_seed(session)
    return seed, await repository.retired_keys(session, seed.id)
