"""The binary envelope: a fixed header, the AEAD ciphertext and an Ed25519 signature.

Byte layout of protocol v1 (integers big-endian; see PROTOCOL.md, "Envelope")::

    off     len  field
    0       1    version              0x01
    1       1    flags                bit0 direction (0 up, 1 down), bit1 clock synced,
                                      bits2-3 compression, bits4-7 zero
    2       1    message type code
    3       1    n = device id length (1..64)
    4       n    device id (ASCII, [a-z0-9-])
    4+n     8    sequence (u64, >= 1)
    12+n    8    created at, unix ms (u64)
    20+n    8    sender key id        (signing key of the sender)
    28+n    8    recipient key id     (X25519 key of the recipient)
    36+n    32   ephemeral X25519 public key
    68+n    c    ciphertext (ChaCha20-Poly1305, includes the 16-byte tag)
    end-64  64   Ed25519 signature

There is no length field for the ciphertext: the envelope is exactly one MQTT
payload, and the signature has a fixed size, so the payload length delimits it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import BadVersion, Malformed, ProtocolUsageError, UnknownType
from .messages import Compression, Direction, MessageType
from .topics import is_valid_device_id

VERSION = 1
KEY_ID_LEN = 8
PUBLIC_KEY_LEN = 32
TAG_LEN = 16
SIGNATURE_LEN = 64
MAX_DEVICE_ID_LEN = 64
U64_MAX = 2**64 - 1
# Brokers are configured with a matching message_size_limit; gallery pages stay below.
MAX_ENVELOPE_LEN = 1024 * 1024

_FIXED = struct.Struct(">QQ8s8s32s")  # seq, created_ms, sender kid, recipient kid, ephemeral
_FLAG_DOWN = 0x01
_FLAG_SYNCED = 0x02
_COMPRESSION_SHIFT = 2
_COMPRESSION_MASK = 0x0C
_RESERVED_MASK = 0xF0
_NOT_V1 = "It is not a valid v1 envelope; check the sender's software."
MIN_ENVELOPE_LEN = 4 + 1 + _FIXED.size + TAG_LEN + SIGNATURE_LEN


@dataclass(frozen=True, slots=True)
class Header:
    """Every field the sender authenticates: AEAD associated data and signed bytes."""

    direction: Direction
    message_type: MessageType
    device_id: str
    seq: int
    created_ms: int
    clock_synced: bool
    compression: Compression
    sender_key_id: bytes
    recipient_key_id: bytes
    ephemeral_public: bytes
    version: int = VERSION

    def encode(self) -> bytes:
        """The exact header bytes; ProtocolUsageError for values it cannot carry."""
        self._check()
        flags = (
            self.direction.bit
            | (_FLAG_SYNCED if self.clock_synced else 0)
            | (int(self.compression) << _COMPRESSION_SHIFT)
        )
        device = self.device_id.encode("ascii")
        return (
            bytes((self.version, flags, self.message_type.code, len(device)))
            + device
            + _FIXED.pack(
                self.seq,
                self.created_ms,
                self.sender_key_id,
                self.recipient_key_id,
                self.ephemeral_public,
            )
        )

    def _check(self) -> None:
        problems = []
        if self.version != VERSION:
            problems.append(f"version {self.version} (this build writes {VERSION})")
        if self.message_type.direction is not self.direction:
            problems.append(f"type {self.message_type.value} cannot travel {self.direction}")
        if not is_valid_device_id(self.device_id):
            problems.append(f"device id {self.device_id!r} (use [a-z0-9-]{{1,64}})")
        if not 1 <= self.seq <= U64_MAX:
            problems.append(f"sequence {self.seq} (must be 1..2^64-1)")
        if not 0 <= self.created_ms <= U64_MAX:
            problems.append(f"created_ms {self.created_ms} (must be 0..2^64-1)")
        for name, value, size in (
            ("sender key id", self.sender_key_id, KEY_ID_LEN),
            ("recipient key id", self.recipient_key_id, KEY_ID_LEN),
            ("ephemeral public key", self.ephemeral_public, PUBLIC_KEY_LEN),
        ):
            if len(value) != size:
                problems.append(f"{name} of {len(value)} bytes (must be {size})")
        if problems:
            raise ProtocolUsageError(
                "Cannot encode the envelope header: " + "; ".join(problems) + ".",
                "Fix the caller.",
            )


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded envelope; ``header_bytes`` are kept verbatim for AEAD and signature."""

    header: Header
    header_bytes: bytes
    ciphertext: bytes
    signature: bytes

    def signed_bytes(self) -> bytes:
        """The bytes the signature covers, without the domain-separation prefix."""
        return self.header_bytes + self.ciphertext

    def encode(self) -> bytes:
        """The envelope as published."""
        return self.header_bytes + self.ciphertext + self.signature


