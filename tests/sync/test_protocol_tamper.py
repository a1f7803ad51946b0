"""Tampering: every bit flip, truncation or extension is rejected with the right reason.

The expected reason is computed from the byte layout in PROTOCOL.md, independently
of the decoder, so a decoder that checks fields in the wrong order fails here.
"""

from __future__ import annotations

import re

import pytest

from sync.protocol import (
    DeviceChannel,
    MessageType,
    ProtocolError,
    ServerChannel,
    StaticDirectory,
)
from sync.protocol.vectors import DEVICE_ID, _cases, build_vector, keyrings

N = len(DEVICE_ID)
_ID = re.compile(rb"[a-z0-9-]{1,64}")


def _channels() -> tuple[DeviceChannel, ServerChannel]:
    device_keys, server_peer, server_keys, device_peer = keyrings()
    return (
        DeviceChannel(DEVICE_ID, device_keys, server_peer),
        ServerChannel(server_keys, StaticDirectory([device_peer])),
    )


def _envelope(index: int) -> tuple[str, bytes]:
    vector = build_vector(*_cases()[index])
    return vector["topic"], bytes.fromhex(vector["envelope_hex"])


def expected_reason(original: bytes, tampered: bytes, index: int) -> str:
    """What PROTOCOL.md says a receiver must answer for ``tampered``."""
    up = original[1] & 1 == 0
    if index == 0:
        return "bad-version"
    if index == 1:
        flags = tampered[1]
        if flags & 0xF0 or (flags >> 2) & 3 > 1 or (flags ^ original[1]) & 1:
            return "malformed"
        return "bad-signature"
    if index == 2:
        message_type = MessageType.from_code(tampered[2])
        if message_type is None:
            return "unknown-type"
        if (message_type.code < 0x80) != up:
            return "malformed"
        return "wrong-topic"
    if index == 3:
        n = tampered[3]
        if not 1 <= n <= 64 or len(tampered) < 4 + n + 64 + 16 + 64:
            return "malformed"
        if not _ID.fullmatch(tampered[4 : 4 + n]):
            return "malformed"
        if int.from_bytes(tampered[4 + n : 12 + n], "big") == 0:
            return "malformed"
        return "wrong-topic"
    if index < 4 + N:
        return "wrong-topic" if _ID.fullmatch(tampered[4 : 4 + N]) else "malformed"
    if index < 12 + N:
        return "malformed" if int.from_bytes(tampered[4 + N : 12 + N], "big") == 0 else ("bad-signature")
    if 20 + N <= index < 36 + N:
        return "unknown-key"  # sender or recipient key id
    return "bad-signature"  # created time, ephemeral key, ciphertext, signature


def _reason(channel: DeviceChannel | ServerChannel, topic: str, payload: bytes) -> str:
    try:
        channel.open(topic, payload)
    except ProtocolError as exc:
        return exc.reason.value
    return "accepted"


@pytest.mark.parametrize("vector", [0, 1, 2, 3], ids=["up-plain", "up-zlib", "ack", "erase"])
def test_every_bit_flip_is_rejected_with_the_right_reason(vector: int) -> None:
    device, server = _channels()
    topic, original = _envelope(vector)
    receiver = server if "/up/" in topic else device
    assert _reason(receiver, topic, original) == "accepted"
    seen: set[str] = set()
    wrong = []
    for index in range(len(original)):
        for bit in range(8):
            tampered = bytearray(original)
            tampered[index] ^= 1 << bit
            got = _reason(receiver, topic, bytes(tampered))
            want = expected_reason(original, bytes(tampered), index)
            seen.add(got)
            if got != want:
                wrong.append((index, bit, got, want))
    assert wrong == []
    assert {
        "bad-version",
        "malformed",
        "unknown-type",
        "wrong-topic",
        "unknown-key",
        "bad-signature",
    } <= seen


def test_truncation_and_extension_are_rejected() -> None:
    _, server = _channels()
    topic, original = _envelope(0)
    for size in range(len(original)):
        got = _reason(server, topic, original[:size])
        assert got in {"malformed", "bad-signature"}, (size, got)
        # Cutting into the ciphertext/signature region keeps a parseable layout.
        want = "malformed" if size < 4 + N + 64 + 16 + 64 else "bad-signature"
        assert got == want, (size, got)
    assert _reason(server, topic, original + b"\x00") == "bad-signature"
    assert _reason(server, topic, b"\x00" + original) == "bad-version"
