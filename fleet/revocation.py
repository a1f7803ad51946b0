"""Certificate revocation for the site CA: its index of issued certificates and its revocation list (CRL).

The CA folder holds ``index.json`` (every certificate it issued: serial, common name, expiry, and when
and why it was revoked) and ``crl.pem``, the CRL signed by the CA key listing every revoked serial. The
broker reads a copy of ``crl.pem`` (mosquitto ``crlfile`` on the TLS listener) and refuses the TLS
handshake of a client whose certificate is listed; mosquitto reads the file again on SIGHUP.

OpenSSL treats a CRL past its ``nextUpdate`` as an error and then refuses *every* client, so the CRL is
written valid for :data:`CRL_DAYS` and rewritten on every revocation; ``edgehr-ca crl`` rewrites it by
hand. ``fleet.pki`` records each certificate it issues here.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from core.errors import EdgehrError
from fleet.authority import CertificateAuthority

INDEX_FILE = "index.json"
#: Held (flock) around every read-modify-write of the index: two edgehr-ca commands, or the HR server
#: revoking while an operator signs, would otherwise each write their own copy and lose the other's row.
LOCK_FILE = ".index.lock"
CRL_FILE = "crl.pem"
#: A CRL's validity. Long, because an expired CRL locks every client out; each revocation renews it.
CRL_DAYS = 3650
REASONS = ("unspecified", "key-compromise", "retired", "superseded")
_REASON_FLAGS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key-compromise": x509.ReasonFlags.key_compromise,
    "retired": x509.ReasonFlags.cessation_of_operation,
    "superseded": x509.ReasonFlags.superseded,
}


def _error(what: str, fix: str) -> EdgehrError:
    return EdgehrError(what, fix, code="pki")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class IssuedCert:
    """One line of the CA's index."""

    serial: str  # hex, as `openssl x509 -serial` prints it
    common_name: str
    not_after: str  # ISO 8601, UTC
    issued_at: str
    revoked_at: str | None = None
    reason: str | None = None
    #: "device" (signed from a device's request), "client" (made here: ingest) or "server" (the broker);
    #: None in an index written before kinds were recorded.
    kind: str | None = None


def _index_path(folder: Path) -> Path:
    return folder / INDEX_FILE


def read_index(folder: Path) -> list[IssuedCert]:
    """The CA's index; empty for a CA made before the index existed (revoke those with ``--cert``)."""
    path = _index_path(folder)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [IssuedCert(**row) for row in rows]
    except FileNotFoundError:
        return []
    except (ValueError, TypeError) as exc:
        raise _error(f"The CA index {path} cannot be read: {exc}.", "Restore it from the CA backup.") from None


@contextmanager
def _index_locked(folder: Path) -> Iterator[None]:
    """Exclusive use of the CA's index (an advisory lock, released when the process dies)."""
    with (folder / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_index(folder: Path, rows: Sequence[IssuedCert]) -> None:
    path = _index_path(folder)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # a crash leaves the old index or the new one, never half of one


def _serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "X")


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def record_issued(folder: Path, cert: x509.Certificate, kind: str) -> None:
    """Add a certificate the CA in ``folder`` has just issued to its index."""
    row = IssuedCert(
        serial=_serial_hex(cert),
        common_name=_common_name(cert),
        not_after=cert.not_valid_after_utc.isoformat(),
        issued_at=_now().isoformat(),
        kind=kind,
    )
    with _index_locked(folder):
        _write_index(folder, [*read_index(folder), row])


def admitted_devices(folder: Path) -> list[str]:
    """Device ids holding a device certificate that is neither revoked nor expired: the broker's device
    list (its rules let exactly these in), so a revocation also drops the device at the next render."""
    now = _now()
    return sorted(
        {
            r.common_name
            for r in read_index(folder)
            if r.kind == "device" and r.revoked_at is None and dt.datetime.fromisoformat(r.not_after) > now
        }
    )