def decode_envelope(data: bytes) -> Envelope:
    """Parse an envelope; raise Malformed, BadVersion or UnknownType.

    Only structure is checked here; nothing is trusted until the signature verifies.
    """
    if len(data) < 1:
        raise Malformed("The envelope is empty.", "Check the publisher.")
    if data[0] != VERSION:
        raise BadVersion(
            f"Envelope version {data[0]} is not supported (this build speaks {VERSION}).",
            "Upgrade the receiver, or check the sender's software version.",
        )
    if not MIN_ENVELOPE_LEN <= len(data) <= MAX_ENVELOPE_LEN:
        raise Malformed(
            f"An envelope of {len(data)} bytes is outside {MIN_ENVELOPE_LEN}..{MAX_ENVELOPE_LEN}.",
            "It was truncated or is not an edgehr envelope; check the publisher.",
        )
    flags, type_code, device_len = data[1], data[2], data[3]
    if flags & _RESERVED_MASK:
        raise Malformed(f"Envelope flags 0x{flags:02x} set reserved bits.", _NOT_V1)
    try:
        compression = Compression((flags & _COMPRESSION_MASK) >> _COMPRESSION_SHIFT)
    except ValueError:
        raise Malformed(f"Envelope flags 0x{flags:02x} name an unknown compression.", _NOT_V1) from None
    direction = Direction.DOWN if flags & _FLAG_DOWN else Direction.UP
    message_type = MessageType.from_code(type_code)
    if message_type is None:
        raise UnknownType(
            f"Message type code 0x{type_code:02x} is not defined in protocol v{VERSION}.",
            "The sender is newer: upgrade the server before the devices.",
        )
    if message_type.direction is not direction:
        raise Malformed(f"Message type {message_type.value} cannot travel {direction}.", _NOT_V1)
    if not 1 <= device_len <= MAX_DEVICE_ID_LEN:
        raise Malformed(f"Device id length {device_len} is outside 1..{MAX_DEVICE_ID_LEN}.", _NOT_V1)
    header_len = 4 + device_len + _FIXED.size
    if len(data) < header_len + TAG_LEN + SIGNATURE_LEN:
        raise Malformed(f"An envelope of {len(data)} bytes is too short for its header.", _NOT_V1)
    raw_device = data[4 : 4 + device_len]
    device_id = raw_device.decode("ascii", errors="replace")
    if not raw_device.isascii() or not is_valid_device_id(device_id):
        raise Malformed(f"Device id {raw_device!r} in the envelope is invalid.", _NOT_V1)
    seq, created_ms, sender_kid, recipient_kid, ephemeral = _FIXED.unpack_from(data, 4 + device_len)
    if seq == 0:
        raise Malformed("Envelope sequence 0 is reserved (they start at 1).", _NOT_V1)
    header = Header(
        direction=direction,
        message_type=message_type,
        device_id=device_id,
        seq=seq,
        created_ms=created_ms,
        clock_synced=bool(flags & _FLAG_SYNCED),
        compression=compression,
        sender_key_id=sender_kid,
        recipient_key_id=recipient_kid,
        ephemeral_public=ephemeral,
    )
    return Envelope(
        header=header,
        header_bytes=bytes(data[:header_len]),
        ciphertext=bytes(data[header_len:-SIGNATURE_LEN]),
        signature=bytes(data[-SIGNATURE_LEN:]),
    )


def header_length(device_id: str) -> int:
    """Header size for ``device_id``: the per-message overhead is this + 16 + 64."""
    return 4 + len(device_id) + _FIXED.size
