"""The PKCS#11 adapter of the key-wrapping port: the seed wrapped by an AES-256 key that lives in a token.

The key-encryption key is generated inside the token, sensitive and not extractable (``CKA_SENSITIVE`` true,
``CKA_EXTRACTABLE`` false): the token encrypts and decrypts with it (``CKM_AES_GCM``, a fresh 96-bit nonce per
wrapping, the seed row's associated data), and no process ever holds it. Any PKCS#11 module works the same way
(SoftHSM2 in tests and CI; AWS CloudHSM, YubiHSM 2, Thales Luna, Entrust nShield, a network HSM's client
library in production): the configuration names the module, the token by label, the user PIN and the key by label.

PKCS#11 keeps one login per token per process, so sessions are shared by every wrapper of a process that
reaches the same token (``_sessions``); a session the token dropped (an HSM restarted, a network HSM
reconnecting) is opened again once before an operation fails.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass, exceptions
from pkcs11.mechanisms import GCMParams
from pkcs11.types import DecryptMixin, EncryptMixin

if TYPE_CHECKING:
    from pkcs11._pkcs11 import lib as Library

from oms.custody.wrapping import PKCS11, Wrapped, WrappingError

T = TypeVar("T")
NONCE_BYTES = 12
TAG_BITS = 128
# Where distributions put SoftHSM2's module: Debian and Ubuntu (both paths), Fedora and RHEL, a source build,
# Homebrew. The sandbox and the tests use the first that exists when no module is configured.
_SOFTHSM_PATHS = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/*-linux-gnu*/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)
# The token dropped the session: open it again (once) rather than fail.
_SESSION_LOST = (
    exceptions.SessionHandleInvalid,
    exceptions.SessionClosed,
    exceptions.DeviceRemoved,
    exceptions.TokenNotPresent,
    exceptions.UserNotLoggedIn,
)
_PIN_REFUSED = (exceptions.PinIncorrect, exceptions.PinInvalid, exceptions.PinLenRange)


def softhsm_module() -> str | None:
    """The installed SoftHSM2 module's path, or None."""
    for pattern in _SOFTHSM_PATHS:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path):
                return path
    return None


@dataclass(frozen=True, slots=True)
class Pkcs11Config:
    """Which token and key: the module's path, the token's label, the user PIN, the key's label."""

    module: str
    token_label: str
    key_label: str
    pin: str = field(repr=False)

    @property
    def where(self) -> str:
        return f"token '{self.token_label}'"


_lock = threading.RLock()
_sessions: dict[tuple[str, str], pkcs11.Session] = {}
_modules: set[str] = set()  # every module this process loaded (by its real path)


def _library(module: str) -> Library:
    if not os.path.isfile(module):
        raise WrappingError(f"the PKCS#11 module {module} does not exist (is the HSM's client library installed?)")
    try:
        library = pkcs11.lib(module)
        _modules.add(module)
        return library
    except (OSError, exceptions.PKCS11Error) as exc:
        raise WrappingError(f"the PKCS#11 module {module} cannot be loaded ({type(exc).__name__})") from exc


def _open(config: Pkcs11Config) -> pkcs11.Session:
    """The process's session on the configured token, logged in as its user (opened on first use)."""
    module = os.path.realpath(config.module)
    key = (module, config.token_label)
    session = _sessions.get(key)
    if session is not None:
        return session
    library = _library(module)
    try:
        token = library.get_token(token_label=config.token_label)
    except exceptions.NoSuchToken as exc:
        raise WrappingError(
            f"no PKCS#11 token labelled '{config.token_label}' in {config.module} (is it present and initialised?)"
        ) from exc
    except exceptions.MultipleTokensReturned as exc:
        raise WrappingError(f"more than one PKCS#11 token is labelled '{config.token_label}'") from exc
    try:
        session = token.open(rw=True, user_pin=config.pin)
    except exceptions.UserAlreadyLoggedIn:  # another wrapper of this process logged in to this token
        session = token.open(rw=True)
    except _PIN_REFUSED as exc:
        raise WrappingError(f"the PKCS#11 {config.where} refused the PIN") from exc
    except exceptions.PinLocked as exc:
        raise WrappingError(f"the PKCS#11 {config.where}'s user PIN is locked (too many wrong PINs)") from exc
    except exceptions.PKCS11Error as exc:
        raise WrappingError(f"the PKCS#11 {config.where} cannot be opened ({type(exc).__name__})") from exc
    assert isinstance(session, pkcs11.Session)
    _sessions[key] = session
    return session


