"""MQTT topic names: build them, parse them, and the subscription filters.

Layout (protocol v1)::

    edgehr/v1/<device_id>/up/<type>      device -> server, sealed envelope
    edgehr/v1/<device_id>/down/<type>    server -> device, sealed envelope
    edgehr/v1/<device_id>/status         retained, plain JSON, set by the will message

The device id is in the topic so that the broker ACL can keep a device to its own
topics (mosquitto ``pattern`` rules on the client's certificate CN).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ProtocolUsageError, WrongTopic
from .messages import Direction, MessageType

PREFIX = "edgehr/v1"
_DEVICE_ID = re.compile(r"[a-z0-9-]{1,64}")
# A shared-subscription group name must not contain MQTT wildcards or "/".
_CHECK = "Check the publisher and the broker ACL."
_GROUP = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_valid_device_id(device_id: str) -> bool:
    """True if ``device_id`` matches ``[a-z0-9-]{1,64}``."""
    return _DEVICE_ID.fullmatch(device_id) is not None


def validate_device_id(device_id: str) -> str:
    """Return ``device_id`` unchanged, or raise ProtocolUsageError naming the rule."""
    if not is_valid_device_id(device_id):
        raise ProtocolUsageError(
            f"Device id {device_id!r} is invalid.",
            "Use 1 to 64 characters from a-z, 0-9 and '-'.",
        )
    return device_id


def message_topic(device_id: str, message_type: MessageType) -> str:
    """The topic of a ``message_type`` message for or from ``device_id``."""
    validate_device_id(device_id)
    return f"{PREFIX}/{device_id}/{message_type.direction.value}/{message_type.value}"


def status_topic(device_id: str) -> str:
    """The retained status topic of ``device_id`` (its will message lands here)."""
    return f"{PREFIX}/{validate_device_id(device_id)}/status"


def device_subscription(device_id: str) -> str:
    """The filter a device subscribes to: all downlink messages addressed to it."""
    return f"{PREFIX}/{validate_device_id(device_id)}/down/#"


def ingest_subscription(group: str) -> str:
    """MQTT 5 shared-subscription filter for the server's ingest workers.

    Every worker subscribing with the same ``group`` receives a share of all
    devices' uplink messages, so workers scale out without coordination.
    """
    if _GROUP.fullmatch(group) is None:
        raise ProtocolUsageError(
            f"Shared-subscription group {group!r} is invalid.",
            "Use 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'.",
        )
    return f"$share/{group}/{PREFIX}/+/up/#"


def status_subscription() -> str:
    """The filter the server's fleet monitor subscribes to for online/offline states."""
    return f"{PREFIX}/+/status"


@dataclass(frozen=True, slots=True)
class MessageTopic:
    """A parsed message topic."""

    device_id: str
    direction: Direction
    message_type: MessageType


def parse_message_topic(topic: str) -> MessageTopic:
    """Parse an ``up``/``down`` topic; raise WrongTopic for anything else."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != PREFIX:
        raise WrongTopic(
            f"Topic {topic!r} is not an edgehr v1 message topic ({PREFIX}/<device>/up|down/<type>).",
            _CHECK,
        )
    _, _, device_id, direction_name, type_name = parts
    if not is_valid_device_id(device_id):
        raise WrongTopic(f"Topic {topic!r} carries an invalid device id.", _CHECK)
    try:
        direction = Direction(direction_name)
    except ValueError:
        raise WrongTopic(f"Topic {topic!r} has no direction up or down.", _CHECK) from None
    message_type = MessageType.from_topic_name(type_name)
    if message_type is None or message_type.direction is not direction:
        raise WrongTopic(
            f"Topic {topic!r} names no {direction.value}link message type of protocol v1.",
            "The sender may be newer than this receiver: upgrade the server first.",
        )
    return MessageTopic(device_id, direction, message_type)


def parse_status_topic(topic: str) -> str:
    """The device id of a status topic; raise WrongTopic otherwise."""
    parts = topic.split("/")
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != PREFIX or parts[3] != "status":
        raise WrongTopic(f"Topic {topic!r} is not an edgehr v1 status topic.", _CHECK)
    if not is_valid_device_id(parts[2]):
        raise WrongTopic(f"Topic {topic!r} carries an invalid device id.", _CHECK)
    return parts[2]
