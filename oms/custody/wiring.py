"""Custody for the composition root: the seed's wrapper built from Settings (the configured key or a PKCS#11
token), and the custody service around it."""

from __future__ import annotations

from pathlib import Path

from oms.config import ConfigurationError, Mode, Settings
from oms.custody.hsm import Pkcs11Config, Pkcs11Wrapper, softhsm_module
from oms.custody.service import Custody
from oms.custody.wrapping import CONFIGURED, ConfiguredKek, SeedWrapper
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
