"""Payloads: canonical JSON, compression, body validation, ranges, record digests."""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.protocol import (
    BadPayload,
    MessageType,
    PunchRecord,
    decode_body,
    encode_body,
    iter_seqs,
    record_digest,
    to_ranges,
)
from sync.protocol.bench import typical_punch
from sync.protocol.bodies import AckBody, RecordsBody
from sync.protocol.messages import Compression
from sync.protocol.payload import (
    DICTIONARY_V1,
    MAX_PLAINTEXT_LEN,
    canonical_json,
    compress,
    pack,
    parse_json_object,
    unpack,
)
from sync.protocol.ranges import check_ranges
from sync.server.store.records import digest as store_digest

PUNCH = typical_punch(7, "gate-01").body.model_dump(mode="json")
ENROL = {"event": "enrolled", "employee_no": "E1", "admin": "a"}


def rec(seq: object = 1, type_: str = "punch", body: object = None, **extra: object) -> dict[str, object]:
    record = {"seq": seq, "type": type_, "ref": "r1", "created_at_ms": 5, "clock_synced": True}
    return record | {"body": PUNCH if body is None else body} | extra


def records_json(*records: dict[str, object]) -> bytes:
    return json.dumps({"records": list(records)}).encode()


def test_valid_records_payload_decodes() -> None:
    body = decode_body(MessageType.RECORDS, records_json(rec(3)))
    assert isinstance(body, RecordsBody)
    record = body.records[0]
    assert isinstance(record, PunchRecord) and record.body.source == "face"
    assert decode_body(MessageType.RECORDS, encode_body(body)) == body


def test_outbox_punch_body_travels_unchanged() -> None:
    # What device.store.punches.record_punch enqueued before it built the PunchBody itself (asdict(NewPunch)
    # | device_id, nulls included): such rows may still wait in a terminal's outbox after an upgrade.
    outbox_body = {**PUNCH, "match_score": None, "models": {}}
    record = PunchRecord.model_validate(rec(1, body=outbox_body))
    assert record.body.match_score is None


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"", "not UTF-8 JSON"),
        (b"\xff{}", "not UTF-8 JSON"),
        (b"[1]", "not an object"),
        (b'{"records":[],"records":[]}', "duplicate key"),
        (b'{"a":NaN}', "NaN"),
        (b'{"a":"\\ud800"}', "surrogate"),
        (records_json(), "records"),
        (records_json(rec(0)), "records.0.punch.seq"),
        (records_json(rec("1")), "valid integer"),
        (records_json(rec(1, "selfie")), "type"),
        (records_json(rec(1, extra=1)), "extra"),
        (records_json(rec(1, body={**PUNCH, "extra": 1})), "extra"),
        (records_json(rec(1, body={**PUNCH, "match_score": 1.5})), "less than or equal"),
        (records_json(rec(1, body={**PUNCH, "work_day": "1.1.2026"})), "work_day"),
        (records_json(rec(1, body={**PUNCH, "device_id": "Gate 1"})), "device_id"),
        (records_json(rec(1), rec(1)), "distinct seq"),
        (
            records_json(
                rec(
                    1,
                    "punch-correction",
                    {"action": "void", "employee_no": "E1", "clock_synced": True, "reason": "x", "admin": "a"},
                )
            ),
            "punch_uid or corrects_seq",
        ),
        (
            records_json(
                rec(
                    1,
                    "punch-correction",
                    {"action": "add", "employee_no": "E1", "clock_synced": True, "reason": "x", "admin": "a"},
                )
            ),
            "direction and at_ms",
        ),
        (records_json(rec(1, "enrolment", ENROL)), "consent_ref"),
        (
            records_json(rec(1, "enrolment", {**ENROL, "event": "removed", "templates": ["AAAAAAAAAAAAAAAAAAAAAA=="]})),
            "no templates",
        ),
        (
            records_json(
                rec(1, "enrolment", {**ENROL, "consent_ref": "c", "model": "m", "templates": ["not base64!"]})
            ),
            "base64",
        ),
    ],
)
def test_invalid_records_payloads_say_what_is_wrong(payload: bytes, match: str) -> None:
    with pytest.raises(BadPayload, match=match) as info:
        decode_body(MessageType.RECORDS, payload)
    assert info.value.reason == "bad-payload"


