"""Custody for the composition root: the seed's wrapper built from Settings (the configured key or a PKCS#11
token), and the custody service around it."""

from __future__ import annotations

import os
from pathlib import Path

from oms.config import DEVELOPMENT_KEK_FILE, ConfigurationError, Mode, Settings, decode_secret
from oms.custody.hsm import Pkcs11Config, Pkcs11Wrapper, softhsm_module
from oms.custody.service import Custody, CustodyError
from oms.custody.wrapping import CONFIGURED, ConfiguredKek, SeedWrapper, WrappingError
from oms.kit.time import Clock


def read_pin(path: Path) -> str:
    """A PIN kept in a file (its first line; the file should be readable by the server's user only)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"the PKCS#11 PIN file {path} cannot be read ({type(exc).__name__})") from exc
    lines = text.splitlines()
    pin = lines[0].strip() if lines else ""
    if not pin:
        raise ConfigurationError(f"the PKCS#11 PIN file {path} is empty")
    return pin


def pkcs11_config(
    settings: Settings,
    *,
    module: str | None = None,
    token_label: str | None = None,
    key_label: str | None = None,
    pin_file: Path | None = None,
) -> Pkcs11Config:
    """The token and key the settings name, each part replaceable (a rotation's target)."""
    path = module or settings.custody_pkcs11_module
    if not path and settings.mode is Mode.sandbox:
        path = softhsm_module() or ""
    if not path:
        raise ConfigurationError("OMS_CUSTODY_PKCS11_MODULE is required: the path of the HSM's PKCS#11 library")
    token = token_label or settings.custody_pkcs11_token_label
    if not token:
        raise ConfigurationError("OMS_CUSTODY_PKCS11_TOKEN_LABEL is required: the label of the token to use")
    label = key_label or settings.custody_pkcs11_key_label
    if not label:
        raise ConfigurationError("OMS_CUSTODY_PKCS11_KEY_LABEL must not be empty")
    file = pin_file or settings.custody_pkcs11_pin_file
    pin = read_pin(file) if file else settings.custody_pkcs11_pin
    if not pin:
        raise ConfigurationError(
            "a PKCS#11 PIN is required: OMS_CUSTODY_PKCS11_PIN_FILE (a file holding it) or OMS_CUSTODY_PKCS11_PIN"
        )
    return Pkcs11Config(module=path, token_label=token, key_label=label, pin=pin)


def build_wrapper(settings: Settings) -> SeedWrapper:
    """The wrapper the settings configure: nothing is opened yet (a token is reached on first use)."""
    if settings.custody_backend == CONFIGURED:
        return ConfiguredKek(settings.custody_kek_bytes())
    return Pkcs11Wrapper(pkcs11_config(settings))


def build_custody(settings: Settings, clock: Clock) -> Custody:
    return Custody(build_wrapper(settings), clock)


def new_configured_kek(path: Path) -> ConfiguredKek:
    """A rotation's new configured key, from the file the operator wrote it to (hex or base64, 32 bytes)."""
    return ConfiguredKek(_kek_in(path))


def _kek_in(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"the new key-encryption key file {path} cannot be read ({type(exc).__name__})"
        ) from exc
    try:
        kek = decode_secret(text)
    except ConfigurationError as exc:
        raise ConfigurationError(f"the new key-encryption key in {path} must be hex or base64") from exc
    if len(kek) != 32:
        raise ConfigurationError(f"the new key-encryption key in {path} must be exactly 32 bytes (64 hex digits)")
    return kek


def provisioned_pkcs11(config: Pkcs11Config) -> Pkcs11Wrapper:
    """A rotation's (or recovery's) token key, generated inside the token if it is not there yet."""
    try:
        return Pkcs11Wrapper.provision(config)
    except WrappingError as exc:
        raise CustodyError(str(exc)) from exc


def development_kek_in_use(settings: Settings) -> bool:
    """Whether the configured key is the sandbox's generated key file (no OMS_CUSTODY_KEK)."""
    return settings.custody_backend == CONFIGURED and not settings.custody_kek and settings.mode is Mode.sandbox


def install_development_kek(settings: Settings, new_kek_file: Path) -> Path:
    """Replace the sandbox's generated key file with the key in ``new_kek_file`` (after a rotation to it
    committed), atomically: a crash leaves the old file, and the new key is still in ``new_kek_file``."""
    kek = _kek_in(new_kek_file)
    path = settings.data_dir / DEVELOPMENT_KEK_FILE
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, kek.hex().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    return path
