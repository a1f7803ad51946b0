"""Device provisioning: make this device's keys and the request the site CA signs.

``edgehr device provision --config FILE`` writes into ``<state_dir>/keys/`` (folder mode 0700):

- ``identity.key``  Ed25519 private key: signs everything the device sends (sync protocol)
- ``box.key``       X25519 private key: the server encrypts downlink to it (sync protocol)
- ``tls.key``       ECDSA P-256 private key of the broker client certificate
- ``tls.csr``       certificate signing request, common name = the device id
- ``enrolment.json`` what the server needs: device id, both public keys and the CSR

Private keys are PKCS#8 PEM files, mode 0600 from creation on, and never leave the device. Running it
again changes nothing that exists (a missing file is made, a CSR is remade from the existing TLS key);
``--rotate`` makes new keys and keeps the replaced ones as ``*.previous`` so messages sealed to the old
keys can still be read while the server learns the new ones.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from core.errors import EdgehrError
from fleet.pki import INGEST_IDENTITY, make_csr, new_private_key, read_csr, write_private, write_public

KEYS_DIR = "keys"
IDENTITY_KEY = "identity.key"
BOX_KEY = "box.key"
TLS_KEY = "tls.key"
TLS_CSR = "tls.csr"
TLS_CERT = "tls.crt"
ENROLMENT = "enrolment.json"
PREVIOUS_SUFFIX = ".previous"

PrivateKey = Ed25519PrivateKey | X25519PrivateKey | ec.EllipticCurvePrivateKey


def _error(what: str, fix: str) -> EdgehrError:
    return EdgehrError(what, fix, code="provision")


def key_id(public_raw: bytes) -> str:
    """Hex of the sync protocol's key id: the first 8 bytes of SHA-256 of the raw public key."""
    return hashlib.sha256(public_raw).digest()[:8].hex()


@dataclass
class DeviceKeys:
    """The device's private keys, loaded from its keys folder."""

    identity: Ed25519PrivateKey
    box: X25519PrivateKey
    tls: ec.EllipticCurvePrivateKey


@dataclass
class Changes:
    """Which files a provisioning run made, left alone, or retired (renamed ``*.previous``)."""

    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    retired: list[Path] = field(default_factory=list)


@dataclass
class ProvisionResult(Changes):
    keys_dir: Path = Path()
    keys: DeviceKeys | None = None

    @property
    def enrolment(self) -> Path:
        return self.keys_dir / ENROLMENT

    @property
    def csr(self) -> Path:
        return self.keys_dir / TLS_CSR

    @property
    def cert(self) -> Path:
        return self.keys_dir / TLS_CERT


def keys_dir(state_dir: Path) -> Path:
    return state_dir / KEYS_DIR


