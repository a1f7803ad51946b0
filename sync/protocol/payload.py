"""Plaintext packing: canonical JSON, optionally zlib with a preset dictionary.

JSON keeps payloads readable in logs and easy to implement elsewhere; the preset
dictionary recovers most of its verbosity for the common single-punch message
(about 200 bytes of JSON compress to under 60). Compression happens before
encryption; see PROTOCOL.md, "Compression", for why that is safe here.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

from .errors import BadPayload
from .messages import Compression

# Largest plaintext a receiver inflates: bounds memory against compression bombs.
MAX_PLAINTEXT_LEN = 4 * 1024 * 1024

# Preset dictionary of protocol v1 (ASCII). zlib finds matches for the payload's
# strings in here, so even a one-record message compresses. Most frequent strings
# go last (closest to the data). Changing one byte makes a new compression code.
DICTIONARY_V1 = (
    b'{"candidates":[{"candidate_id":"","name":"","question_bank_id":"","role_id":"",'
    b'"valid_until_ms":'
    b'{"command_seq":1,"gallery_version":,"page":1,"pages":1,"removals":[],'
    b'"upserts":[{"employee_no":"","model":"","name":"","templates":["'
    b'{"command_seq":1,"config_version":,"settings":{'
    b'{"command_seq":1,"employee_nos":[""],"erasure_id":"","reason":"'
    b'{"body":{"answers":[{"duration_ms":,"question_id":"","transcript":"","typed":false}],'
    b'"candidate_id":"","clock_synced":true,"completed_ms":,"consent_id":"","delivery":{},'
    b'"integrity_flags":[],"role_id":"","scores":[{"competency":"","evidence":[""],'
    b'"scale_max":5,"score":},"session_id":"'
    b'"type":"interview-result"},'
    b'{"body":{"admin":"","consent_ref":"","employee_no":"","event":"enrolled","model":"",'
    b'"name":"","templates":["'
    b'"type":"enrolment"},'
    b'{"body":{"action":"add","admin":"","at_ms":17,"clock_synced":false,"corrects_seq":1,'
    b'"direction":"in","employee_no":"","punch_uid":"","reason":"'
    b'"type":"punch-correction"},'
    b'{"commands":[[1,'
    b'{"messages":[1],"records":[[1,'
    b'{"records":[{"body":{"clock_synced":true,"device_id":"","device_time":"2026-01-01T'
    b'08:00:00.000+08:00","device_time_ms":17,"direction":"out","employee_no":"E0",'
    b'"liveness_score":0.9,"match_score":0.8,"models":{"detector":"","embedder":"",'
    b'"liveness":""},"monotonic_ns":1,"source":"face","uid":"","work_day":"2026-01-0'
    b'"},"clock_synced":true,"created_at_ms":17,"ref":"","seq":1,"type":"punch"},'
    b'{"body":{"clock_synced":true,"device_id":"'
)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_FDICT = 0x20  # zlib FLG bit: a preset dictionary id follows the 2-byte header
_DICTID = zlib.adler32(DICTIONARY_V1).to_bytes(4, "big")
_SENDER_BUG = "The sender has a bug: report it with its software version."
_LEVEL = 9
_WBITS = 15


def canonical_json(value: Any) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no spaces, no NaN (for test vectors)."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def compress(plaintext: bytes) -> bytes:
    """zlib stream with DICTIONARY_V1 at level 9.

    The output may differ between zlib builds; only decompression is normative.
    """
    packer = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, zdict=DICTIONARY_V1)
    return packer.compress(plaintext) + packer.flush()


def pack(plaintext: bytes, *, allow_compression: bool = True) -> tuple[Compression, bytes]:
    """Compress if that makes the payload smaller; return (code, bytes to seal)."""
    if len(plaintext) > MAX_PLAINTEXT_LEN:
        raise BadPayload(
            f"A payload of {len(plaintext)} bytes exceeds {MAX_PLAINTEXT_LEN}.",
            "Split it: fewer records per batch, more gallery pages.",
        )
    if allow_compression:
        packed = compress(plaintext)
        if len(packed) < len(plaintext):
            return Compression.ZLIB_DICT_V1, packed
    return Compression.NONE, plaintext


def unpack(compression: Compression, data: bytes) -> bytes:
    """Inverse of ``pack``; raise BadPayload for corrupt or oversized data."""
    if compression is Compression.NONE:
        return data
    if len(data) < 6 or not data[1] & _FDICT or data[2:6] != _DICTID:
        # Spec: the stream must declare DICTIONARY_V1; a plain zlib stream would
        # decode too, but accepting it would make "compression 1" mean two things.
        raise BadPayload("The compressed payload does not use preset dictionary v1.", _SENDER_BUG)
    unpacker = zlib.decompressobj(_WBITS, zdict=DICTIONARY_V1)
    try:
        out = unpacker.decompress(data, MAX_PLAINTEXT_LEN)
    except zlib.error as exc:
        raise BadPayload(f"The compressed payload is corrupt ({exc}).", _SENDER_BUG) from None
    if unpacker.unconsumed_tail:
        raise BadPayload(
            f"The compressed payload inflates beyond {MAX_PLAINTEXT_LEN} bytes.",
            "It was dropped; senders must split large payloads.",
        )
    if not unpacker.eof or unpacker.unused_data:
        raise BadPayload("The compressed payload is truncated or has trailing bytes.", _SENDER_BUG)
    return out


def parse_json_object(data: bytes) -> dict[str, Any]:
    """Parse a payload as one JSON object; raise BadPayload otherwise."""
    try:
        value = json.loads(
            data.decode("utf-8"),
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload(f"The payload is not UTF-8 JSON ({exc}).", _SENDER_BUG) from None
    if not isinstance(value, dict):
        raise BadPayload("The payload is JSON but not an object.", _SENDER_BUG)
    if _SURROGATE_ESCAPE.search(data):
        # A lone UTF-16 surrogate escape ("\\ud800") parses into a str that cannot be
        # encoded again: refuse it here rather than crash a later step (digest, store).
        try:
            canonical_json(value)
        except UnicodeEncodeError:
            raise BadPayload("The payload has a lone surrogate escape.", _SENDER_BUG) from None
    return value


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; accepting them would let two parsers disagree.
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Duplicate keys are refused so that every implementation reads the same object.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key in JSON object")
    return obj
