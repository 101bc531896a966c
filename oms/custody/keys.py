"""Pure key material operations: BIP-39 seeds, BIP-32/44 derivation, the seed's associated data. No I/O."""

from __future__ import annotations

from bip_utils import (
    Bip39MnemonicGenerator,
    Bip39MnemonicValidator,
    Bip39SeedGenerator,
    Bip39WordsNum,
    Bip44,
    Bip44Changes,
    Bip44Coins,
)
from bip_utils.bip.bip44_base import Bip44Base
from eth_utils import to_checksum_address

SEED_AAD_PREFIX = b"oms/custody/seed/v1/"


class InvalidMnemonic(ValueError):
    pass


def generate_mnemonic() -> str:
    return str(Bip39MnemonicGenerator().FromWordsNumber(Bip39WordsNum.WORDS_NUM_24))


def _external_chain(mnemonic: str) -> Bip44Base:
    """The BIP-44 node m/44'/60'/0'/0 of this mnemonic."""
    if not Bip39MnemonicValidator().IsValid(mnemonic):
        raise InvalidMnemonic("not a valid BIP-39 mnemonic")
    seed = Bip39SeedGenerator(mnemonic).Generate()
    return Bip44.FromSeed(seed, Bip44Coins.ETHEREUM).Purpose().Coin().Account(0).Change(Bip44Changes.CHAIN_EXT)


def account_xpub(mnemonic: str) -> str:
    """The extended public key of m/44'/60'/0'/0: enough to derive every address, useless for signing."""
    return _external_chain(mnemonic).PublicKey().ToExtended()


def address_at(xpub: str, index: int) -> str:
    """EIP-55 address of m/44'/60'/0'/0/<index>, by public derivation."""
    node = Bip44.FromExtendedKey(xpub, Bip44Coins.ETHEREUM).AddressIndex(index)
    return to_checksum_address(node.PublicKey().ToAddress())


def private_key_at(mnemonic: str, index: int) -> bytes:
    return _external_chain(mnemonic).AddressIndex(index).PrivateKey().Raw().ToBytes()


def seed_associated_data(seed_id: int) -> bytes:
    return SEED_AAD_PREFIX + str(seed_id).encode()
