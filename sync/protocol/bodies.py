"""Message bodies: the decrypted payload of each message type, validated on receipt.

Uplink ``records`` carry per-record sequences (the idempotency key of ingest).
Downlink commands carry ``command_seq``, a per-device sequence the server assigns
when it stores the command in its downlink outbox; the device applies each command
once, tracked by a ReplayWindow over command sequences, and acknowledges them with
``ack-downlink``. Envelope sequences are per message and never idempotency keys.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    JsonValue,
    StringConstraints,
    ValidationError,
    model_validator,
)

from .errors import BadPayload
from .messages import MessageType
from .payload import canonical_json, parse_json_object
from .ranges import MAX_SEQ, SeqRange, check_ranges, range_count
from .records import (
    Base64Bytes,
    EnvelopeSeq,
    Ident,
    Record,
    ReleaseVersion,
    Seq,
    ShortText,
    Template,
    UnixMs,
    WireModel,
)

MAX_RECORDS_PER_MESSAGE = 500
MAX_RANGES = 1000


def _pair(value: Any) -> Any:
    # JSON has no tuples: a range travels as a two-element array.
    return tuple(value) if isinstance(value, list) else value


RangeItem = Annotated[SeqRange, BeforeValidator(_pair)]
Ranges = Annotated[list[RangeItem], Field(max_length=MAX_RANGES), AfterValidator(check_ranges)]
KeyIdHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
RawPublicKey = Annotated[Base64Bytes, Field(min_length=32, max_length=32)]


class Body(WireModel):
    """Base of every message body; ``message_type`` ties the class to its wire code."""

    message_type: ClassVar[MessageType]


class PublicKeys(WireModel):
    """Raw public keys announced for a rotation (base64 of 32 bytes each)."""

    sign: RawPublicKey
    box: RawPublicKey


# --- uplink -------------------------------------------------------------------------


class RecordsBody(Body):
    """A batch of records from the device's outbox, in any order, unique sequences."""

    message_type: ClassVar[MessageType] = MessageType.RECORDS
    records: Annotated[list[Record], Field(min_length=1, max_length=MAX_RECORDS_PER_MESSAGE)]

    @model_validator(mode="after")
    def _unique_seqs(self) -> RecordsBody:
        seqs = [r.seq for r in self.records]
        if len(set(seqs)) != len(seqs):
            raise ValueError("records in one message must have distinct seq values")
        return self


class AckDownlinkBody(Body):
    """The device applied (or had already applied) these downlink commands."""

    message_type: ClassVar[MessageType] = MessageType.ACK_DOWNLINK
    commands: Ranges

    @model_validator(mode="after")
    def _not_empty(self) -> AckDownlinkBody:
        if not self.commands:
            raise ValueError("an ack-downlink must name at least one command")
        return self


class HelloBody(Body):
    """Sent on every (re)connect: who the device is and where its counters stand.

    The server compares ``next_record_seq`` with the highest sequence it stored for
    the device: a device that went backwards (restored SD card) would reuse
    sequences, so the server flags it (Reason.REPLAY) instead of re-acking.
    """

    message_type: ClassVar[MessageType] = MessageType.HELLO
    protocol_version: Annotated[int, Field(ge=1, le=255)]
    software_version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    next_record_seq: Seq
    command_floor: Annotated[int, Field(ge=0, le=MAX_SEQ)]
    clock_synced: bool
    # New keys signed by the current ones: the device half of a key rotation.
    new_keys: PublicKeys | None = None


# --- downlink -----------------------------------------------------------------------


