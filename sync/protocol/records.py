"""Records: the durable facts a device sends uplink, one typed body per kind.

A record is one row of the device outbox (``device.store.outbox``): ``seq`` is the
outbox's per-device sequence number, assigned in the same transaction that writes
the domain row, ``type`` says which body follows, ``ref`` is the domain row's own id
(a punch uid), ``created_at_ms``/``clock_synced`` when and how sure. The server
stores each record under (device id, seq) exactly once; that pair is the
idempotency key, independent of how records were batched into messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from .demographics import allowed as _category_allowed
from .payload import canonical_json
from .ranges import MAX_SEQ
from .times import SaneUnixMs


def _b64decode(value: Any) -> Any:
    # Strict standard base64 (with padding); anything else is a sender bug.
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not standard base64: {exc}") from None
    return value


def _b64encode(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


Base64Bytes = Annotated[bytes, BeforeValidator(_b64decode), PlainSerializer(_b64encode, return_type=str)]
#: A record or command sequence: what the stores key by, so a signed 64-bit integer (1..2^63-1).
Seq = Annotated[int, Field(ge=1, le=MAX_SEQ)]
#: An envelope sequence (section 4: 1..2^64-1), as an ack names the messages it answers.
EnvelopeSeq = Annotated[int, Field(ge=1, le=2**64 - 1)]
UnixMs = Annotated[int, Field(ge=0, le=2**63 - 1)]
DeviceId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,64}$")]
IsoDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
# ISO 8601 with offset as the device wrote it; device_time_ms is the number to compute with.
IsoDateTime = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T", max_length=40)]
# Free-form short label (model versions and the like): no control characters.
Label = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,128}$")]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Score01 = Annotated[float, Field(ge=0.0, le=1.0)]
# A face template (embedding) as stored on devices: a few hundred bytes to a few KiB.
Template = Annotated[Base64Bytes, Field(min_length=16, max_length=8192)]


class WireModel(BaseModel):
    """Base of every body: unknown fields and type coercion are refused on receipt."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class PunchBody(WireModel):
    """An attendance punch decided on the device: THE punch body, from kiosk to HR store.

    Built once, by ``device.store.punches.punch_body`` in the transaction that records
    the punch; the outbox keeps its JSON, the courier sends that unchanged, and the HR
    store takes this parsed model as it is (no other shape of a punch exists).
    """

    record_type: ClassVar[str] = "punch"
    uid: Ident
    device_id: DeviceId
    employee_no: Ident
    direction: Literal["in", "out"]
    work_day: IsoDate
    device_time: IsoDateTime
    device_time_ms: UnixMs
    monotonic_ns: Annotated[int, Field(ge=0, le=2**63 - 1)]
    clock_synced: bool
    source: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z+_-]{0,31}$")]
    match_score: Score01 | None = None
    liveness_score: Score01 | None = None
    models: Annotated[dict[Ident, Label], Field(max_length=16)] = {}


class PunchCorrectionBody(WireModel):
    """An admin's audited fix: ``add`` a missed punch, or ``void`` a wrong one.

    A void names its punch by ``punch_uid`` or by its record ``corrects_seq``.
    """

    record_type: ClassVar[str] = "punch-correction"
    action: Literal["add", "void"]
    employee_no: Ident
    reason: ShortText
    admin: Ident
    clock_synced: bool
    direction: Literal["in", "out"] | None = None
    # A time a person typed: held to the sane window (sync.protocol.times), unlike a punch's own
    # device_time_ms, which an unsynchronised clock may honestly put in 1970.
    at_ms: SaneUnixMs | None = None
    punch_uid: Ident | None = None
    corrects_seq: Seq | None = None

    @model_validator(mode="after")
    def _says_what_it_fixes(self) -> PunchCorrectionBody:
        if self.action == "add" and (self.direction is None or self.at_ms is None):
            raise ValueError("an 'add' correction needs the punch's direction and at_ms")
        if self.action == "void" and self.punch_uid is None and self.corrects_seq is None:
            raise ValueError("a 'void' correction must name the punch (punch_uid or corrects_seq)")
        return self


class EnrolmentBody(WireModel):
    """An employee's face enrolment changed on this device (templates, never photos)."""

    record_type: ClassVar[str] = "enrolment"
    event: Literal["enrolled", "updated", "removed"]
    employee_no: Ident
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    admin: Ident
    consent_ref: Ident | None = None
    model: Ident | None = None
    templates: Annotated[list[Template], Field(max_length=16)] = []
    # How many templates the device now keeps ("enrolled"/"updated") or deleted ("removed"): a terminal
    # reports its own enrolments with this count and no templates (templates stay on the device).
    template_count: Annotated[int, Field(ge=0, le=1000)] | None = None

    @model_validator(mode="after")
    def _consent_before_templates(self) -> EnrolmentBody:
        if self.event != "removed" and (self.consent_ref is None or self.model is None):
            raise ValueError("an enrolment with templates needs consent_ref and model")
        if self.event == "removed" and self.templates:
            raise ValueError("a 'removed' enrolment carries no templates")
        return self


