"""Envelope byte layout: round trips, exact offsets, structural rejections."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.protocol import (
    BadVersion,
    Compression,
    Direction,
    Header,
    Malformed,
    MessageType,
    ProtocolUsageError,
    UnknownType,
    decode_envelope,
    header_length,
)
from sync.protocol.envelope import MAX_ENVELOPE_LEN, MIN_ENVELOPE_LEN, Envelope

device_ids = st.from_regex(r"[a-z0-9-]{1,64}", fullmatch=True)


@st.composite
def headers(draw: st.DrawFn) -> Header:
    message_type = draw(st.sampled_from(list(MessageType)))
    return Header(
        direction=message_type.direction,
        message_type=message_type,
        device_id=draw(device_ids),
        seq=draw(st.integers(1, 2**64 - 1)),
        created_ms=draw(st.integers(0, 2**64 - 1)),
        clock_synced=draw(st.booleans()),
        compression=draw(st.sampled_from(list(Compression))),
        sender_key_id=draw(st.binary(min_size=8, max_size=8)),
        recipient_key_id=draw(st.binary(min_size=8, max_size=8)),
        ephemeral_public=draw(st.binary(min_size=32, max_size=32)),
    )


@given(
    headers(),
    st.binary(min_size=16, max_size=2000),
    st.binary(min_size=64, max_size=64),
)
def test_envelope_round_trips(header: Header, ciphertext: bytes, signature: bytes) -> None:
    raw = header.encode() + ciphertext + signature
    env = decode_envelope(raw)
    assert env.header == header
    assert env.ciphertext == ciphertext
    assert env.signature == signature
    assert env.encode() == raw
    assert len(env.header_bytes) == header_length(header.device_id)


def _header(**changes: object) -> Header:
    fields: dict[str, object] = {
        "direction": Direction.UP,
        "message_type": MessageType.RECORDS,
        "device_id": "gate-01",
        "seq": 0x0102030405060708,
        "created_ms": 0x1122334455667788,
        "clock_synced": True,
        "compression": Compression.ZLIB_DICT_V1,
        "sender_key_id": b"S" * 8,
        "recipient_key_id": b"R" * 8,
        "ephemeral_public": b"E" * 32,
    }
    fields.update(changes)
    return Header(**fields)  # type: ignore[arg-type]


def test_exact_byte_layout() -> None:
    raw = _header().encode()
    assert raw[0] == 1  # version
    assert raw[1] == 0b0000_0110  # up, clock synced, compression 1
    assert raw[2] == 0x01  # records
    assert raw[3] == 7 and raw[4:11] == b"gate-01"
    assert struct.unpack(">QQ", raw[11:27]) == (0x0102030405060708, 0x1122334455667788)
    assert raw[27:35] == b"S" * 8 and raw[35:43] == b"R" * 8 and raw[43:75] == b"E" * 32
    assert len(raw) == 68 + 7 == header_length("gate-01")
    down = _header(
        direction=Direction.DOWN,
        message_type=MessageType.ERASE,
        clock_synced=False,
        compression=Compression.NONE,
    ).encode()
    assert down[1] == 0b0000_0001 and down[2] == 0x83


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"seq": 0}, "sequence"),
        ({"seq": 2**64}, "sequence"),
        ({"created_ms": -1}, "created_ms"),
        ({"device_id": "Gate"}, "device id"),
        ({"sender_key_id": b"x" * 7}, "sender key id"),
        ({"ephemeral_public": b""}, "ephemeral"),
        ({"direction": Direction.DOWN}, "cannot travel"),
        ({"version": 2}, "version"),
    ],
)
def test_encode_refuses_what_the_wire_cannot_carry(changes: dict[str, object], match: str) -> None:
    with pytest.raises(ProtocolUsageError, match=match):
        _header(**changes).encode()


def _valid() -> bytes:
    return _header().encode() + b"c" * 16 + b"s" * 64


def _patched(offset: int, value: int) -> bytes:
    raw = bytearray(_valid())
    raw[offset] = value
    return bytes(raw)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", Malformed),
        (b"\x00" + _valid()[1:], BadVersion),
        (b"\x02", BadVersion),
        (_valid()[: MIN_ENVELOPE_LEN - 1], Malformed),
        (_valid() + b"\x00" * MAX_ENVELOPE_LEN, Malformed),
        (_patched(1, 0x16), Malformed),  # reserved flag bit
        (_patched(1, 0x0E), Malformed),  # compression code 3
        (_patched(1, 0x07), Malformed),  # records marked as downlink
        (_patched(2, 0x00), UnknownType),
        (_patched(2, 0x7F), UnknownType),
        (_patched(3, 0), Malformed),
        (_patched(3, 65), Malformed),
        (_patched(3, 200), Malformed),
        (_patched(4, ord("G")), Malformed),  # device id charset
        (_patched(4, 0xFF), Malformed),
        (
            _header().encode()[:11] + bytes(8) + _header().encode()[19:] + bytes(80),
            Malformed,
        ),
    ],
)
def test_structural_rejections(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_envelope(raw)


def test_short_ciphertext_is_malformed() -> None:
    # Header for a 64-character device id and a signature, but 15 ciphertext bytes.
    raw = _header(device_id="d" * 64).encode() + b"c" * 15 + b"s" * 64
    with pytest.raises(Malformed, match="too short"):
        decode_envelope(raw)


def test_signed_bytes_are_header_and_ciphertext() -> None:
    env: Envelope = decode_envelope(_valid())
    assert env.signed_bytes() == _valid()[:-64]
