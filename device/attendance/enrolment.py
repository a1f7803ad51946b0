"""Enrolment: turn an employee's photos (or kiosk camera frames) into encrypted face templates.

Consent first: nothing about a person's face is computed or kept until their consent to face attendance
is on record. Photos are decoded in memory, embedded and dropped: only templates (encrypted with the
device data key) are stored. Every photo gets a verdict — accepted, or rejected with a reason code the
panel and CLI translate — and a person is enrolled only with enough good photos of one face. Re-enrolment
replaces the templates; deletion removes them at once, is audited, and takes effect in the live gallery.
Each of these changes queues an "enrolment" record for the HR server in its own transaction (who, when,
how many templates, model, consent version; never a template), so HR knows who is enrolled where.
Withdrawing consent does what deletion does and more: the consent is marked withdrawn, the person's punch
snapshots go too, the HR server is told, and enrolment is refused until a new consent is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.clock import Clock
from core.datakey import DataKey
from core.errors import InputError
from core.images import MAX_BYTES, read_image_file
from core.types import Image, Vector
from device.attendance.ports import Analyser, GalleryView, ImageEmbedder
from device.config.device import EnrolmentSection
from device.store import Store
from device.store import employees as employees_repo
from device.vision.enrolment_checks import outliers, unusable_photo_reason

log = logging.getLogger(__name__)

PURPOSE = employees_repo.FACE_PURPOSE

#: Files in an enrolment folder that are read as photos (others are listed as unreadable).
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".pgm", ".gif", ".bmp", ".webp", ".tif", ".tiff"})

#: Reason codes of a rejected photo (i18n keys "enrol.reason.<code>").
REJECT_REASONS = ("unreadable", "too-large", "no-face", "many-faces", "too-small", "blurred", "too-dark",
                  "too-bright", "turned", "cut-off", "not-live", "other-person")

Decoder = Callable[[bytes, str], Image]


@dataclass(frozen=True)
class OversizedPhoto:
    """Stands in for a photo whose bytes were refused unread for their size (an upload over the limit)."""

    size: int


def _default_decoder(data: bytes, name: str) -> Image:
    from core.images import decode_image

    return decode_image(data, name)


@dataclass(frozen=True)
class ImageResult:
    name: str
    accepted: bool
    reason: str | None = None  # one of REJECT_REASONS when not accepted


@dataclass(frozen=True)
class EnrolmentReport:
    employee_no: str
    images: list[ImageResult]
    enrolled: bool
    templates: int  # templates stored (0 when not enrolled)
    needed: int  # good images needed
    detail: dict[str, int] = field(default_factory=dict)  # e.g. rejected frames by reason (camera enrolment)
    frames: list[ImageResult] = field(default_factory=list)  # camera enrolment: every frame taken, in order

    @property
    def good(self) -> int:
        return sum(1 for image in self.images if image.accepted)


class NotEnoughImagesError(InputError):
    code = "not-enough-images"


class Enroller:
    def __init__(
        self,
        *,
        store: Store,
        key: DataKey,
        embedder: ImageEmbedder,
        model: str,
        clock: Clock,
        settings: EnrolmentSection,
        gallery: GalleryView | None = None,
        same_person_threshold: float | None = None,
        decode: Decoder = _default_decoder,
    ) -> None:
        """``model`` names the embedder version the templates belong to (the gallery loads by it).
        ``same_person_threshold``: each accepted photo must be at least this similar (cosine) to the mean of
        the others, so one wrong photo in a folder cannot enrol a second person under this number."""
        self.store = store
        self.key = key
        self.embedder = embedder
        self.model = model
        self.clock = clock
        self.settings = settings
        self.gallery = gallery
        self.same_person_threshold = same_person_threshold
        self.decode = decode

    # -- consent --------------------------------------------------------------------------------------
    def record_consent(
        self, employee_no: str, name: str, *, text_version: str, recorded_by: str, demo: bool = False
    ) -> None:
        """Add (or rename) the employee and record their consent to face attendance (``demo``: demo data)."""
        now = self.clock.now()
        employees_repo.upsert_employee(self.store, employee_no, name, now, recorded_by)
        employees_repo.record_consent(
            self.store, employee_no, purpose=PURPOSE, text_version=text_version, recorded_by=recorded_by, at=now,
            demo=demo,
        )

    def require_consent(self, employee_no: str) -> None:
        if not employees_repo.has_consent(self.store, employee_no, PURPOSE):
            raise InputError(
                f"Employee {employee_no} has no recorded consent to face attendance; no photo was processed.",
                "Record the employee's signed consent first, then enrol.",
                code="no-consent",
            )

    # -- photos ---------------------------------------------------------------------------------------
    def enrol_photos(
        self, employee_no: str, photos: Iterable[tuple[str, bytes | OversizedPhoto]], *, actor: str
    ) -> EnrolmentReport:
        """Enrol from uploaded photos given as (file name, bytes). Stores templates only if enough are good.

        An ``OversizedPhoto`` in place of the bytes is reported as "too-large" (the caller refused to read it).
        """
        self.require_consent(employee_no)
        results: list[ImageResult] = []
        vectors: list[Vector] = []
        owners: list[int] = []  # index in results of each vector
        for name, data in photos:
            if isinstance(data, OversizedPhoto):
                results.append(ImageResult(name, False, "too-large"))
                continue
            try:
                image = self.decode(data, name)
            except InputError as exc:
                results.append(ImageResult(name, False, unusable_photo_reason(exc)))
                continue
            vector, reason = self.embedder.embed_image(image)
            del image  # the photo is not kept, not even in memory longer than needed
            if vector is None:
                results.append(ImageResult(name, False, reason or "no-face"))
                continue
            owners.append(len(results))
            vectors.append(vector)
            results.append(ImageResult(name, True))
        for outlier in outliers(vectors, self.same_person_threshold):
            results[owners[outlier]] = ImageResult(results[owners[outlier]].name, False, "other-person")
        kept = [v for i, v in enumerate(vectors) if results[owners[i]].accepted]
        return self._store(employee_no, results, kept, source="photos", actor=actor)

    def enrol_folder(
        self, employee_no: str, folder: Path, *, actor: str, progress: Callable[[str], None] | None = None
    ) -> EnrolmentReport:
        """Enrol from every file in ``folder`` (sorted by name); non-photos are reported as unreadable."""
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder.", "Give the folder that holds this employee's photos.")
        # Everything but sub-folders is listed: a pipe or device named like a photo is reported as
        # unreadable by the bounded reader, not skipped without a word.
        files = sorted(p for p in folder.iterdir() if not p.is_dir() and not p.name.startswith("."))

        def read_all() -> Iterable[tuple[str, bytes | OversizedPhoto]]:
            for path in files:
                if progress is not None:
                    progress(path.name)
                if path.suffix.lower() not in PHOTO_SUFFIXES:
                    yield path.name, b""  # decodes as unreadable: listed, never silently skipped
                    continue
                try:
                    yield path.name, read_image_file(path)  # bounded: never the whole of a huge file
                except InputError as exc:
                    yield path.name, OversizedPhoto(MAX_BYTES + 1) if exc.code == "too-large" else b""

        return self.enrol_photos(employee_no, read_all(), actor=actor)

    # -- camera frames --------------------------------------------------------------------------------
    def enrol_frames(
        self,
        employee_no: str,
        frames: Iterable[Image],
        *,
        analyser: Analyser,
        liveness_threshold: float,
        actor: str,
    ) -> EnrolmentReport:
        """Enrol from kiosk camera frames of the person standing in front of it: the N best live frames.

        "Best" is the largest face (closest to the camera, most detail), then the most live. Frames are
        analysed in memory and dropped; the report lists one line per frame used and counts the rest.
        """
        self.require_consent(employee_no)
        candidates: list[tuple[float, float, Vector]] = []
        rejected: dict[str, int] = {}
        per_frame: list[ImageResult] = []
        for number, image in enumerate(frames, start=1):
            analysis = analyser.analyse(image)
            face = analysis.face
            if not analysis.quality.ok or face is None or analysis.embedding is None:
                reason = analysis.quality.reason or "no-face"
                rejected[reason] = rejected.get(reason, 0) + 1
                per_frame.append(ImageResult(f"camera-{number}", False, reason))
                continue
            if analysis.liveness is None or analysis.liveness < liveness_threshold:
                rejected["not-live"] = rejected.get("not-live", 0) + 1
                per_frame.append(ImageResult(f"camera-{number}", False, "not-live"))
                continue
            area = face.box[2] * face.box[3]
            candidates.append((area, analysis.liveness, analysis.embedding))
            per_frame.append(ImageResult(f"camera-{number}", True))
        candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
        best = [c[2] for c in candidates[: self.settings.max_templates]]
        results = [ImageResult(f"frame-{i + 1}", True) for i in range(len(best))]
        for outlier in outliers(best, self.same_person_threshold):
            results[outlier] = ImageResult(results[outlier].name, False, "other-person")
        kept = [v for i, v in enumerate(best) if results[i].accepted]
        report = self._store(employee_no, results, kept, source="camera", actor=actor)
        return EnrolmentReport(report.employee_no, report.images, report.enrolled, report.templates, report.needed,
                               rejected, per_frame)

    # -- deletion -------------------------------------------------------------------------------------
    def delete(self, employee_no: str, *, actor: str, reason: str) -> int:
        """Remove the employee's templates now (audited) and from the live gallery; returns how many."""
        removed = employees_repo.delete_templates(
            self.store, employee_no, at=self.clock.now(), actor=actor, reason=reason, queue_for_server=True,
            clock_synced=self.clock.synced(),
        )
        if self.gallery is not None:
            self.gallery.remove(employee_no)
        log.info("face templates deleted", extra={"employee_no": employee_no, "templates": removed})
        return removed

    # -- consent withdrawal ---------------------------------------------------------------------------
    def withdraw_consent(self, employee_no: str, *, actor: str) -> employees_repo.Withdrawal:
        """See ``withdraw_consent`` below; the live gallery is this enroller's."""
        return withdraw_consent(self.store, employee_no, actor=actor, clock=self.clock, gallery=self.gallery)

    # -- shared ---------------------------------------------------------------------------------------
    def _store(
        self, employee_no: str, results: list[ImageResult], vectors: list[Vector], *, source: str, actor: str
    ) -> EnrolmentReport:
        needed = self.settings.min_good_images
        if len(vectors) < needed:
            # Nothing is changed: a failed re-enrolment keeps the person's previous templates working.
            return EnrolmentReport(employee_no, results, False, 0, needed)
        kept = vectors[: self.settings.max_templates]
        stored = employees_repo.replace_templates(
            self.store, self.key, employee_no, kept, model=self.model, source=source, at=self.clock.now(), actor=actor,
            queue_for_server=True, clock_synced=self.clock.synced(),
        )
        if self.gallery is not None:
            self.gallery.remove(employee_no)
            self.gallery.add(employee_no, np.stack(kept).astype(np.float32))
        log.info("face enrolled", extra={"employee_no": employee_no, "templates": stored, "source": source})
        return EnrolmentReport(employee_no, results, True, stored, needed)