@pytest.mark.parametrize(
    ("message_type", "obj", "match"),
    [
        (MessageType.ACK, {"records": []}, "must name"),
        (MessageType.ACK, {"records": [[2, 1]]}, "first <= last"),
        (MessageType.ACK, {"records": [[0, 1]]}, "first <= last"),
        (MessageType.ACK, {"records": [[1, 2], [3, 4]]}, "touches"),
        (MessageType.ACK, {"records": [[3, 4], [1, 2]]}, "overlaps"),
        (MessageType.ACK, {"records": [[1, 2, 3]]}, "records.0"),
        (MessageType.ACK_DOWNLINK, {"commands": []}, "at least one"),
        (MessageType.ROTATE_KEY, {"command_seq": 1}, "change something"),
        (
            MessageType.ROTATE_KEY,
            {"command_seq": 1, "retire_key_ids": ["XYZ"]},
            "pattern",
        ),
        (
            MessageType.GALLERY,
            {"command_seq": 1, "gallery_version": 1, "page": 3, "pages": 2},
            "exceeds pages",
        ),
        (
            MessageType.ERASE,
            {"command_seq": 1, "erasure_id": "e", "employee_nos": [], "reason": "r"},
            "employee_nos",
        ),
        (
            MessageType.HELLO,
            {
                "protocol_version": 1,
                "software_version": "1",
                "next_record_seq": 1,
                "command_floor": 0,
                "clock_synced": True,
                "new_keys": {"sign": "AA==", "box": "AA=="},
            },
            "new_keys.sign",
        ),
    ],
)
def test_invalid_bodies(message_type: MessageType, obj: object, match: str) -> None:
    with pytest.raises(BadPayload, match=match):
        decode_body(message_type, json.dumps(obj).encode())


def test_canonical_json_is_deterministic() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'.encode()
    with pytest.raises(ValueError):
        canonical_json({"a": float("nan")})
    body = AckBody(records=[(1, 2)], messages=[])
    assert encode_body(body) == b'{"messages":[],"records":[[1,2]]}'


@given(st.binary(max_size=5000))
def test_pack_unpack_round_trip(data: bytes) -> None:
    compression, packed = pack(data)
    assert unpack(compression, packed) == data
    assert len(packed) <= len(data)
    assert pack(data, allow_compression=False) == (Compression.NONE, data)


def test_compressed_stream_names_the_dictionary() -> None:
    packed = compress(b'{"records":[]}')
    assert packed[1] & 0x20  # FDICT
    assert int.from_bytes(packed[2:6], "big") == zlib.adler32(DICTIONARY_V1)


def test_dictionary_makes_a_single_punch_small() -> None:
    one = encode_body(RecordsBody(records=[typical_punch(123456)]))
    plain_zlib = zlib.compress(one, 9)
    assert len(compress(one)) < 0.8 * len(plain_zlib) < 0.8 * len(one)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"garbage", "dictionary"),
        (compress(b"x")[:2] + b"\x00" * 4 + compress(b"x")[6:], "dictionary"),
        (compress(b"x")[:6] + b"\xff\xff", "corrupt"),
        (compress(b"x" * 1000)[:-3], "truncated"),
        (compress(b"x" * 1000) + b"tail", "trailing"),
        (compress(b"\x00" * (MAX_PLAINTEXT_LEN + 1)), "inflates beyond"),
        (zlib.compress(b"{}"), "dictionary"),  # a stream without our dictionary
    ],
)
def test_bad_compressed_payloads(data: bytes, match: str) -> None:
    with pytest.raises(BadPayload, match=match):
        unpack(Compression.ZLIB_DICT_V1, data)


def test_pack_refuses_oversized_plaintext() -> None:
    with pytest.raises(BadPayload, match="Split it"):
        pack(b"x" * (MAX_PLAINTEXT_LEN + 1))


def test_parse_json_object_accepts_surrogate_pairs() -> None:
    assert parse_json_object(b'{"a":"\\ud83d\\ude00"}') == {"a": "\U0001f600"}


@given(st.sets(st.integers(1, 10_000), max_size=300))
def test_ranges_round_trip(seqs: set[int]) -> None:
    ranges = to_ranges(seqs)
    assert check_ranges(ranges) == ranges
    assert list(iter_seqs(ranges)) == sorted(seqs)
    assert all(b[0] > a[1] + 1 for a, b in zip(ranges, ranges[1:], strict=False))