def revoke(
    ca: CertificateAuthority,
    *,
    common_name: str | None = None,
    cert_path: Path | None = None,
    reason: str = "retired",
) -> list[IssuedCert]:
    """Revoke every unrevoked certificate of ``common_name``, or the one in ``cert_path``; rewrite the CRL.

    Returns the certificates revoked by this call (empty when they were all revoked already). Raises when
    nothing matches: a typo in a device id must not look like a successful revocation.
    """
    if (common_name is None) == (cert_path is None):
        raise _error("Revoke needs exactly one of a device id or a certificate file.", "Pass --device-id or --cert.")
    if reason not in REASONS:
        raise _error(f"Unknown revocation reason {reason!r}.", f"Choose from: {', '.join(REASONS)}.")
    cert = _load_cert(cert_path) if cert_path is not None else None
    if cert is not None and cert.issuer != ca.cert.subject:
        raise _error(f"{cert_path} was not issued by the CA in {ca.folder}.", "Revoke it with the CA that issued it.")
    with _index_locked(ca.folder):
        revoked = _revoke_rows(ca, common_name, cert, reason)
        write_crl(ca)
    return revoked


def _revoke_rows(ca: CertificateAuthority, common_name: str | None, cert: x509.Certificate | None,
                 reason: str) -> list[IssuedCert]:
    rows = read_index(ca.folder)
    if cert is not None:
        serial = _serial_hex(cert)
        if not any(r.serial == serial for r in rows):  # issued before the index existed
            rows.append(IssuedCert(serial, _common_name(cert), cert.not_valid_after_utc.isoformat(), ""))
        wanted = {serial}
    else:
        wanted = {r.serial for r in rows if r.common_name == common_name}
        if not wanted:
            raise _error(
                f"The CA index {_index_path(ca.folder)} records no certificate for {common_name!r}.",
                "Check the device id (`edgehr-ca list CA_DIR`), or pass the certificate file with --cert.",
            )
    now = _now().isoformat()
    revoked: list[IssuedCert] = []
    updated: list[IssuedCert] = []
    for row in rows:
        if row.serial in wanted and row.revoked_at is None:
            row = IssuedCert(row.serial, row.common_name, row.not_after, row.issued_at, now, reason)
            revoked.append(row)
        updated.append(row)
    _write_index(ca.folder, updated)
    return revoked


def write_crl(ca: CertificateAuthority, days: int = CRL_DAYS) -> Path:
    """Sign and write ``crl.pem`` listing every revoked certificate of the index; return its path."""
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        # Back-dated like the certificates: a broker whose clock lags must not see a CRL from the future.
        .last_update(now - dt.timedelta(days=1))
        .next_update(now + dt.timedelta(days=days))
    )
    for row in read_index(ca.folder):
        if row.revoked_at is None:
            continue
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(row.serial, 16))
            .revocation_date(dt.datetime.fromisoformat(row.revoked_at))
            .add_extension(x509.CRLReason(_REASON_FLAGS[row.reason or "unspecified"]), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    crl = builder.sign(ca.key, hashes.SHA256())
    path = ca.folder / CRL_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, path)  # the broker may read it at any moment: never a half-written file
    return path


def ensure_crl(ca: CertificateAuthority) -> Path:
    """The CA's CRL, written (empty) if the CA has none yet, so a broker with ``crlfile`` can start."""
    path = ca.folder / CRL_FILE
    return path if path.exists() else write_crl(ca)


def revoked_serials(crl_path: Path) -> set[int]:
    """Serial numbers a CRL file lists."""
    try:
        crl = x509.load_pem_x509_crl(crl_path.read_bytes())
    except (FileNotFoundError, ValueError) as exc:
        raise _error(
            f"{crl_path} is not a readable CRL: {exc}.", "Write it again with `edgehr-ca crl CA_DIR`."
        ) from None
    return {entry.serial_number for entry in crl}


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (FileNotFoundError, ValueError) as exc:
        raise _error(f"{path} is not a readable PEM certificate: {exc}.", "Give the device's tls.crt.") from None