class AckBody(Body):
    """The server has durably stored these records (new or already stored before).

    ``messages`` lists the uplink envelope sequences this ack answers (for the
    courier's in-flight bookkeeping and for acking a ``hello``).
    """

    message_type: ClassVar[MessageType] = MessageType.ACK
    records: Ranges
    messages: Annotated[list[EnvelopeSeq], Field(max_length=MAX_RANGES)] = []

    @model_validator(mode="after")
    def _not_empty(self) -> AckBody:
        if not self.records and not self.messages:
            raise ValueError("an ack must name records or messages")
        if range_count(self.records) > 10 * MAX_RECORDS_PER_MESSAGE * MAX_RANGES:
            raise ValueError("an ack names implausibly many records")
        return self


class Command(Body):
    """A downlink body the device must apply exactly once, in command_seq order."""

    command_seq: Seq


class GalleryEntry(WireModel):
    """Templates of one employee for the device's 1:N gallery."""

    employee_no: Ident
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    model: Ident
    templates: Annotated[list[Template], Field(min_length=1, max_length=16)]


class GalleryBody(Command):
    """One page of a gallery update (large galleries span pages of one version)."""

    message_type: ClassVar[MessageType] = MessageType.GALLERY
    gallery_version: Annotated[int, Field(ge=1)]
    page: Annotated[int, Field(ge=1)]
    pages: Annotated[int, Field(ge=1)]
    upserts: Annotated[list[GalleryEntry], Field(max_length=500)] = []
    removals: Annotated[list[Ident], Field(max_length=10000)] = []

    @model_validator(mode="after")
    def _page_in_range(self) -> GalleryBody:
        if self.page > self.pages:
            raise ValueError(f"page {self.page} exceeds pages {self.pages}")
        return self


#: The erase ``reason`` HR sends when an employee withdrew consent (at another terminal or at HR): the
#: device then also closes its own record of that consent, so it cannot enrol them again without new consent.
CONSENT_WITHDRAWN = "consent-withdrawn"
#: The erase ``reason`` HR sends for a candidate's erasure request: ``employee_nos`` = [candidate_id]; a booth
#: deletes that candidate's audio, transcripts, sessions and candidate-list entry.
CANDIDATE_ERASURE = "candidate-erasure"


class EraseBody(Command):
    """Erase employees' face data (templates, snapshots) from the device, now."""

    message_type: ClassVar[MessageType] = MessageType.ERASE
    erasure_id: Ident | None = None
    employee_nos: Annotated[list[Ident], Field(min_length=1, max_length=1000)]
    reason: ShortText


class ConfigBody(Command):
    """Settings to apply; the device validates them against its own config model."""

    message_type: ClassVar[MessageType] = MessageType.CONFIG
    config_version: Annotated[int, Field(ge=1)]
    settings: dict[str, JsonValue]


class Candidate(WireModel):
    """A candidate expected at an interview booth."""

    candidate_id: Ident
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    role_id: Ident
    question_bank_id: Ident
    valid_until_ms: UnixMs


class CandidatesBody(Command):
    """The booth's candidate list: replaces the previous list."""

    message_type: ClassVar[MessageType] = MessageType.CANDIDATES
    candidates: Annotated[list[Candidate], Field(max_length=1000)]


class CandidateTemplate(WireModel):
    """A candidate's face templates, computed on the server from their registered photo."""

    candidate_id: Ident
    model: Ident
    templates: Annotated[list[Template], Field(min_length=1, max_length=16)]


class CandidateTemplatesBody(Command):
    """Registered-photo templates for a booth's identity check: ``upserts`` replace a candidate's templates,
    ``removals`` delete them. A separate command, not a field of ``candidates``: booths parse that strictly."""

    message_type: ClassVar[MessageType] = MessageType.CANDIDATE_TEMPLATES
    upserts: Annotated[list[CandidateTemplate], Field(max_length=100)] = []
    removals: Annotated[list[Ident], Field(max_length=1000)] = []


