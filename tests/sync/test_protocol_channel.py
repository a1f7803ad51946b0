"""Channels end to end: round trips, wrong keys, wrong topics, rotation."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device.errors import EdgehrError
from sync.protocol import (
    AckBody,
    AckDownlinkBody,
    BadPayload,
    BadSignature,
    BadVersion,
    Body,
    Candidate,
    CandidatesBody,
    ConfigBody,
    DecryptFailed,
    DeviceChannel,
    EraseBody,
    GalleryBody,
    GalleryEntry,
    HelloBody,
    Identity,
    LocalKeys,
    Malformed,
    MessageType,
    PeerKeys,
    ProtocolError,
    ProtocolUsageError,
    PublicKeys,
    PunchBody,
    PunchCorrectionBody,
    PunchCorrectionRecord,
    PunchRecord,
    Reason,
    RecordsBody,
    Replay,
    RotateKeyBody,
    ServerChannel,
    Stamp,
    StaticDirectory,
    UnknownDevice,
    UnknownKey,
    UnknownType,
    WrongTopic,
    decode_envelope,
    message_topic,
)
from sync.protocol.bench import typical_punch
from sync.protocol.cipher import (
    SIGNATURE_CONTEXT,
    decrypt_envelope,
    seal_envelope,
    verify_envelope,
)
from sync.protocol.envelope import Header
from sync.protocol.messages import Compression, Direction
from sync.protocol.vectors import device_identity, server_identity

DEVICE = "gate-01"
STAMP = Stamp(1_767_225_600_000, True)
DEV_ID, SRV_ID = device_identity(), server_identity()


def channels(
    device: Identity = DEV_ID, server: Identity = SRV_ID, *, compress: bool = True
) -> tuple[DeviceChannel, ServerChannel]:
    dev = DeviceChannel(DEVICE, LocalKeys(device), PeerKeys("server", server.public), compress=compress)
    srv = ServerChannel(
        LocalKeys(server),
        StaticDirectory([PeerKeys(DEVICE, device.public)]),
        compress=compress,
    )
    return dev, srv


def punch(seq: int = 1) -> PunchRecord:
    return typical_punch(seq, DEVICE)


EXAMPLES: list[Body] = [
    RecordsBody(records=[punch(1), punch(2)]),
    AckDownlinkBody(commands=[(1, 3), (7, 7)]),
    HelloBody(
        protocol_version=1,
        software_version="0.1.0",
        next_record_seq=9,
        command_floor=3,
        clock_synced=False,
        new_keys=PublicKeys(sign=b"s" * 32, box=b"b" * 32),
    ),
    AckBody(records=[(1, 2)], messages=[1]),
    GalleryBody(
        command_seq=1,
        gallery_version=3,
        page=1,
        pages=2,
        removals=["E9"],
        upserts=[
            GalleryEntry(
                employee_no="E1",
                name="张三",
                model="m1",
                templates=[bytes(range(64))],
            )
        ],
    ),
    EraseBody(command_seq=2, erasure_id="er-1", employee_nos=["E9"], reason="left"),
    ConfigBody(command_seq=3, config_version=2, settings={"punch": {"debounce_s": 60}}),
    CandidatesBody(
        command_seq=4,
        candidates=[
            Candidate(
                candidate_id="c1",
                name="Li",
                role_id="r1",
                question_bank_id="q1",
                valid_until_ms=5,
            )
        ],
    ),
    RotateKeyBody(command_seq=5, retire_key_ids=["00" * 8], rotate_device_keys=True),
]


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
        at_ms=None if void and draw(st.booleans()) else draw(unix_ms),
        clock_synced=draw(st.booleans()),
        reason=draw(st.text(min_size=1, max_size=500)),
        admin=draw(idents),
        punch_uid=draw(idents) if void else None,
        corrects_seq=draw(st.none() | st.integers(1, 2**64 - 1)),
    )
    return PunchCorrectionRecord.model_validate(common | {"type": "punch-correction", "body": correction})


@st.composite
def record_batches(draw: st.DrawFn) -> RecordsBody:
    seqs = draw(st.lists(st.integers(1, 2**64 - 1), min_size=1, max_size=20, unique=True))
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


def test_unregistered_device_is_unknown_device() -> None:
    dev, _ = channels()
    srv = ServerChannel(LocalKeys(SRV_ID), StaticDirectory())
    out = dev.seal(RecordsBody(records=[punch()]), seq=1, stamp=STAMP)
    with pytest.raises(UnknownDevice) as info:
        srv.open(out.topic, out.payload)
    assert info.value.reason == "unknown-device"
    with pytest.raises(UnknownDevice):
        srv.seal(DEVICE, AckBody(messages=[1], records=[]), seq=1, stamp=STAMP)


def test_device_key_not_registered_is_unknown_key() -> None:
    impostor, _ = channels(device=Identity.generate())
    _, srv = channels()
    out = impostor.seal(RecordsBody(records=[punch()]), seq=1, stamp=STAMP)
    with pytest.raises(UnknownKey, match="Signing key id"):
        srv.open(out.topic, out.payload)


def test_sealed_to_other_server_key_is_unknown_key() -> None:
    dev, _ = channels(server=Identity.generate())
    _, srv = channels()
    out = dev.seal(RecordsBody(records=[punch()]), seq=1, stamp=STAMP)
    with pytest.raises(UnknownKey, match="encrypted to key id"):
        srv.open(out.topic, out.payload)


def test_downlink_from_fake_server_is_rejected() -> None:
    dev, _ = channels()
    _, fake = channels(server=Identity.generate())
    fake = ServerChannel(LocalKeys(Identity.generate()), fake.devices)
    out = fake.seal(DEVICE, EXAMPLES[5], seq=1, stamp=STAMP)  # type: ignore[arg-type]
    with pytest.raises(UnknownKey):
        dev.open(out.topic, out.payload)


def test_other_device_using_its_own_key_on_our_topic_is_rejected() -> None:
    other = Identity.generate()
    directory = StaticDirectory([PeerKeys(DEVICE, DEV_ID.public), PeerKeys("gate-02", other.public)])
    srv = ServerChannel(LocalKeys(SRV_ID), directory)
    liar = DeviceChannel(DEVICE, LocalKeys(other), PeerKeys("server", SRV_ID.public))
    out = liar.seal(RecordsBody(records=[punch()]), seq=1, stamp=STAMP)
    with pytest.raises(UnknownKey):
        srv.open(out.topic, out.payload)
    honest = DeviceChannel("gate-02", LocalKeys(other), PeerKeys("server", SRV_ID.public))
    out = honest.seal(RecordsBody(records=[typical_punch(1, "gate-02")]), seq=1, stamp=STAMP)
    with pytest.raises(WrongTopic):  # gate-02's envelope republished on gate-01's topic
        srv.open(message_topic(DEVICE, MessageType.RECORDS), out.payload)
    assert srv.open(out.topic, out.payload).device_id == "gate-02"


def test_wrong_topics_and_directions() -> None:
    dev, srv = channels()
    up = dev.seal(RecordsBody(records=[punch()]), seq=1, stamp=STAMP)
    down = srv.seal(DEVICE, AckBody(records=[(1, 1)]), seq=1, stamp=STAMP)
    cases: list[tuple[DeviceChannel | ServerChannel, str, bytes]] = [
        (srv, message_topic(DEVICE, MessageType.HELLO), up.payload),  # type moved
        (srv, down.topic, down.payload),  # server only receives uplink
        (dev, up.topic, up.payload),  # device only receives downlink
        (dev, message_topic("gate-02", MessageType.ACK), down.payload),  # not ours
        (srv, "edgehr/v1/gate-01/up", up.payload),
    ]
    # A genuine message for another device delivered to us (broker ACL mistake).
    other = Identity.generate()
    assert isinstance(srv.devices, StaticDirectory)
    srv.devices.put(PeerKeys("gate-02", other.public))
    theirs = srv.seal("gate-02", AckBody(records=[(1, 1)]), seq=1, stamp=STAMP)
    cases.append((dev, theirs.topic, theirs.payload))
    for channel, topic, payload in cases:
        with pytest.raises(WrongTopic) as info:
            channel.open(topic, payload)
        assert info.value.reason == "wrong-topic"


def test_seal_refuses_wrong_direction() -> None:
    dev, srv = channels()
    with pytest.raises(ProtocolUsageError, match="travels down"):
        dev.seal(AckBody(records=[(1, 1)]), seq=1, stamp=STAMP)  # type: ignore[arg-type]
    with pytest.raises(ProtocolUsageError, match="travels up"):
        srv.seal(DEVICE, RecordsBody(records=[punch()]), seq=1, stamp=STAMP)  # type: ignore[arg-type]
    with pytest.raises(ProtocolUsageError, match="sequence"):
        dev.seal(RecordsBody(records=[punch()]), seq=0, stamp=STAMP)


def test_low_order_ephemeral_point_is_decrypt_failed() -> None:
    dev, srv = channels()
    out = dev.seal(RecordsBody(records=[punch()]), seq=1, stamp=STAMP)
    env = decode_envelope(out.payload)
    header = replace(env.header, ephemeral_public=bytes(32))  # the all-zero point
    hb = header.encode()
    forged = hb + env.ciphertext + DEV_ID.sign.sign(SIGNATURE_CONTEXT + hb + env.ciphertext)
    with pytest.raises(DecryptFailed) as info:
        srv.open(out.topic, forged)
    assert info.value.reason == "decrypt-failed"


def test_punch_naming_another_device_is_bad_payload() -> None:
    dev, srv = channels()
    out = dev.seal(RecordsBody(records=[punch(1), typical_punch(2, "gate-02")]), seq=1, stamp=STAMP)
    with pytest.raises(BadPayload, match="names device 'gate-02'"):
        srv.open(out.topic, out.payload)


def test_protocol_errors_are_edgehr_errors_with_reason_codes() -> None:
    for cls in (
        Malformed,
        BadVersion,
        UnknownType,
        WrongTopic,
        UnknownDevice,
        UnknownKey,
        BadSignature,
        DecryptFailed,
        BadPayload,
        Replay,
    ):
        error = cls("What went wrong.", "What to do.")
        assert isinstance(error, EdgehrError) and isinstance(error, ProtocolError)
        assert error.code == error.reason.value and error.reason in set(Reason)
        assert str(error) == "What went wrong. What to do."
    codes = {
        c.reason
        for c in (
            Malformed,
            BadVersion,
            UnknownType,
            WrongTopic,
            UnknownDevice,
            UnknownKey,
            BadSignature,
            DecryptFailed,
            BadPayload,
            Replay,
        )
    }
    assert codes == set(Reason) - {Reason.DUPLICATE}
    assert ProtocolUsageError("x").code == "protocol-usage"
