"""Release signing: an Ed25519 key of the operator signs each release's ``manifest.json``.

The manifest already carries the SHA-256 of every file of a release (``firmware_scripts/make-release``), so
one signature over it proves the whole release came from whoever holds the key. Devices hold only the
public half (``/etc/edgehr/release-signing.pub``, put there by ``provision.sh --signing-key``); both the
courier (before it hands a release on) and ``edgehr-update`` (as root, before it installs one) check it.

The key is made by the operator (``python -m fleet.release_signing keygen --out DIR``), kept off the
devices and out of the repository, like the site CA's key.

Signed bytes: ``CONTEXT || manifest.json`` as stored (no re-serialisation), so a verifier needs no JSON
canonicalisation; the signature travels beside it as ``manifest.json.sig`` (base64 of 64 bytes, newline).
``firmware_scripts/edgehr-update`` repeats the context string in its own check: keep them equal.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import os
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import InputError

CONTEXT = b"edgehr release manifest v1\x00"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
PRIVATE_NAME = "release-signing.key"
PUBLIC_NAME = "release-signing.pub"


def keygen(folder: Path) -> tuple[Path, Path]:
    """A new signing key in ``folder``: the private key (PEM, mode 0600) and its public half (PEM)."""
    private_path, public_path = folder / PRIVATE_NAME, folder / PUBLIC_NAME
    if private_path.exists() or public_path.exists():
        raise InputError(f"{folder} holds a release signing key already.",
                         "Keep using it (devices trust it), or give another folder for a new one.")
    folder.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def sign(private_key: Path, release: Path) -> Path:
    """Sign ``release/manifest.json``; writes and returns ``release/manifest.json.sig``."""
    key = serialization.load_pem_private_key(private_key.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{private_key} is not an Ed25519 private key.", "Make one with `keygen`.")
    signature = key.sign(CONTEXT + (release / MANIFEST).read_bytes())
    out = release / SIGNATURE
    out.write_text(base64.b64encode(signature).decode("ascii") + "\n")
    return out


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot read the release signing public key {path}: {exc}.",
                         "Install it with provision.sh --signing-key (the .pub made by `keygen`).") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path} is not an Ed25519 public key.", "Use the .pub file made by `keygen`.")
    return key


def verify(public_key: Path, manifest: bytes, signature_text: str) -> None:
    """Raise InputError unless ``signature_text`` is a valid signature of ``manifest`` by the key."""
    key = load_public_key(public_key)
    try:
        signature = base64.b64decode(signature_text.strip(), validate=True)
        key.verify(signature, CONTEXT + manifest)
    except (binascii.Error, InvalidSignature, ValueError):
        raise InputError("The release's manifest.json is not signed by this device's release key.",
                         "Install only releases built with `make-release --signing-key` by your site's key.") from None


def verify_release(public_key: Path, release: Path) -> None:
    """``verify`` for a release folder (its ``manifest.json`` and ``manifest.json.sig``)."""
    try:
        signature = (release / SIGNATURE).read_text()
    except OSError:
        raise InputError(f"{release} has no {SIGNATURE}: the release is unsigned.",
                         "Build it with `make-release --signing-key KEY`.") from None
    verify(public_key, (release / MANIFEST).read_bytes(), signature)


def manifest_digest(release: Path) -> str:
    """SHA-256 (hex) of the release's ``manifest.json``: what a rollout names the release by."""
    return hashlib.sha256((release / MANIFEST).read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """``python -m fleet.release_signing keygen|sign|verify|digest``."""
    parser = argparse.ArgumentParser(prog="python -m fleet.release_signing", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("keygen", help="make a new signing key (private 0600 + public) in a folder")
    make.add_argument("--out", type=Path, required=True)
    signer = sub.add_parser("sign", help="sign RELEASE/manifest.json with the private key")
    signer.add_argument("--key", type=Path, required=True)
    signer.add_argument("release", type=Path)
    checker = sub.add_parser("verify", help="check RELEASE/manifest.json.sig against a public key")
    checker.add_argument("--public-key", type=Path, required=True)
    checker.add_argument("release", type=Path)
    digest = sub.add_parser("digest", help="print the SHA-256 of RELEASE/manifest.json (for a rollout)")
    digest.add_argument("release", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "keygen":
            private_path, public_path = keygen(args.out)
            print(f"private key {private_path} (keep it off devices and out of the repository)")
            print(f"public key  {public_path} (install on devices: provision.sh --signing-key)")
        elif args.command == "sign":
            print(sign(args.key, args.release))
        elif args.command == "verify":
            verify_release(args.public_key, args.release)
            print(f"{args.release}: signature good")
        else:
            print(manifest_digest(args.release))
    except InputError as exc:
        print(f"release-signing: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
