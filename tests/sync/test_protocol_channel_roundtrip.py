"""Channels end to end: every message type and arbitrary records, settings and plaintexts round trip."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.protocol import (
    BadSignature,
    ConfigBody,
    DecryptFailed,
    MessageType,
    PunchBody,
    PunchCorrectionBody,
    PunchCorrectionRecord,
    PunchRecord,
    RecordsBody,
    decode_envelope,
    message_topic,
)
from sync.protocol.cipher import (
    decrypt_envelope,
    seal_envelope,
    verify_envelope,
)
from sync.protocol.envelope import Header
from sync.protocol.messages import Compression, Direction
from sync.protocol.ranges import MAX_SEQ
from sync.protocol.times import SANE_FROM_MS, SANE_UNTIL_MS
from tests.sync.channel_helpers import DEV_ID, DEVICE, EXAMPLES, SRV_ID, STAMP, channels, punch


@pytest.mark.parametrize("body", EXAMPLES, ids=lambda b: b.message_type.value)
@pytest.mark.parametrize("compress", [True, False])
def test_every_message_type_round_trips(body: Any, compress: bool) -> None:
    dev, srv = channels(compress=compress)
    if body.message_type.direction is Direction.UP:
        out = dev.seal(body, seq=7, stamp=STAMP)
        opened = srv.open(out.topic, out.payload)
    else:
        out = srv.seal(DEVICE, body, seq=7, stamp=STAMP)
        opened = dev.open(out.topic, out.payload)
    assert out.topic == message_topic(DEVICE, body.message_type)
    assert opened.body == body
    assert (opened.device_id, opened.seq, opened.message_type) == (
        DEVICE,
        7,
        body.message_type,
    )
    assert (opened.header.created_ms, opened.header.clock_synced) == (
        STAMP.ms,
        STAMP.synced,
    )
    assert opened.wire_len == len(out.payload)
    if not compress:
        assert opened.header.compression is Compression.NONE


idents = st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True)
unix_ms = st.integers(0, 2**63 - 1)
#: A time a person typed (a correction's at_ms) lies in the protocol's sane window.
typed_ms = st.integers(SANE_FROM_MS, SANE_UNTIL_MS - 1)
scores = st.none() | st.floats(0, 1)
days = st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}")
directions: st.SearchStrategy[Literal["in", "out"]] = st.sampled_from(["in", "out"])


@st.composite
def records(draw: st.DrawFn, seq: int) -> PunchRecord | PunchCorrectionRecord:
    common = {"seq": seq, "ref": draw(idents), "created_at_ms": draw(unix_ms), "clock_synced": draw(st.booleans())}
    if draw(st.booleans()):
        body = PunchBody(
            uid=draw(idents),
            device_id=DEVICE,
            employee_no=draw(idents),
            direction=draw(directions),
            work_day=draw(days),
            device_time=draw(days) + "T" + draw(st.text(max_size=20)),
            device_time_ms=draw(unix_ms),
            monotonic_ns=draw(st.integers(0, 2**63 - 1)),
            clock_synced=draw(st.booleans()),
            source=draw(st.sampled_from(["face", "button+face", "manual"])),
            match_score=draw(scores),
            liveness_score=draw(scores),
            models=draw(st.dictionaries(idents, st.from_regex(r"[^\x00-\x1f\x7f]{1,128}", fullmatch=True), max_size=3)),
        )
        return PunchRecord.model_validate(common | {"type": "punch", "body": body})
    action: Literal["add", "void"] = draw(st.sampled_from(["add", "void"]))
    void = action == "void"
    correction = PunchCorrectionBody(
        action=action,
        employee_no=draw(idents),
        direction=None if void and draw(st.booleans()) else draw(directions),
        at_ms=None if void and draw(st.booleans()) else draw(typed_ms),
        clock_synced=draw(st.booleans()),
        reason=draw(st.text(min_size=1, max_size=500)),
        admin=draw(idents),
        punch_uid=draw(idents) if void else None,
        corrects_seq=draw(st.none() | st.integers(1, MAX_SEQ)),
    )
    return PunchCorrectionRecord.model_validate(common | {"type": "punch-correction", "body": correction})


@st.composite
def record_batches(draw: st.DrawFn) -> RecordsBody:
    seqs = draw(st.lists(st.integers(1, MAX_SEQ), min_size=1, max_size=20, unique=True))
    return RecordsBody(records=[draw(records(seq)) for seq in seqs])


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(record_batches(), st.integers(1, 2**64 - 1), st.booleans())
def test_arbitrary_record_batches_round_trip(body: RecordsBody, seq: int, compress: bool) -> None:
    dev, srv = channels(compress=compress)
    out = dev.seal(body, seq=seq, stamp=STAMP)
    opened = srv.open(out.topic, out.payload)
    assert opened.body == body and opened.seq == seq


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_arbitrary_config_settings_round_trip(settings_: dict[str, Any]) -> None:
    dev, srv = channels()
    body = ConfigBody(command_seq=1, config_version=1, settings=settings_)
    out = srv.seal(DEVICE, body, seq=1, stamp=STAMP)
    assert dev.open(out.topic, out.payload).body == body


@settings(max_examples=50)
@given(st.binary(max_size=3000), st.integers(1, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_seal_verify_decrypt_arbitrary_plaintext(plaintext: bytes, seq: int, ms: int) -> None:
    header = Header(
        Direction.UP,
        MessageType.RECORDS,
        DEVICE,
        seq,
        ms,
        False,
        Compression.NONE,
        DEV_ID.public.sign_id,
        SRV_ID.public.box_id,
        bytes(32),
    )
    env = decode_envelope(seal_envelope(header, plaintext, DEV_ID.sign, SRV_ID.public.box))
    verify_envelope(env, DEV_ID.public.sign)
    assert decrypt_envelope(env, SRV_ID.box) == plaintext
    assert len(env.ciphertext) == len(plaintext) + 16
    with pytest.raises(BadSignature):
        verify_envelope(env, SRV_ID.public.sign)
    with pytest.raises(DecryptFailed):
        decrypt_envelope(env, DEV_ID.box)


def test_each_message_gets_fresh_ephemeral_key() -> None:
    dev, _ = channels()
    body = RecordsBody(records=[punch()])
    a, b = (decode_envelope(dev.seal(body, seq=1, stamp=STAMP).payload) for _ in range(2))
    assert a.header.ephemeral_public != b.header.ephemeral_public
    assert a.ciphertext != b.ciphertext