EvidenceText = Annotated[str, StringConstraints(max_length=2000)]
#: A scorer's sub-scores by name (key points, anchors, structure, specificity...), at most 20.
Subscores = Annotated[dict[Ident, Annotated[float, Field(ge=-100.0, le=100.0)]], Field(max_length=20)]
#: A similarity placed on the encoder's unrelated..paraphrase scale (0 = unrelated, 1 = a paraphrase).
ScaledSimilarity = Annotated[float, Field(ge=0.0, le=1.0)]


class Answer(WireModel):
    """One interview answer as transcribed (or typed) at the booth.

    Optional since v1.2 (additive, PROTOCOL.md section 13): the ``competency`` the question belongs to,
    the booth's ``verdict`` (``scored``, or ``no-answer`` when nothing was said: no score, never a 0), the
    answer's content ``score`` on its competency's scale and the ``subscores`` it was combined from."""

    question_id: Ident
    transcript: Annotated[str, StringConstraints(max_length=20000)]
    duration_ms: Annotated[int, Field(ge=0)]
    typed: bool = False
    competency: Ident | None = None
    verdict: Literal["scored", "no-answer"] | None = None
    score: Annotated[float, Field(ge=0.0, le=100.0)] | None = None
    subscores: Subscores | None = None

    @model_validator(mode="after")
    def _no_score_without_answer(self) -> Answer:
        if self.verdict == "no-answer" and self.score is not None:
            raise ValueError("an answer with verdict no-answer carries no score")
        return self


class EvidenceMatch(WireModel):
    """One answer sentence and the rubric text it matched best (an anchor of a level, a key point, or the
    reference answer), with the similarity the booth's scorer measured (``similarity`` the raw cosine; since
    v1.2 optionally ``scaled``, the cosine placed between the encoder's unrelated and paraphrase points,
    which reads the same whichever encoder the language used)."""

    sentence: EvidenceText
    question_id: Ident | None = None
    kind: Literal["anchor", "key-point", "reference"]
    matched: EvidenceText
    level: Annotated[int, Field(ge=0, le=100)] | None = None
    similarity: Annotated[float, Field(ge=-1.0, le=1.0)]
    scaled: ScaledSimilarity | None = None


class KeyPointCover(WireModel):
    """A rubric key point, whether the answers covered it, and by which sentence (since v1.2 optionally of
    which question, ``question_id``, and the ``scaled`` similarity that decided ``covered``)."""

    key_point: EvidenceText
    covered: bool
    sentence: EvidenceText | None = None
    similarity: Annotated[float, Field(ge=-1.0, le=1.0)] | None = None
    question_id: Ident | None = None
    scaled: ScaledSimilarity | None = None


class CompetencyScore(WireModel):
    """A rubric score with the answer sentences behind it (advice, not a decision).

    Optional since v1.1 (additive, PROTOCOL.md section 13): the competency's ``weight`` in the role's
    overall score, the scorer's ``subscores`` (key points, anchors, structure, specificity... each 0..1 or on
    the score's scale as the booth says), the sentence ``matches`` and the ``key_points`` covered."""

    competency: Ident
    score: Annotated[float, Field(ge=0.0)]
    scale_max: Annotated[int, Field(ge=1, le=100)]
    evidence: Annotated[list[EvidenceText], Field(max_length=20)]
    weight: Annotated[float, Field(ge=0.0, le=100.0)] | None = None
    subscores: Subscores | None = None
    matches: Annotated[list[EvidenceMatch], Field(max_length=40)] | None = None
    key_points: Annotated[list[KeyPointCover], Field(max_length=20)] | None = None

    @model_validator(mode="after")
    def _score_on_scale(self) -> CompetencyScore:
        if self.score > self.scale_max:
            raise ValueError(f"score {self.score} exceeds scale_max {self.scale_max}")
        return self


class InterviewResultBody(WireModel):
    """A finished booth interview: transcript, rubric scores, integrity flags."""

    record_type: ClassVar[str] = "interview-result"
    session_id: Ident
    candidate_id: Ident
    role_id: Ident
    consent_id: Ident
    completed_ms: UnixMs
    clock_synced: bool
    answers: Annotated[list[Answer], Field(max_length=100)]
    scores: Annotated[list[CompetencyScore], Field(max_length=50)]
    integrity_flags: Annotated[list[Ident], Field(max_length=50)] = []
    # Pace, pauses...: shown apart from competency scores, never part of them.
    delivery: dict[Ident, float] = {}


