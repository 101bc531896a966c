"""Mutual TLS for a signer on another host: both ends present a certificate that chains to one CA (TLS 1.3 only),
and the signer answers only the client certificates' common names it allows (any, if it lists none)."""

from __future__ import annotations

import ssl
from pathlib import Path

from oms.config import ConfigurationError, Settings


def address(text: str, what: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError(f"{what} must be host:port, not {text!r}")
    return host.strip("[]"), int(port)


def _files(settings: Settings) -> tuple[Path, Path, Path]:
    cert, key, ca = settings.signer_tls_cert, settings.signer_tls_key, settings.signer_tls_ca
    if cert is None or key is None or ca is None:
        raise ConfigurationError("mutual TLS needs OMS_SIGNER_TLS_CERT, OMS_SIGNER_TLS_KEY and OMS_SIGNER_TLS_CA")
    return cert, key, ca


def _context(purpose: ssl.Purpose, settings: Settings) -> ssl.SSLContext:
    cert, key, ca = _files(settings)
    context = ssl.create_default_context(purpose, cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"the signer's TLS certificate or key cannot be read: {exc}") from exc
    return context


def server_context(settings: Settings) -> ssl.SSLContext:
    """The signer's: its certificate, and a client certificate required."""
    return _context(ssl.Purpose.CLIENT_AUTH, settings)


def client_context(settings: Settings) -> ssl.SSLContext:
    """A client's: its certificate, and the signer's checked against the CA and its name."""
    return _context(ssl.Purpose.SERVER_AUTH, settings)


def allowed_names(settings: Settings) -> frozenset[str]:
    return frozenset(name.strip() for name in settings.signer_tls_allowed_names.split(",") if name.strip())


def common_name(peer_certificate: dict[str, object] | None) -> str:
    """The subject's common name of a verified peer certificate (``SSLObject.getpeercert()``)."""
    for rdn in (peer_certificate or {}).get("subject", ()):  # type: ignore[attr-defined]
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return ""
