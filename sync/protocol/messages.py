"""Message types and directions: names used in topics, codes used on the wire."""

from __future__ import annotations

from enum import Enum, IntEnum, StrEnum


class Direction(StrEnum):
    """Who sends: ``up`` = device to server, ``down`` = server to device."""

    UP = "up"
    DOWN = "down"

    @property
    def bit(self) -> int:
        """Value of the direction bit in the envelope flags byte."""
        return 0 if self is Direction.UP else 1


class MessageType(Enum):
    """Every message type of protocol v1. The value is the topic segment.

    Codes are unique across both directions (uplink 0x01.., downlink 0x81..) so a
    type byte alone says which way the message flows; the flags byte repeats the
    direction and the decoder checks that both agree.
    """

    RECORDS = "records"
    ACK_DOWNLINK = "ack-downlink"
    HELLO = "hello"
    ACK = "ack"
    GALLERY = "gallery"
    ERASE = "erase"
    CONFIG = "config"
    CANDIDATES = "candidates"
    ROTATE_KEY = "rotate-key"
    RESEQUENCE = "resequence"
    RETENTION_POLICY = "retention-policy"
    UPDATE = "update"
    CANDIDATE_TEMPLATES = "candidate-templates"

    @property
    def code(self) -> int:
        """The type byte on the wire."""
        return _CODES[self]

    @property
    def direction(self) -> Direction:
        """The only direction this type may travel in."""
        return Direction.UP if _CODES[self] < 0x80 else Direction.DOWN

    @classmethod
    def from_code(cls, code: int) -> MessageType | None:
        """The type for a wire code, or None if this version does not define it."""
        return _BY_CODE.get(code)

    @classmethod
    def from_topic_name(cls, name: str) -> MessageType | None:
        """The type for a topic segment, or None."""
        try:
            return cls(name)
        except ValueError:
            return None


_CODES: dict[MessageType, int] = {
    MessageType.RECORDS: 0x01,
    MessageType.ACK_DOWNLINK: 0x02,
    MessageType.HELLO: 0x03,
    MessageType.ACK: 0x81,
    MessageType.GALLERY: 0x82,
    MessageType.ERASE: 0x83,
    MessageType.CONFIG: 0x84,
    MessageType.CANDIDATES: 0x85,
    MessageType.ROTATE_KEY: 0x86,
    MessageType.RESEQUENCE: 0x87,
    MessageType.RETENTION_POLICY: 0x88,
    MessageType.UPDATE: 0x89,
    MessageType.CANDIDATE_TEMPLATES: 0x8A,
}
_BY_CODE: dict[int, MessageType] = {code: t for t, code in _CODES.items()}


class Compression(IntEnum):
    """How the plaintext was packed before encryption (2 bits in the flags byte)."""

    NONE = 0
    # zlib stream (RFC 1950) with the preset dictionary DICTIONARY_V1 of payload.py;
    # the stream's DICTID (Adler-32 of the dictionary) lets a decoder check it.
    ZLIB_DICT_V1 = 1
