"""The recovery kit: the master seed's BIP-39 entropy split into SLIP-39 shares, and rebuilt from them. No I/O.

SLIP-39 (``shamir-mnemonic``, the reference implementation) splits a secret into N word lists of which any K
rebuild it and fewer reveal nothing about it. The secret split here is the seed's BIP-39 entropy (16 to 32
bytes), so the rebuilt mnemonic is the very same phrase, and so are the keys and addresses derived from it.
One group (``group_threshold`` 1) of N members with threshold K; no SLIP-39 passphrase: the shares themselves
are the secret, kept apart. Errors are ``RecoveryError``, whose message never quotes a share's words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import shamir_mnemonic
from bip_utils import Bip39MnemonicDecoder, Bip39MnemonicEncoder
from bip_utils.utils.mnemonic import MnemonicChecksumError

from oms.custody.keys import InvalidMnemonic

MAX_SHARES = 16  # SLIP-39's limit for a group's members


class RecoveryError(ValueError):
    """The shares cannot rebuild the seed (too few, a wrong one, a repeated one, another backup's)."""


@dataclass(frozen=True, slots=True)
class ShareInfo:
    """What a share says about itself: its backup's identifier, its number (1-based) and the threshold."""

    identifier: int
    number: int
    threshold: int


def check_split(shares: int, threshold: int) -> None:
    """The N-of-K an operator asked for is one SLIP-39 can make (ValueError with the reason, otherwise)."""
    if not 1 <= threshold <= shares <= MAX_SHARES:
        raise ValueError(f"need 1 <= threshold <= shares <= {MAX_SHARES} (got {threshold} of {shares})")
    if threshold == 1 and shares > 1:
        raise ValueError("a threshold of 1 would make every share a full copy of the seed: use 1 share, or 2 or more")


def split(mnemonic: str, *, shares: int, threshold: int) -> list[str]:
    """``shares`` SLIP-39 mnemonics of the seed's entropy, any ``threshold`` of which rebuild it."""
    check_split(shares, threshold)
    try:
        entropy = Bip39MnemonicDecoder().Decode(mnemonic)
    except (ValueError, MnemonicChecksumError) as exc:
        raise InvalidMnemonic("not a valid BIP-39 mnemonic") from exc
    [group] = shamir_mnemonic.generate_mnemonics(1, [(threshold, shares)], bytes(entropy), b"")
    return list(group)


def normalise(share: str) -> str:
    """A share as typed or read: lower case, single spaces (line breaks and numbering from a printout removed)."""
    words = re.findall(r"[a-zA-Z]+", share)
    return " ".join(word.lower() for word in words)


def inspect(share: str, position: int) -> ShareInfo:
    """The share's own description; ``position`` (1-based, as given) names it in an error."""
    try:
        parsed = shamir_mnemonic.Share.from_mnemonic(normalise(share))
    except shamir_mnemonic.MnemonicError:
        raise RecoveryError(
            f"share {position} is not a valid SLIP-39 share (a word misspelt, missing or out of order)"
        ) from None  # the library's message may quote the share's words: not even in a traceback
    if parsed.group_count != 1 or parsed.group_threshold != 1:
        raise RecoveryError(f"share {position} is a multi-group SLIP-39 share, not an OMS recovery share")
    return ShareInfo(parsed.identifier, parsed.index + 1, parsed.member_threshold)


def combine(shares: Sequence[str]) -> str:
    """The BIP-39 mnemonic the shares were split from; ``RecoveryError`` before anything else otherwise."""
    if not shares:
        raise RecoveryError("no share given")
    infos = [inspect(share, position) for position, share in enumerate(shares, start=1)]
    first = infos[0]
    seen: dict[int, int] = {}
    for position, info in enumerate(infos, start=1):
        if info.identifier != first.identifier or info.threshold != first.threshold:
            raise RecoveryError(f"share {position} belongs to another backup than share 1")
        if info.number in seen:
            raise RecoveryError(f"share {position} repeats share {seen[info.number]} (the same share given twice)")
        seen[info.number] = position
    if len(infos) < first.threshold:
        raise RecoveryError(
            f"{first.threshold} different shares are needed to rebuild the seed, {len(infos)} given: "
            "fewer reveal nothing of it"
        )
    chosen = [normalise(share) for share in shares[: first.threshold]]
    try:
        entropy = shamir_mnemonic.combine_mnemonics(chosen, b"")
    except shamir_mnemonic.MnemonicError:
        raise RecoveryError(
            "the shares do not rebuild a seed: one of them is wrong (altered, or from another backup)"
        ) from None
    try:
        return str(Bip39MnemonicEncoder().Encode(entropy))
    except ValueError:
        raise RecoveryError("the shares rebuild a secret that is not a BIP-39 seed's entropy") from None
