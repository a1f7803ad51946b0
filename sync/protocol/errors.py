"""Errors of the sync protocol, each with the reason code the receiver counts.

Every rejection of an incoming message is a ``ProtocolError`` subclass carrying a
``reason`` (a short stable string such as ``"bad-signature"``) so that ingest workers
and the courier can count rejections per reason without parsing messages, and a
message that says what was wrong and what to do about it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from core.errors import EdgehrError


class Reason(StrEnum):
    """Reason codes counted by receivers (metrics labels; stable across versions)."""

    MALFORMED = "malformed"
    BAD_VERSION = "bad-version"
    UNKNOWN_TYPE = "unknown-type"
    WRONG_TOPIC = "wrong-topic"
    UNKNOWN_DEVICE = "unknown-device"
    UNKNOWN_KEY = "unknown-key"
    BAD_SIGNATURE = "bad-signature"
    DECRYPT_FAILED = "decrypt-failed"
    BAD_PAYLOAD = "bad-payload"
    # A signed message that reuses an idempotency key (record/command sequence) with
    # different content: a device whose counter went backwards, or a forgery.
    REPLAY = "replay"
    # Not a rejection: an already-stored message arrived again (lost ack, broker
    # redelivery or a harmless replay). Counted, re-acked, never treated as an attack.
    DUPLICATE = "duplicate"


class ProtocolError(EdgehrError):
    """An incoming message was rejected; ``reason`` (also ``code``) is the counter label.

    Raised as ``SomeError(what, fix)`` like every EdgehrError.
    """

    reason: ClassVar[Reason]
    code = "protocol"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # The reason code doubles as EdgehrError.code, the label APIs and metrics use.
        if "reason" in cls.__dict__:
            cls.code = cls.reason.value


class Malformed(ProtocolError):
    """The bytes or the topic do not follow the envelope layout."""

    reason = Reason.MALFORMED


class BadVersion(ProtocolError):
    """The envelope's version byte is not one this build speaks."""

    reason = Reason.BAD_VERSION


class UnknownType(ProtocolError):
    """The message type code is not defined in this protocol version."""

    reason = Reason.UNKNOWN_TYPE


class WrongTopic(ProtocolError):
    """Topic and envelope disagree (device, direction, type), or a foreign topic."""

    reason = Reason.WRONG_TOPIC


class UnknownDevice(ProtocolError):
    """The sending device is not registered on this server."""

    reason = Reason.UNKNOWN_DEVICE


class UnknownKey(ProtocolError):
    """A key id in the header names no key in the receiver's keyring."""

    reason = Reason.UNKNOWN_KEY


class BadSignature(ProtocolError):
    """The Ed25519 signature over header and ciphertext does not verify."""

    reason = Reason.BAD_SIGNATURE


class DecryptFailed(ProtocolError):
    """The signature was valid but the AEAD refused the ciphertext."""

    reason = Reason.DECRYPT_FAILED


class BadPayload(ProtocolError):
    """The decrypted payload is not a valid body for its message type."""

    reason = Reason.BAD_PAYLOAD


class Replay(ProtocolError):
    """An idempotency key was reused with different content."""

    reason = Reason.REPLAY


class ProtocolUsageError(EdgehrError):
    """The local caller passed values the protocol cannot carry (bug, bad config)."""

    code = "protocol-usage"