class RotateKeyBody(Command):
    """Key rotation: new server keys (signed by the current ones), retired ids, and/or a
    request that the device rotate its own keys and announce them in a ``hello``."""

    message_type: ClassVar[MessageType] = MessageType.ROTATE_KEY
    server_keys: PublicKeys | None = None
    retire_key_ids: Annotated[list[KeyIdHex], Field(max_length=16)] = []
    rotate_device_keys: bool = False

    @model_validator(mode="after")
    def _does_something(self) -> RotateKeyBody:
        if self.server_keys is None and not self.retire_key_ids and not self.rotate_device_keys:
            raise ValueError("a rotate-key command must change something")
        return self


class ResequenceBody(Command):
    """The device's record counter went backwards (PROTOCOL.md section 10, "Sequence regression"): its
    next record gets a sequence of at least ``next_record_seq``, and its undelivered records under the
    sequences of ``records`` (each stored on the server with other content) move above it, renumbered in
    one transaction. Rows not named keep their numbers: the server holds them already with that content."""

    message_type: ClassVar[MessageType] = MessageType.RESEQUENCE
    next_record_seq: Seq
    records: Ranges = []


class RetentionPolicyBody(Command):
    """The site's retention policy for its booths (replaces the one before): a session's audio is deleted
    ``audio_days`` after it ended, its transcripts and scores ``transcript_days`` after (once the server has
    acknowledged its result). A booth without one follows its own config."""

    message_type: ClassVar[MessageType] = MessageType.RETENTION_POLICY
    audio_days: Annotated[int, Field(ge=1, le=3650)]
    transcript_days: Annotated[int, Field(ge=1, le=3650)]

    @model_validator(mode="after")
    def _audio_not_longer(self) -> RetentionPolicyBody:
        if self.audio_days > self.transcript_days:
            raise ValueError("audio_days must not exceed transcript_days (audio would outlive its transcript)")
        return self


class UpdateBody(Command):
    """Install a release (PROTOCOL.md section 8, "Releases"): fetch it from ``source`` (a folder on the
    site network: ``file:///...`` or ``https://.../``), check that its ``manifest.json`` has this SHA-256
    and is signed by the release key provisioned on the device, then hand it to ``edgehr-update apply``.
    The outcome comes back as an ``update-status`` record naming ``rollout_id`` and this ``command_seq``."""

    message_type: ClassVar[MessageType] = MessageType.UPDATE
    rollout_id: Ident
    release_version: ReleaseVersion
    manifest_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    source: Annotated[str, StringConstraints(max_length=1024, pattern=r"^(file|https?)://[^\x00-\x20\x7f]+$")]


UplinkBody = RecordsBody | AckDownlinkBody | HelloBody
DownlinkBody = (
    AckBody
    | GalleryBody
    | EraseBody
    | ConfigBody
    | CandidatesBody
    | RotateKeyBody
    | ResequenceBody
    | RetentionPolicyBody
    | UpdateBody
    | CandidateTemplatesBody
)
AnyBody = UplinkBody | DownlinkBody

BODY_TYPES: dict[MessageType, type[Body]] = {
    cls.message_type: cls
    for cls in (
        RecordsBody,
        AckDownlinkBody,
        HelloBody,
        AckBody,
        GalleryBody,
        EraseBody,
        ConfigBody,
        CandidatesBody,
        RotateKeyBody,
        ResequenceBody,
        RetentionPolicyBody,
        UpdateBody,
        CandidateTemplatesBody,
    )
}


def encode_body(body: Body) -> bytes:
    """Canonical JSON of a body (None-valued optional fields are left out)."""
    return canonical_json(body.model_dump(mode="json", exclude_none=True))


def decode_body(message_type: MessageType, plaintext: bytes) -> Body:
    """Parse and validate a ``message_type`` plaintext, or raise BadPayload."""
    obj = parse_json_object(plaintext)
    try:
        return BODY_TYPES[message_type].model_validate(obj)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise BadPayload(
            f"{message_type.value} body is invalid ({exc.error_count()} problem(s): {problems}).",
            "The sender's software is incompatible or buggy: upgrade the server first, then the device.",
        ) from None
