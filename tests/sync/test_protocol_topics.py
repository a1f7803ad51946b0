"""Topics: building, parsing, subscription filters, status payloads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.protocol import (
    DeviceStatus,
    Direction,
    Malformed,
    MessageType,
    ProtocolUsageError,
    WrongTopic,
    device_subscription,
    encode_status,
    ingest_subscription,
    message_topic,
    parse_message_topic,
    parse_status,
    parse_status_topic,
    status_subscription,
    status_topic,
    validate_device_id,
)

device_ids = st.from_regex(r"[a-z0-9-]{1,64}", fullmatch=True)


@given(device_ids, st.sampled_from(list(MessageType)))
def test_message_topic_round_trips(device_id: str, message_type: MessageType) -> None:
    topic = message_topic(device_id, message_type)
    parsed = parse_message_topic(topic)
    assert parsed.device_id == device_id
    assert parsed.message_type is message_type
    assert parsed.direction is message_type.direction
    assert topic == f"edgehr/v1/{device_id}/{message_type.direction}/{message_type.value}"


def test_topic_examples() -> None:
    assert message_topic("gate-01", MessageType.RECORDS) == "edgehr/v1/gate-01/up/records"
    assert message_topic("gate-01", MessageType.ROTATE_KEY) == ("edgehr/v1/gate-01/down/rotate-key")
    assert status_topic("gate-01") == "edgehr/v1/gate-01/status"
    assert device_subscription("gate-01") == "edgehr/v1/gate-01/down/#"
    assert ingest_subscription("ingest") == "$share/ingest/edgehr/v1/+/up/#"
    assert status_subscription() == "edgehr/v1/+/status"
    assert parse_status_topic("edgehr/v1/gate-01/status") == "gate-01"


@pytest.mark.parametrize("bad", ["", "A", "gate_01", "gate/01", "gate+", "#", "é", "x" * 65, "gate 01"])
def test_invalid_device_ids_are_refused(bad: str) -> None:
    with pytest.raises(ProtocolUsageError, match="invalid"):
        validate_device_id(bad)
    with pytest.raises(ProtocolUsageError):
        message_topic(bad, MessageType.HELLO)


@pytest.mark.parametrize("bad", ["", "a/b", "a+", "#", "x" * 65])
def test_invalid_share_groups_are_refused(bad: str) -> None:
    with pytest.raises(ProtocolUsageError, match="group"):
        ingest_subscription(bad)


@pytest.mark.parametrize(
    "topic",
    [
        "edgehr/v2/gate-01/up/records",
        "edgehr/v1/gate-01/up",
        "edgehr/v1/gate-01/up/records/extra",
        "edgehr/v1/GATE/up/records",
        "edgehr/v1/gate-01/sideways/records",
        "edgehr/v1/gate-01/up/ack",  # a downlink type on an uplink topic
        "edgehr/v1/gate-01/down/records",
        "edgehr/v1/gate-01/up/nonsense",
        "other/v1/gate-01/up/records",
        "edgehr/v1/gate-01/status",
    ],
)
def test_foreign_topics_are_wrong_topic(topic: str) -> None:
    with pytest.raises(WrongTopic) as info:
        parse_message_topic(topic)
    assert info.value.reason == "wrong-topic"


@pytest.mark.parametrize(
    "topic",
    ["edgehr/v1/gate-01/up/records", "edgehr/v1/Gate/status", "edgehr/v1/status"],
)
def test_non_status_topics_are_refused(topic: str) -> None:
    with pytest.raises(WrongTopic):
        parse_status_topic(topic)


def test_directions_of_types() -> None:
    up = {t for t in MessageType if t.direction is Direction.UP}
    assert {t.value for t in up} == {"records", "ack-downlink", "hello"}
    codes = [t.code for t in MessageType]
    assert len(set(codes)) == len(codes)
    assert all(MessageType.from_code(t.code) is t for t in MessageType)


def test_status_round_trip_and_rejections() -> None:
    will = DeviceStatus(state="offline")
    assert encode_status(will) == b'{"protocol_version":1,"state":"offline"}'
    assert parse_status(encode_status(will)) == will
    online = DeviceStatus(state="online", since_ms=5, software_version="1.2.3")
    assert parse_status(encode_status(online)) == online
    for bad in (
        b"",
        b"[]",
        b'{"state":"asleep"}',
        b'{"state":"online","x":1}',
        b"{" * 600,
    ):
        with pytest.raises(Malformed):
            parse_status(bad)