def _forget(config: Pkcs11Config) -> None:
    session = _sessions.pop((os.path.realpath(config.module), config.token_label), None)
    if session is not None:
        with contextlib.suppress(exceptions.PKCS11Error):  # the token has dropped it already
            session.close()


def close_all() -> None:
    """Close every session and unload every module of this process (a process's end, a test's token)."""
    with _lock:
        for session in list(_sessions.values()):
            with contextlib.suppress(exceptions.PKCS11Error):
                session.close()
        _sessions.clear()
        for module in _modules:
            pkcs11.unload(module)  # none of it if it is loaded no more


def _with_session(config: Pkcs11Config, operation: Callable[[pkcs11.Session], T]) -> T:
    """``operation`` on the token's session; a dropped session is opened again once. Any other failure of the
    token is a ``WrappingError`` naming its kind."""
    with _lock:
        try:
            try:
                return operation(_open(config))
            except _SESSION_LOST:
                _forget(config)
                return operation(_open(config))
        except exceptions.PKCS11Error as exc:
            _forget(config)
            raise WrappingError(f"the PKCS#11 {config.where} failed ({type(exc).__name__})") from exc


def _key(session: pkcs11.Session, config: Pkcs11Config) -> pkcs11.SecretKey:
    try:
        key = session.get_key(object_class=ObjectClass.SECRET_KEY, key_type=KeyType.AES, label=config.key_label)
    except exceptions.NoSuchKey as exc:
        raise WrappingError(f"no AES key labelled '{config.key_label}' on the PKCS#11 {config.where}") from exc
    except exceptions.MultipleObjectsReturned as exc:
        raise WrappingError(
            f"more than one AES key is labelled '{config.key_label}' on the PKCS#11 {config.where}"
        ) from exc
    assert isinstance(key, pkcs11.SecretKey)
    return key


def _check_protected(key: pkcs11.SecretKey, config: Pkcs11Config) -> None:
    """Refuse a key that the token would let out: only a sensitive, non-extractable key wraps the seed."""
    if key[Attribute.EXTRACTABLE] or not key[Attribute.SENSITIVE]:
        raise WrappingError(
            f"the key '{config.key_label}' on the PKCS#11 {config.where} is extractable or not sensitive: "
            "the seed is wrapped only by a key that cannot leave the token"
        )


def _identity(key: pkcs11.SecretKey, config: Pkcs11Config) -> str:
    """The key's public identity: a digest of its CKA_ID and label (32 hex digits)."""
    key_id = bytes(key[Attribute.ID] or b"")
    material = b"oms:pkcs11-key:" + key_id + b"\0" + config.key_label.encode()
    return hashlib.sha256(material).hexdigest()[:32]


