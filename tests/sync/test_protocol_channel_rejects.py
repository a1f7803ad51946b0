"""Channels refuse what is not theirs: unknown devices and keys, forged servers, wrong topics and directions,
low-order points, records naming another device; every refusal is an EdgehrError with a reason code."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.errors import EdgehrError
from sync.protocol import (
    AckBody,
    BadPayload,
    BadSignature,
    BadVersion,
    DecryptFailed,
    DeviceChannel,
    Identity,
    LocalKeys,
    Malformed,
    MessageType,
    PeerKeys,
    ProtocolError,
    ProtocolUsageError,
    Reason,
    RecordsBody,
    Replay,
    ServerChannel,
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
)
from tests.sync.channel_helpers import DEV_ID, DEVICE, EXAMPLES, SRV_ID, STAMP, channels, punch


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
