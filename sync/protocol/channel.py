"""Channels: the API the courier (device) and the ingest workers (server) call.

A channel turns a typed body into a topic and sealed envelope bytes, and an
incoming (topic, payload) into a verified, decrypted, validated ``Opened`` message
or a ``ProtocolError`` whose ``reason`` the caller counts. Channels are immutable
and hold no sequence counters: the caller persists its counters and passes ``seq``
(the envelope sequence: per device and direction, +1 for every sealed message).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .bodies import Body, DownlinkBody, RecordsBody, UplinkBody, decode_body, encode_body
from .cipher import decrypt_envelope, seal_envelope, verify_envelope
from .envelope import Header, decode_envelope
from .errors import BadPayload, ProtocolUsageError, UnknownDevice, UnknownKey, WrongTopic
from .keys import LocalKeys, PeerDirectory, PeerKeys
from .messages import Direction, MessageType
from .payload import pack, unpack
from .records import PunchRecord
from .topics import message_topic, parse_message_topic, validate_device_id

SERVER_PEER_ID = "server"


@dataclass(frozen=True, slots=True)
class Stamp:
    """Creation time of a message and whether the clock was synced (a Pi has no RTC)."""

    ms: int
    synced: bool

    @classmethod
    def now(cls, synced: bool) -> Stamp:
        """The wall clock now; ``synced`` comes from the time-sync daemon's status."""
        return cls(time.time_ns() // 1_000_000, synced)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A sealed message ready to publish (QoS 1)."""

    topic: str
    payload: bytes
    seq: int
    message_type: MessageType
    plaintext_len: int


@dataclass(frozen=True, slots=True)
class Opened:
    """A verified, decrypted and validated incoming message."""

    header: Header
    body: Body
    wire_len: int

    @property
    def device_id(self) -> str:
        return self.header.device_id

    @property
    def seq(self) -> int:
        return self.header.seq

    @property
    def message_type(self) -> MessageType:
        return self.header.message_type


class DeviceChannel:
    """Device side: seals uplink to the server, opens downlink from it."""

    __slots__ = ("compress", "device_id", "keys", "server")

    def __init__(
        self,
        device_id: str,
        keys: LocalKeys,
        server: PeerKeys,
        *,
        compress: bool = True,
    ) -> None:
        self.device_id = validate_device_id(device_id)
        self.keys = keys
        self.server = server
        self.compress = compress

    def seal(self, body: UplinkBody, *, seq: int, stamp: Stamp) -> Outgoing:
        """Encrypt ``body`` to the server's current key; sign with the device key."""
        return _seal(
            body,
            self.device_id,
            Direction.UP,
            self.keys,
            self.server,
            seq,
            stamp,
            compress=self.compress,
        )

    def open(self, topic: str, payload: bytes) -> Opened:
        """Verify and decrypt a downlink message, or raise a ProtocolError."""
        server = self.server
        return _open(
            topic,
            payload,
            Direction.DOWN,
            self.keys,
            lambda _device: server,
            own_device=self.device_id,
        )

    def with_keys(self, keys: LocalKeys | None = None, server: PeerKeys | None = None) -> DeviceChannel:
        """The channel after a rotation of the device's keys and/or the server's."""
        return DeviceChannel(
            self.device_id,
            keys or self.keys,
            server or self.server,
            compress=self.compress,
        )


class ServerChannel:
    """Server side: opens uplink from any registered device, seals downlink to one."""

    __slots__ = ("compress", "devices", "keys")

    def __init__(self, keys: LocalKeys, devices: PeerDirectory, *, compress: bool = True) -> None:
        self.keys = keys
        self.devices = devices
        self.compress = compress

    def seal(self, device_id: str, body: DownlinkBody, *, seq: int, stamp: Stamp) -> Outgoing:
        """Encrypt ``body`` to the device's current key; sign with the server key."""
        peer = self._peer(device_id)
        return _seal(
            body,
            device_id,
            Direction.DOWN,
            self.keys,
            peer,
            seq,
            stamp,
            compress=self.compress,
        )

    def open(self, topic: str, payload: bytes) -> Opened:
        """Verify and decrypt an uplink message; raise a ProtocolError with a reason."""
        return _open(topic, payload, Direction.UP, self.keys, self._peer, own_device=None)

    def with_keys(self, keys: LocalKeys) -> ServerChannel:
        """The channel after a rotation of the server's own keys."""
        return ServerChannel(keys, self.devices, compress=self.compress)

    def _peer(self, device_id: str) -> PeerKeys:
        peer = self.devices.peer_keys(device_id)
        if peer is None:
            raise UnknownDevice(
                f"Device {device_id!r} is not registered on this server (or was revoked).",
                "Register it with its public keys, or remove it from the broker ACL.",
            )
        return peer


def _seal(
    body: Body,
    device_id: str,
    direction: Direction,
    keys: LocalKeys,
    peer: PeerKeys,
    seq: int,
    stamp: Stamp,
    *,
    compress: bool,
) -> Outgoing:
    message_type = body.message_type
    if message_type.direction is not direction:
        raise ProtocolUsageError(
            f"A {message_type.value} body travels {message_type.direction}, not {direction}.",
            "Seal it on the other side.",
        )
    plaintext = encode_body(body)
    ephemeral = X25519PrivateKey.generate()  # one per message, never reused
    compression, packed = pack(plaintext, allow_compression=compress)
    header = Header(
        direction=direction,
        message_type=message_type,
        device_id=device_id,
        seq=seq,
        created_ms=stamp.ms,
        clock_synced=stamp.synced,
        compression=compression,
        sender_key_id=keys.current.public.sign_id,
        recipient_key_id=peer.current.box_id,
        ephemeral_public=ephemeral.public_key().public_bytes_raw(),
    )
    payload = seal_envelope(header, packed, keys.current.sign, peer.current.box, ephemeral=ephemeral)
    return Outgoing(
        message_topic(device_id, message_type),
        payload,
        seq,
        message_type,
        len(plaintext),
    )


def _open(
    topic: str,
    payload: bytes,
    direction: Direction,
    keys: LocalKeys,
    lookup: Callable[[str], PeerKeys],
    *,
    own_device: str | None,
) -> Opened:
    where = parse_message_topic(topic)
    if where.direction is not direction:
        raise WrongTopic(
            f"Received {topic!r} but this endpoint only accepts {direction}link messages.",
            "Fix the subscription filter.",
        )
    if own_device is not None and where.device_id != own_device:
        raise WrongTopic(
            f"Received {topic!r}, addressed to another device than {own_device!r}.",
            "Fix the subscription filter or the broker ACL.",
        )
    envelope = decode_envelope(payload)
    header = envelope.header
    if header.device_id != where.device_id or header.message_type is not where.message_type:
        raise WrongTopic(
            f"An envelope for device {header.device_id!r}, "
            f"type {header.message_type.value}, arrived on topic {topic!r}.",
            "It was moved between topics and is dropped; check the broker ACL.",
        )
    peer = lookup(header.device_id)
    verify_key = peer.verify_key(header.sender_key_id)
    if verify_key is None:
        raise UnknownKey(
            f"Signing key id {header.sender_key_id.hex()} is not a current or previous key of {peer.peer_id!r}.",
            "If it rotated keys, register the new ones (hello new_keys).",
        )
    recipient = keys.box_identity(header.recipient_key_id)
    if recipient is None:
        raise UnknownKey(
            f"The message is encrypted to key id {header.recipient_key_id.hex()}, "
            "which this receiver does not hold (retired, or never ours).",
            "Give the sender our current public keys.",
        )
    verify_envelope(envelope, verify_key)
    plaintext = unpack(
        header.compression,
        decrypt_envelope(envelope, recipient.box, recipient.public.box_raw),
    )
    body = decode_body(header.message_type, plaintext)
    if isinstance(body, RecordsBody):
        _check_record_devices(body, header.device_id)
    return Opened(header, body, len(payload))


def _check_record_devices(body: RecordsBody, device_id: str) -> None:
    # A punch names its device inside the body too; both must be the signer's.
    for record in body.records:
        if isinstance(record, PunchRecord) and record.body.device_id != device_id:
            raise BadPayload(
                f"Record seq {record.seq} names device {record.body.device_id!r} inside a "
                f"message signed by device {device_id!r}.",
                "The sender has a bug (or copied records from another device); fix its outbox.",
            )