class Pkcs11Wrapper:
    """Wraps the seed with AES-256-GCM inside a PKCS#11 token, under the key labelled ``config.key_label``."""

    backend = PKCS11

    def __init__(self, config: Pkcs11Config) -> None:
        self._config = config
        self._key_id: str | None = None

    @classmethod
    def provision(cls, config: Pkcs11Config) -> Pkcs11Wrapper:
        """The wrapper of the key ``config.key_label``, the key generated first if the token has none."""
        wrapper = cls(config)
        wrapper.ensure_key()
        return wrapper

    def ensure_key(self) -> None:
        """Generate the key inside the token if it is not there yet (an existing one must be sensitive and not
        extractable): for the first wrapping of a seed, never to replace the key that wraps one."""
        config = self._config

        def ensure(session: pkcs11.Session) -> None:
            try:
                _check_protected(_key(session, config), config)
                return
            except WrappingError:
                if any(True for _ in session.get_objects({Attribute.LABEL: config.key_label})):
                    raise
            try:
                session.generate_key(
                    KeyType.AES,
                    256,
                    id=secrets.token_bytes(16),
                    label=config.key_label,
                    store=True,
                    capabilities=MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT,
                    template={
                        Attribute.TOKEN: True,
                        Attribute.PRIVATE: True,
                        Attribute.SENSITIVE: True,
                        Attribute.EXTRACTABLE: False,
                        Attribute.WRAP: False,
                        Attribute.UNWRAP: False,
                    },
                )
            except exceptions.PKCS11Error as exc:
                raise WrappingError(
                    f"the PKCS#11 {config.where} could not generate the key '{config.key_label}' ({type(exc).__name__})"
                ) from exc

        _with_session(config, ensure)

    @property
    def config(self) -> Pkcs11Config:
        return self._config

    @property
    def key_id(self) -> str:
        if self._key_id is None:
            self._key_id = _with_session(
                self._config, lambda session: _identity(self._protected(session), self._config)
            )
        return self._key_id

    @property
    def key_label(self) -> str:
        return f"token '{self._config.token_label}' key '{self._config.key_label}'"

    def _protected(self, session: pkcs11.Session) -> pkcs11.SecretKey:
        key = _key(session, self._config)
        _check_protected(key, self._config)
        return key

    def wrap(self, plaintext: bytes, associated_data: bytes) -> Wrapped:
        nonce = secrets.token_bytes(NONCE_BYTES)

        def encrypt(session: pkcs11.Session) -> bytes:
            key = self._protected(session)
            assert isinstance(key, EncryptMixin)
            try:
                ciphertext = key.encrypt(
                    plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, associated_data, TAG_BITS)
                )
            except _SESSION_LOST:
                raise
            except exceptions.PKCS11Error as exc:
                raise WrappingError(
                    f"the PKCS#11 {self._config.where} could not wrap the seed ({type(exc).__name__})"
                ) from exc
            assert isinstance(ciphertext, bytes)
            return ciphertext

        return Wrapped(nonce, _with_session(self._config, encrypt))

    def unwrap(self, wrapped: Wrapped, associated_data: bytes) -> bytes:
        if len(wrapped.nonce) != NONCE_BYTES or len(wrapped.ciphertext) <= TAG_BITS // 8:
            raise WrappingError("the wrapped seed is malformed (tampered, or not a PKCS#11 wrapping)")

        def decrypt(session: pkcs11.Session) -> bytes:
            key = self._protected(session)
            assert isinstance(key, DecryptMixin)
            params = GCMParams(wrapped.nonce, associated_data, TAG_BITS)
            try:
                plaintext = key.decrypt(wrapped.ciphertext, mechanism=Mechanism.AES_GCM, mechanism_param=params)
            except _SESSION_LOST:
                raise
            except exceptions.PKCS11Error as exc:
                # Tokens report a failed GCM tag differently (SoftHSM2: CKR_GENERAL_ERROR; others
                # CKR_ENCRYPTED_DATA_INVALID): all of them mean the token would not open it.
                raise WrappingError(
                    f"the PKCS#11 {self._config.where} would not unwrap the seed: it failed authentication "
                    f"(tampered, or wrapped by another key; {type(exc).__name__})"
                ) from exc
            assert isinstance(plaintext, bytes)
            return plaintext

        return _with_session(self._config, decrypt)

    def describe(self) -> str:
        known = f" ({self._key_id})" if self._key_id else ""  # never opens the token: a message must not fail
        return f"PKCS#11 {self.key_label}{known}"
