"""A signer on another host, over mutual TLS: a client with a certificate of the signer's CA and an allowed name is
answered (and named in the audit log by its certificate); one whose certificate another CA signed, or whose name is
not allowed, is refused."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from oms.chain.port import SignerUnavailable, SigningRefused
from oms.config import Settings
from oms.context import AppContext
from oms.signer.client import client_for
from tests.signer.conftest import running_signer, signer_env, socket_dir
from tests.signer.support import signer_records
from tests.support import OffsetClock, free_port

Issued = tuple[ec.EllipticCurvePrivateKey, x509.Certificate]


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(common: str, key: ec.EllipticCurvePrivateKey, issuer: Issued | None, *, usage: str = "") -> Issued:
    now = datetime.datetime.now(datetime.UTC)
    signer_key, issuer_name = (issuer[0], issuer[1].subject) if issuer else (key, _name(common))
    builder = (
        x509.CertificateBuilder().subject_name(_name(common)).issuer_name(issuer_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )  # fmt: skip
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[0].public_key()), critical=False
        )
    if usage == "server":
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if usage == "client":
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return key, builder.sign(signer_key, hashes.SHA256())


def _write(directory: Path, name: str, issued: Issued) -> tuple[Path, Path]:
    key, cert = issued
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """A CA, the signer's certificate (for 127.0.0.1), a worker's, an intruder's (same CA, a name not allowed) and
    a stranger's (another CA)."""
    directory = tmp_path_factory.mktemp("pki")
    ca = _certificate("oms test CA", ec.generate_private_key(ec.SECP256R1()), None)
    other_ca = _certificate("another CA", ec.generate_private_key(ec.SECP256R1()), None)
    made = {"ca": _write(directory, "ca", ca)}
    for name, issuer, usage in (
        ("oms-signer", ca, "server"), ("oms-worker", ca, "client"), ("intruder", ca, "client"),
        ("stranger", other_ca, "client"),
    ):  # fmt: skip
        made[name] = _write(directory, name, _certificate(name, ec.generate_private_key(ec.SECP256R1()), issuer,
                                                          usage=usage))  # fmt: skip
    return made


@pytest.fixture(scope="module")
def remote(settings: Settings, clock: OffsetClock, pki: dict[str, tuple[Path, Path]]) -> Iterator[str]:
    """A signer listening with mutual TLS on a loopback port (its address), answering the name oms-worker."""
    address = f"127.0.0.1:{free_port()}"
    cert, key = pki["oms-signer"]
    env = signer_env(settings, clock, socket_dir() / "signer.sock", OMS_SIGNER_TLS_LISTEN=address,
                     OMS_SIGNER_TLS_CERT=str(cert), OMS_SIGNER_TLS_KEY=str(key), OMS_SIGNER_TLS_CA=str(pki["ca"][0]),
                     OMS_SIGNER_TLS_ALLOWED_NAMES="oms-worker")  # fmt: skip
    with running_signer(env):
        yield address


def _client(settings: Settings, remote: str, pki: dict[str, tuple[Path, Path]], who: str):  # type: ignore[no-untyped-def]
    cert, key = pki[who]
    update = {"signer_tls_connect": remote, "signer_tls_cert": cert, "signer_tls_key": key,
              "signer_tls_ca": pki["ca"][0], "signer_timeout_seconds": 5.0}  # fmt: skip
    return client_for(settings.model_copy(update=update))


async def test_a_client_with_a_certificate_of_the_signers_ca_is_answered(
    settings: Settings, remote: str, pki: dict[str, tuple[Path, Path]], ctx: AppContext
) -> None:
    client = _client(settings, remote, pki, "oms-worker")
    await client.ready()
    with pytest.raises(SigningRefused) as refused:
        await client.sign_send("send_01jzzzzzzzzzzzzzzzzzzzzzz1", attempt=0)
    await client.close()
    assert refused.value.code == "send_not_found"
    [record] = await signer_records(ctx, "send_01jzzzzzzzzzzzzzzzzzzzzzz1")
    assert record.client_address == "tls cn=oms-worker 127.0.0.1"


async def test_a_client_whose_certificate_another_ca_signed_is_refused(
    settings: Settings, remote: str, pki: dict[str, tuple[Path, Path]]
) -> None:
    client = _client(settings, remote, pki, "stranger")
    with pytest.raises(SignerUnavailable):
        await client.ready(wait=0.5)
    await client.close()


async def test_a_client_certificate_whose_name_is_not_allowed_is_refused(
    settings: Settings, remote: str, pki: dict[str, tuple[Path, Path]]
) -> None:
    client = _client(settings, remote, pki, "intruder")
    with pytest.raises(SignerUnavailable, match="refused this process"):
        await client.ready(wait=0.5)
    await client.close()