class CandidateDemographicsBody(WireModel):
    """A candidate's optional self-report at the booth (dimension -> category or "prefer-not-to-say"; a
    dimension skipped is absent). Its own record so that nothing of the interview's result or scoring ever
    carries it: the server keeps it apart, for the bias audit only. Empty ``answers`` is a report the booth
    erased before sending (a candidate's erasure): it changes nothing."""

    record_type: ClassVar[str] = "candidate-demographics"
    candidate_id: Ident
    session_id: Ident
    reported_ms: UnixMs
    answers: Annotated[dict[Ident, Ident], Field(max_length=10)]

    @model_validator(mode="after")
    def _known_categories(self) -> CandidateDemographicsBody:
        for dimension, value in self.answers.items():
            if not _category_allowed(dimension, value):
                raise ValueError(f"{dimension}={value!r} is not a category of the self-report")
        return self


Count = Annotated[int, Field(ge=0, le=2**53)]
Days = Annotated[int, Field(ge=1, le=3650)]


class RetentionRunBody(WireModel):
    """What a booth's retention job deleted in one run (counts, never content), under which policy."""

    record_type: ClassVar[str] = "retention-run"
    ran_at_ms: UnixMs
    policy: Literal["server", "config"]
    audio_days: Days
    transcript_days: Days
    audio_sessions: Count
    audio_files: Count
    audio_bytes: Count
    transcript_sessions: Count
    answers: Count
    # Sessions past transcript_days kept because the server has not acknowledged their result yet.
    held_unsent: Count = 0
#: A release name as make-release writes it (VERSION): letters, digits and ``. + _ -``.
ReleaseVersion = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9.+_-]+$")]


class UpdateStatusBody(WireModel):
    """What became of an ``update`` command (PROTOCOL.md section 8, "Releases"): ``ok`` (the release runs
    and passed its health check), ``rolled-back`` (it failed the check; the previous release runs again),
    ``failed`` (neither became healthy), ``refused`` (not installed: fetch, signature or digest refused)."""

    record_type: ClassVar[str] = "update-status"
    rollout_id: Ident
    command_seq: Seq
    release_version: ReleaseVersion
    result: Literal["ok", "rolled-back", "failed", "refused"]
    running_version: ReleaseVersion | None = None
    detail: Annotated[str, StringConstraints(max_length=500)] = ""


class RecordBase(WireModel):
    """Fields of every record: one outbox row (seq, type, ref, body, time, synced)."""

    seq: Seq
    ref: Ident
    created_at_ms: UnixMs
    clock_synced: bool


class PunchRecord(RecordBase):
    type: Literal["punch"]
    body: PunchBody


class PunchCorrectionRecord(RecordBase):
    type: Literal["punch-correction"]
    body: PunchCorrectionBody


class EnrolmentRecord(RecordBase):
    type: Literal["enrolment"]
    body: EnrolmentBody


class InterviewResultRecord(RecordBase):
    type: Literal["interview-result"]
    body: InterviewResultBody


class CandidateDemographicsRecord(RecordBase):
    type: Literal["candidate-demographics"]
    body: CandidateDemographicsBody


class RetentionRunRecord(RecordBase):
    type: Literal["retention-run"]
    body: RetentionRunBody


class UpdateStatusRecord(RecordBase):
    type: Literal["update-status"]
    body: UpdateStatusBody


Record = Annotated[
    PunchRecord
    | PunchCorrectionRecord
    | EnrolmentRecord
    | InterviewResultRecord
    | CandidateDemographicsRecord
    | RetentionRunRecord
    | UpdateStatusRecord,
    Field(discriminator="type"),
]
#: The body of a record of any type; ``record_type`` names the type it travels under.
RecordBody = (
    PunchBody
    | PunchCorrectionBody
    | EnrolmentBody
    | InterviewResultBody
    | CandidateDemographicsBody
    | RetentionRunBody
    | UpdateStatusBody
)
RECORD_TYPES: tuple[str, ...] = tuple(body.record_type for body in get_args(RecordBody))


def body_dict(body: BaseModel) -> dict[str, Any]:
    """A body as JSON-ready values, as it travels: None-valued optional fields are left out."""
    return body.model_dump(mode="json", exclude_none=True)


def record_json(record: BaseModel) -> bytes:
    """Canonical JSON of one record, as it appears inside a records payload."""
    return canonical_json(record.model_dump(mode="json", exclude_none=True))


def record_digest(record: RecordBase) -> bytes:
    """16-byte SHA-256 digest of canonical ``{"type": ..., "body": ...}`` of a record.

    The same value as ``sync.server.store.records.digest`` (which keeps it as 32 hex
    digits): the store keeps it next to (device, seq), and an insert that conflicts on
    that key with a *different* digest is a sequence reuse (Reason.REPLAY), never a
    duplicate to re-ack. ``ref`` and the record's time are left out: they cannot differ
    between two sendings of one outbox row.
    """
    dumped = record.model_dump(mode="json", exclude_none=True)
    return hashlib.sha256(canonical_json({"type": dumped["type"], "body": dumped["body"]})).digest()[:16]