def withdraw_consent(
    store: Store, employee_no: str, *, actor: str, clock: Clock, gallery: GalleryView | None = None
) -> employees_repo.Withdrawal:
    """The employee withdrew their consent: in one transaction the consent is marked withdrawn, their
    templates and punch snapshot rows are deleted, the withdrawal is audited and queued for the HR server;
    then the snapshot files are unlinked and the person leaves ``gallery`` (a running terminal without it
    in hand drops them when it sees the templates change). Enrolment is refused afterwards until consent
    is recorded again: ``Enroller.require_consent`` sees no open consent."""
    withdrawal = employees_repo.withdraw_consent(
        store, employee_no, purpose=PURPOSE, actor=actor, at=clock.now(), clock_synced=clock.synced()
    )
    if gallery is not None:
        gallery.remove(employee_no)
    unlinked = 0
    for path in withdrawal.snapshot_paths:  # after the commit: a rolled-back withdrawal keeps its files
        try:
            with suppress(FileNotFoundError):
                Path(path).unlink()
            unlinked += 1
        except OSError as exc:
            # Its row is gone, so the snapshot purge sweeps the file as an orphan; never log the path.
            log.error("snapshot file not removed on withdrawal: %s", type(exc).__name__)
    log.info("consent withdrawn", extra={"employee_no": employee_no, "templates": withdrawal.templates,
                                         "snapshots": unlinked})
    return withdrawal


# -- the roster the panel lists (names and counts only: never a template or a photo) --------------------
@dataclass(frozen=True)
class RosterEntry:
    employee_no: str
    name: str
    templates: int
    consent_version: str | None  # the latest face-attendance consent on record, if any
    consent_at: str | None
    consent_by: str | None


def roster(store: Store) -> list[RosterEntry]:
    """Every employee on this device with their template count and latest face-attendance consent."""
    rows = store.conn.execute(
        "SELECT e.employee_no, e.name,"
        " (SELECT count(*) FROM face_templates t WHERE t.employee_id = e.id),"
        " c.text_version, c.recorded_at, c.recorded_by"
        " FROM employees e LEFT JOIN consents c ON c.id = ("
        "   SELECT max(id) FROM consents WHERE subject_kind = 'employee' AND subject_ref = e.employee_no"
        "   AND purpose = ? AND withdrawn_at IS NULL)"
        " WHERE e.active = 1 ORDER BY e.employee_no",
        (PURPOSE,),
    ).fetchall()
    return [RosterEntry(str(r[0]), str(r[1]), int(r[2]), r[3], r[4], r[5]) for r in rows]