def _pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load(path: Path, kind: type[PrivateKey]) -> PrivateKey:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise _error(
            f"{path} is readable by other users (mode {mode:o}); a private key must be mode 600.",
            f"Run `chmod 600 {path}`, and rotate the keys (--rotate) if someone else may have read it.",
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise _error(
            f"{path} is not a readable private key: {exc}.", "Restore it from backup, or make new keys with --rotate."
        ) from None
    if not isinstance(key, kind):
        raise _error(
            f"{path} holds a {type(key).__name__}, not the {kind.__name__} expected there.",
            "Restore the right file, or make new keys with --rotate.",
        )
    return key


def load_keys(state_dir: Path) -> DeviceKeys:
    """The device's current private keys; raises naming the missing file if it was not provisioned."""
    folder = keys_dir(state_dir)
    try:
        identity = _load(folder / IDENTITY_KEY, Ed25519PrivateKey)
        box = _load(folder / BOX_KEY, X25519PrivateKey)
        tls = _load(folder / TLS_KEY, ec.EllipticCurvePrivateKey)
    except FileNotFoundError as exc:
        raise _error(
            f"This device has no key {exc.filename}.", "Run `edgehr device provision --config FILE` first."
        ) from None
    assert isinstance(identity, Ed25519PrivateKey) and isinstance(box, X25519PrivateKey)
    assert isinstance(tls, ec.EllipticCurvePrivateKey)
    return DeviceKeys(identity, box, tls)


def _retire(path: Path, result: Changes) -> None:
    if path.exists():
        previous = path.with_name(path.name + PREVIOUS_SUFFIX)
        os.replace(path, previous)
        result.retired.append(previous)


def _key(path: Path, kind: type[PrivateKey], result: Changes) -> PrivateKey:
    if path.exists():
        result.kept.append(path)
        return _load(path, kind)
    key: PrivateKey
    if kind is Ed25519PrivateKey:
        key = Ed25519PrivateKey.generate()
    elif kind is X25519PrivateKey:
        key = X25519PrivateKey.generate()
    else:
        key = new_private_key()
    write_private(path, _pem(key))
    result.created.append(path)
    return key


def _raw_public(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def provision(device_id: str, state_dir: Path, rotate: bool = False) -> ProvisionResult:
    """Make whatever keys the device lacks (all of them again with ``rotate``) and its enrolment file."""
    if device_id == INGEST_IDENTITY:
        raise _error(
            f"Device id {device_id!r} is the server's ingest identity; the CA would refuse its request.",
            "Give this device another id in [device] id.",
        )
    folder = keys_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    result = ProvisionResult(keys_dir=folder)
    csr_path = folder / TLS_CSR
    if csr_path.exists() and not rotate:
        _, requested = read_csr(csr_path.read_bytes(), str(csr_path))
        if requested != device_id:
            raise _error(
                f"The keys in {folder} were made for device {requested!r}, but the config names {device_id!r}.",
                "Use the config of that device, or make keys for the new id with --rotate.",
            )
    if rotate:
        for name in (IDENTITY_KEY, BOX_KEY, TLS_KEY, TLS_CSR, TLS_CERT):
            _retire(folder / name, result)
    identity = _key(folder / IDENTITY_KEY, Ed25519PrivateKey, result)
    box = _key(folder / BOX_KEY, X25519PrivateKey, result)
    tls = _key(folder / TLS_KEY, ec.EllipticCurvePrivateKey, result)
    assert isinstance(identity, Ed25519PrivateKey) and isinstance(box, X25519PrivateKey)
    assert isinstance(tls, ec.EllipticCurvePrivateKey)
    result.keys = DeviceKeys(identity, box, tls)
    if csr_path.exists():
        result.kept.append(csr_path)
    else:
        write_public(csr_path, make_csr(tls, device_id))
        result.created.append(csr_path)
    text = enrolment_text(device_id, _raw_public(identity), _raw_public(box), csr_path.read_text(encoding="ascii"))
    enrolment_path = folder / ENROLMENT
    if not enrolment_path.exists() or enrolment_path.read_text(encoding="utf-8") != text:
        write_public(enrolment_path, text.encode())
        result.created.append(enrolment_path)
    return result


def enrolment_text(device_id: str, sign_raw: bytes, box_raw: bytes, csr: str) -> str:
    """The content of ``enrolment.json``: the device id, its current public keys and the CSR."""
    enrolment = {
        "device_id": device_id,
        "sign_public": base64.b64encode(sign_raw).decode(),
        "box_public": base64.b64encode(box_raw).decode(),
        "sign_key_id": key_id(sign_raw),
        "box_key_id": key_id(box_raw),
        "csr": csr,
    }
    return json.dumps(enrolment, indent=2) + "\n"


def refreshed_enrolment(state_dir: Path, sign_raw: bytes, box_raw: bytes) -> str | None:
    """What ``enrolment.json`` must hold once the device's sync keys are ``sign_raw``/``box_raw`` (a key
    rotation switched them; the TLS key and its CSR stay), or None when the file already holds it or the
    device has no CSR to name it by (never provisioned with this tool: nothing to refresh)."""
    folder = keys_dir(state_dir)
    try:
        csr = (folder / TLS_CSR).read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    _, device_id = read_csr(csr.encode("ascii"), str(folder / TLS_CSR))
    text = enrolment_text(device_id, sign_raw, box_raw, csr)
    try:
        if (folder / ENROLMENT).read_text(encoding="utf-8") == text:
            return None
    except FileNotFoundError:
        pass
    return text


def describe(result: ProvisionResult, device_id: str, cert_file: Path | None, key_file: Path | None) -> str:
    """What was done and what the operator does next, for the terminal."""
    lines = [f"Device {device_id}: keys in {result.keys_dir}"]
    lines += [f"  made      {p.name}" for p in result.created]
    lines += [f"  kept      {p.name}" for p in result.kept]
    lines += [f"  retired   {p.name} (the replaced key, kept for messages in flight)" for p in result.retired]
    if not result.created and not result.retired:
        lines.append("Nothing changed: this device was provisioned already (use --rotate for new keys).")
    lines += [
        "",
        "Next steps:",
        f"  1. Send {result.enrolment} to the HR server operator (public keys and certificate request only;",
        "     no private key leaves this device).",
        f"  2. Install the signed certificate as {result.cert} and the site CA certificate, e.g. /etc/edgehr/ca.crt.",
        f'  3. In the config\'s [sync] section set cert_file = "{result.cert}",',
        f'     key_file = "{result.keys_dir / TLS_KEY}" and ca_file to the CA certificate.',
    ]
    if key_file is not None and key_file != result.keys_dir / TLS_KEY:
        lines.append(f"Note: the config's sync.key_file is {key_file}, not the key made here.")
    if cert_file is not None and cert_file != result.cert:
        lines.append(f"Note: the config's sync.cert_file is {cert_file}, not {result.cert}.")
    return "\n".join(lines)
