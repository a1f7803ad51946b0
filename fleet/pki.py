"""The site's certificate authority: the broker's server certificate and every client certificate.

The broker trusts one CA and takes each client's identity from its certificate's common name
(mosquitto ``use_identity_as_username``), so the CN is what the ACL keeps to its own topics: a device's
CN is its device id, the ingest workers share the CN :data:`INGEST_IDENTITY`. Devices make their own
TLS key and send only a certificate signing request (see ``fleet.provision``); their private key never
leaves the device. Keys are ECDSA P-256, which mosquitto (OpenSSL), paho and a Pi all handle quickly.

A CA folder holds ``ca.key`` (mode 0600, keep it offline in production), ``ca.crt`` (give it to
every device and to the broker), and ``index.json`` and ``crl.pem``: what it issued and what it revoked
(see ``fleet.revocation``; give ``crl.pem`` to the broker).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.errors import EdgehrError

# Named here too: callers know the CA, its files and the issuing as one module.
from fleet.authority import CA_CERT as CA_CERT
from fleet.authority import CA_KEY as CA_KEY
from fleet.authority import CertificateAuthority as CertificateAuthority
from fleet.revocation import record_issued, write_crl

#: Certificate CN (and so broker user name) shared by the server's ingest workers.
INGEST_IDENTITY = "edgehr-ingest"

#: A client CN is a device id (``[a-z0-9-]``, as in the device config) or the ingest identity. No MQTT
#: wildcard, "/" or "%" can reach the ACL patterns that substitute it.
_CLIENT_CN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")

CA_DAYS = 3650
SERVER_DAYS = 825
CLIENT_DAYS = 825


def _error(what: str, fix: str) -> EdgehrError:
    return EdgehrError(what, fix, code="pki")


@dataclass(frozen=True)
class CertFiles:
    """A certificate and its private key on disk."""

    cert: Path
    key: Path


def new_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file with mode 0600 from its creation on, then move it into place atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def validate_client_cn(common_name: str) -> str:
    if _CLIENT_CN.fullmatch(common_name) is None:
        raise _error(
            f"{common_name!r} cannot be a client certificate name: the broker ACL uses it in topic names.",
            "Use 1 to 64 characters from a-z, 0-9 and '-', starting with a letter or digit (a device id).",
        )
    return common_name


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, days: int
) -> x509.CertificateBuilder:
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # Back-date a little: a Pi whose clock has not synced yet must not reject a certificate as future.
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def create_ca(folder: Path, name: str = "edgehr site CA", days: int = CA_DAYS) -> CertificateAuthority:
    """Make a new CA in ``folder``; refuses to replace an existing one (every certificate hangs on it)."""
    if (folder / CA_KEY).exists() or (folder / CA_CERT).exists():
        raise _error(
            f"{folder} already holds a CA ({CA_KEY}/{CA_CERT}); replacing it would orphan every issued certificate.",
            "Use that CA, or choose an empty folder for a new one.",
        )
    key = new_private_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        _builder(subject, subject, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    write_private(folder / CA_KEY, key_pem(key))
    write_public(folder / CA_CERT, cert.public_bytes(serialization.Encoding.PEM))
    ca = CertificateAuthority(folder, cert, key)
    write_crl(ca)  # empty: a broker configured with the CRL can start before anything is revoked
    return ca


def load_ca(folder: Path) -> CertificateAuthority:
    try:
        cert = x509.load_pem_x509_certificate((folder / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((folder / CA_KEY).read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise _error(
            f"No CA in {folder}: {exc.filename} is missing.", "Create one with `edgehr-ca init FOLDER`."
        ) from None
    except ValueError as exc:
        raise _error(f"The CA in {folder} cannot be read: {exc}.", "Restore ca.key and ca.crt from backup.") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise _error(f"{folder / CA_KEY} is not an EC private key.", "Use a CA made by `edgehr-ca init`.")
    return CertificateAuthority(folder, cert, key)


def _leaf(
    ca: CertificateAuthority,
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    usage: x509.ObjectIdentifier,
    days: int,
    san: x509.SubjectAlternativeName | None = None,
) -> x509.Certificate:
    builder = (
        _builder(subject, ca.cert.subject, public_key, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def issue_server_cert(
    ca: CertificateAuthority,
    out_dir: Path,
    hostnames: Sequence[str] = (),
    addresses: Sequence[str] = (),
    name: str = "broker",
    days: int = SERVER_DAYS,
) -> CertFiles:
    """Key and certificate for the broker, valid for localhost, 127.0.0.1, this host and those given."""
    dns = list(dict.fromkeys(["localhost", socket.gethostname(), *hostnames]))
    try:
        ips = [ipaddress.ip_address(a) for a in dict.fromkeys(["127.0.0.1", *addresses])]
    except ValueError as exc:
        raise _error(f"Not an IP address: {exc}.", "Give host names with --hostname and addresses with --ip.") from None
    san = x509.SubjectAlternativeName([*(x509.DNSName(d) for d in dns), *(x509.IPAddress(ip) for ip in ips)])
    key = new_private_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[1] if len(dns) > 1 else dns[0])])
    cert = _leaf(ca, subject, key.public_key(), ExtendedKeyUsageOID.SERVER_AUTH, days, san)
    record_issued(ca.folder, cert, "server")
    files = CertFiles(out_dir / f"{name}.crt", out_dir / f"{name}.key")
    write_private(files.key, key_pem(key))
    write_public(files.cert, cert.public_bytes(serialization.Encoding.PEM))
    return files


def issue_client_cert(ca: CertificateAuthority, common_name: str, out_dir: Path, days: int = CLIENT_DAYS) -> CertFiles:
    """Key and certificate for a client made here (the ingest identity, tests); devices send a CSR instead."""
    validate_client_cn(common_name)
    key = new_private_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = _leaf(ca, subject, key.public_key(), ExtendedKeyUsageOID.CLIENT_AUTH, days)
    record_issued(ca.folder, cert, "client")
    files = CertFiles(out_dir / f"{common_name}.crt", out_dir / f"{common_name}.key")
    write_private(files.key, key_pem(key))
    write_public(files.cert, cert.public_bytes(serialization.Encoding.PEM))
    return files


def make_csr(key: ec.EllipticCurvePrivateKey, common_name: str) -> bytes:
    """A PEM certificate signing request for a client whose identity is ``common_name``."""
    validate_client_cn(common_name)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def read_csr(data: bytes, source: str = "the request") -> tuple[x509.CertificateSigningRequest, str]:
    """Parse and check a client CSR; return it with its common name (the identity it asks for)."""
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError as exc:
        raise _error(
            f"{source} is not a PEM certificate request: {exc}.", "Send the tls.csr file made by provisioning."
        ) from None
    if not csr.is_signature_valid:
        raise _error(
            f"{source} has an invalid signature; it was damaged or forged.", "Ask the device for a new request."
        )
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise _error(f"{source} must name exactly one common name, it has {len(names)}.", "Provision the device again.")
    common_name = str(names[0].value)
    validate_client_cn(common_name)
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise _error(f"{source} carries a {type(public_key).__name__}, not an EC key.", "Provision with edgehr.")
    return csr, common_name


def sign_csr(
    ca: CertificateAuthority,
    csr_pem: bytes,
    out_path: Path,
    expected_cn: str | None = None,
    days: int = CLIENT_DAYS,
    source: str = "the request",
) -> str:
    """Issue a client certificate for a CSR; with ``expected_cn``, refuse a request for another identity.

    Returns the common name certified. Only the subject's CN and public key are taken from the request:
    extensions it asks for are ignored, so a device cannot ask to become a CA or a server.
    """
    csr, common_name = read_csr(csr_pem, source)
    if common_name == INGEST_IDENTITY:
        raise _error(
            f"{source} asks for the ingest identity {INGEST_IDENTITY!r}, which reads every device's uplink.",
            "Refuse it: ingest certificates are made on the server with `edgehr-ca client`, never from a request.",
        )
    if expected_cn is not None and common_name != expected_cn:
        raise _error(
            f"{source} asks for identity {common_name!r}, not the expected {expected_cn!r}.",
            "Check which device sent it; sign only a request whose device id you registered.",
        )
    public_key = csr.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)  # checked by read_csr
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = _leaf(ca, subject, public_key, ExtendedKeyUsageOID.CLIENT_AUTH, days)
    record_issued(ca.folder, cert, "device")
    write_public(out_path, cert.public_bytes(serialization.Encoding.PEM))
    return common_name


def verify_issued(ca: CertificateAuthority, cert_path: Path) -> x509.Certificate:
    """Load ``cert_path`` and check that this CA signed it and that it is valid now."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise _error(
            f"{cert_path} was not issued by the CA in {ca.folder}: {exc}.", "Use the CA that issued it."
        ) from None
    now = _now()
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise _error(
            f"{cert_path} is valid only from {cert.not_valid_before_utc} to {cert.not_valid_after_utc}.",
            "Check the clock, or issue a new certificate.",
        )
    return cert


def common_name_of(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""
