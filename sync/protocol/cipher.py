"""Seal and open envelopes: X25519 ECDH -> HKDF-SHA256 -> ChaCha20-Poly1305 -> Ed25519.

Why these choices (details in PROTOCOL.md, "Cryptography"):

* Ephemeral-static ECDH: every message gets a fresh X25519 key pair, so the AEAD key
  (and its derived nonce) is unique per message even if a restored SD card replays
  the sender's counters, and a stolen *device* key does not decrypt past uplink.
* ChaCha20-Poly1305: the Raspberry Pi 4's Cortex-A72 has no AES instructions, where
  ChaCha20 is faster than AES-GCM and constant-time in software.
* Encrypt-then-sign over the exact header bytes and ciphertext: anyone can encrypt
  to the server, so the signature is what authenticates the sender; the header
  (with the sender's key id) is AEAD associated data, so a stripped and re-signed
  envelope fails decryption.
"""

from __future__ import annotations

from dataclasses import replace

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .envelope import PUBLIC_KEY_LEN, Envelope, Header
from .errors import BadSignature, DecryptFailed

# Domain separation: these keys sign and derive nothing else with these prefixes.
SIGNATURE_CONTEXT = b"edgehr/v1 envelope signature\x00"
KDF_INFO = b"edgehr/v1 chacha20-poly1305 key and nonce\x00"
AEAD_KEY_LEN = 32
AEAD_NONCE_LEN = 12


def derive_aead_key(
    shared_secret: bytes,
    ephemeral_public: bytes,
    recipient_public: bytes,
    header_bytes: bytes,
) -> tuple[bytes, bytes]:
    """HKDF-SHA256 -> (32-byte key, 12-byte nonce), bound to public keys and header.

    salt = ephemeral public || recipient public (as in ECIES/HPKE: the key depends on
    the full public keys, not only on their 8-byte ids); info = context || header,
    which binds version, direction, type, device id, sequence, time and key ids.
    """
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=AEAD_KEY_LEN + AEAD_NONCE_LEN,
        salt=ephemeral_public + recipient_public,
        info=KDF_INFO + header_bytes,
    ).derive(shared_secret)
    return okm[:AEAD_KEY_LEN], okm[AEAD_KEY_LEN:]


def seal_envelope(
    header: Header,
    plaintext: bytes,
    signing_key: Ed25519PrivateKey,
    recipient: X25519PublicKey,
    *,
    ephemeral: X25519PrivateKey | None = None,
) -> bytes:
    """Encrypt ``plaintext`` to ``recipient`` and sign; return the envelope bytes.

    ``ephemeral`` is this message's fresh X25519 key (None: generate one here);
    ``header.ephemeral_public`` is set to its public half. Never pass the same key
    twice: that would reuse the AEAD key and nonce. Fixed keys are for test vectors.
    """
    eph = ephemeral if ephemeral is not None else X25519PrivateKey.generate()
    eph_public = eph.public_key().public_bytes_raw()
    if header.ephemeral_public != eph_public:
        header = replace(header, ephemeral_public=eph_public)
    header_bytes = header.encode()
    key, nonce = derive_aead_key(eph.exchange(recipient), eph_public, recipient.public_bytes_raw(), header_bytes)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, plaintext, header_bytes)
    signature = signing_key.sign(SIGNATURE_CONTEXT + header_bytes + ciphertext)
    return header_bytes + ciphertext + signature


def verify_envelope(envelope: Envelope, verify_key: Ed25519PublicKey) -> None:
    """Raise BadSignature unless the sender's signature covers header and ciphertext."""
    try:
        verify_key.verify(envelope.signature, SIGNATURE_CONTEXT + envelope.signed_bytes())
    except InvalidSignature:
        raise BadSignature(
            f"The signature of {envelope.header.direction}link message "
            f"seq {envelope.header.seq} of device {envelope.header.device_id!r} "
            "does not verify: it was altered in transit or signed with another key.",
            "It was dropped; if this repeats, check the sender's keys.",
        ) from None


def decrypt_envelope(envelope: Envelope, box_key: X25519PrivateKey, box_public: bytes | None = None) -> bytes:
    """Decrypt a *verified* envelope with our X25519 key; raise DecryptFailed.

    ``box_public`` is the raw public half of ``box_key`` if the caller has it cached.
    """
    h = envelope.header
    try:
        shared = box_key.exchange(X25519PublicKey.from_public_bytes(h.ephemeral_public))
    except ValueError:
        # An all-zero shared secret (low-order ephemeral point) is refused by OpenSSL.
        shared = b""
    if len(shared) == PUBLIC_KEY_LEN:
        key, nonce = derive_aead_key(
            shared,
            h.ephemeral_public,
            box_public or box_key.public_key().public_bytes_raw(),
            envelope.header_bytes,
        )
        try:
            return ChaCha20Poly1305(key).decrypt(nonce, envelope.ciphertext, envelope.header_bytes)
        except InvalidTag:
            pass
    raise DecryptFailed(
        f"Message seq {h.seq} of device {h.device_id!r} is correctly signed "
        "but does not decrypt: the sender encrypted it to another key.",
        "Check the sender's keyring and software version.",
    )