def test_record_digest_matches_the_hr_store() -> None:
    record = typical_punch(9)
    dumped = record.model_dump(mode="json", exclude_none=True)
    assert record_digest(record).hex() == store_digest(dumped["type"], dumped["body"])


def test_record_digest_identifies_content() -> None:
    a = typical_punch(1)
    b = PunchRecord.model_validate(a.model_dump() | {"body": a.body.model_dump() | {"monotonic_ns": 2}})
    assert record_digest(a) == record_digest(PunchRecord.model_validate(a.model_dump()))
    assert record_digest(a) != record_digest(b)
    assert len(record_digest(a)) == 16


@pytest.mark.parametrize("at_ms", [0, 946_684_799_999, 4_102_444_800_000, 2**63 - 1])
def test_a_corrections_typed_time_outside_the_sane_window_is_refused(at_ms: int) -> None:
    # 2^63-1 ms once reached the HR store and broke every timesheet; 1970 is no typed time either.
    body = {"action": "add", "employee_no": "E1", "clock_synced": True, "reason": "forgot", "admin": "a",
            "direction": "in", "at_ms": at_ms}
    with pytest.raises(BadPayload, match="at_ms"):
        decode_body(MessageType.RECORDS, records_json(rec(1, "punch-correction", body)))
    first_ms = body | {"at_ms": 946_684_800_000}  # 2000-01-01T00:00:00Z, the window's first instant
    inside = decode_body(MessageType.RECORDS, records_json(rec(1, "punch-correction", first_ms)))
    assert isinstance(inside, RecordsBody)


def test_a_punch_from_a_clock_that_is_not_synchronised_keeps_the_full_range() -> None:
    # A Pi without an RTC boots in 1970: its punches are flagged by clock_synced, and still stored.
    unsynced = {**PUNCH, "device_time_ms": 5, "clock_synced": False}
    body = decode_body(MessageType.RECORDS, records_json(rec(1, body=unsynced)))
    assert isinstance(body, RecordsBody)


_HELLO = {"protocol_version": 1, "software_version": "1", "next_record_seq": 1, "command_floor": 0,
          "clock_synced": True}


@pytest.mark.parametrize(
    ("message_type", "obj", "match"),
    [
        (MessageType.RECORDS, {"records": [dict(typical_punch(1, "gate-01").model_dump(mode="json"), seq=2**63)]},
         "less than or equal to 9223372036854775807"),
        (MessageType.HELLO, dict(_HELLO, command_floor=2**63), "command_floor"),
        (MessageType.HELLO, dict(_HELLO, next_record_seq=2**63), "next_record_seq"),
        (MessageType.ACK_DOWNLINK, {"commands": [[1, 2**63]]}, "< 2\\^63"),
        (MessageType.ACK, {"records": [[2**63, 2**63]]}, "< 2\\^63"),
    ],
)
def test_sequences_beyond_what_the_stores_hold_are_refused_on_receipt(
    message_type: MessageType, obj: object, match: str
) -> None:
    """Record and command sequences are signed 64-bit in both stores: the protocol refuses 2^63 and above
    (issue 15: a record seq of 2^63 used to pass the protocol and stop an ingest worker)."""
    with pytest.raises(BadPayload, match=match):
        decode_body(message_type, json.dumps(obj).encode())


def test_the_largest_sequences_the_stores_hold_are_accepted() -> None:
    record = dict(typical_punch(1, "gate-01").model_dump(mode="json"), seq=2**63 - 1)
    assert decode_body(MessageType.RECORDS, json.dumps({"records": [record]}).encode())
    hello = decode_body(MessageType.HELLO, json.dumps(dict(_HELLO, command_floor=2**63 - 1)).encode())
    assert hello.model_dump()["command_floor"] == 2**63 - 1
    top = {"records": [[2**63 - 1, 2**63 - 1]], "messages": [2**64 - 1]}
    ack = decode_body(MessageType.ACK, json.dumps(top).encode())
    assert isinstance(ack, AckBody) and ack.messages == [2**64 - 1]  # envelope sequences stay 64-bit
