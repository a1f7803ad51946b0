"""Server-side enrolment: HR uploads an employee's photos; the server keeps face templates, never photos.

The templates are computed with the devices' own face pipeline (``device.vision.pipeline.real_pipeline``:
the same detector, quality gate at enrolment strictness and embedder), so a device can match them. Each
photo gets the verdict a terminal's enrolment would give (accepted, or rejected with the same reason
codes); the person is enrolled only with ``min_good_images`` good photos of one face. On success the
templates are sealed with the server's data key and a "gallery" downlink is queued for every active
device the employee is assigned to; the ingest workers put the templates into its GalleryBody.

Consent first: the upload names the consent text version the employee signed, which HR records as given
(unless that very version is already the current consent). An employee who withdrew consent at a device
is refused, no photo read, until HR records new consent (``consents.record_given``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.datakey import DataKey
from core.errors import InputError
from core.types import Image, Vector
from device.config.device import EnrolmentSection
from device.vision.enrolment_checks import outliers, unusable_photo_reason
from sync.server.store import consents, downlinks, templates
from sync.server.store.database import Tx
from sync.server.store.employees import NotFound
from sync.server.store.hr_store import HRStore

log = logging.getLogger(__name__)

#: Bytes per uploaded photo: a phone photo is a few MB; more is refused as "too-large" unread.
MAX_PHOTO_BYTES = 16 * 1024 * 1024


class PhotoEmbedder(Protocol):
    """What enrolment needs of the face pipeline (``FacePipeline`` satisfies it)."""

    def embed_image(self, image: Image) -> tuple[Vector | None, str | None]: ...


@dataclass(frozen=True)
class EmbedderParts:
    """The pipeline, the template model name devices load by, and the same-person threshold."""

    pipeline: PhotoEmbedder
    model: str
    same_person_threshold: float | None


def real_embedder_parts() -> EmbedderParts:
    """The devices' real pipeline (built models, one thread), named as a terminal names its templates."""
    from device.config.device import RecognitionSection
    from device.vision.pipeline import real_pipeline
    from device.vision.thresholds import operating_threshold

    cfg = RecognitionSection()
    pipeline = real_pipeline(cfg)
    embedder = pipeline.embedder
    return EmbedderParts(
        pipeline=pipeline,
        model=f"{embedder.name}:{embedder.version}",
        same_person_threshold=operating_threshold(cfg, embedder.name, embedder.version),
    )


class Lazy:
    """Builds a part on first use, once, shared by every request of one app (models load slowly)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: Any = None

    def get(self) -> Any:
        with self._lock:
            if self._value is None:
                self._value = self._build()
            return self._value


def _decode(data: bytes, name: str) -> Image:
    from core.images import decode_image

    return decode_image(data, Path(name))


def embed_photos(
    parts: EmbedderParts, photos: Iterable[tuple[str, bytes | None]]
) -> tuple[list[dict[str, Any]], list[Vector], list[int]]:
    """Each photo's verdict as a terminal's enrolment gives it, the good photos' templates, and which verdict
    each template belongs to (``owners``); photos of another person than the others' are turned "other-person".
    Photos are decoded in memory and dropped as soon as embedded. Refused when no photo was uploaded."""
    results: list[dict[str, Any]] = []
    vectors: list[Vector] = []
    owners: list[int] = []
    for name, data in photos:
        if data is None or len(data) > MAX_PHOTO_BYTES:
            results.append({"name": name, "accepted": False, "reason": "too-large"})
            continue
        try:
            image = _decode(data, name or "photo")
        except InputError as exc:
            results.append({"name": name, "accepted": False, "reason": unusable_photo_reason(exc)})
            continue
        vector, reason = parts.pipeline.embed_image(image)
        del image  # the photo is not kept, not even in memory longer than needed
        if vector is None:
            results.append({"name": name, "accepted": False, "reason": reason or "no-face"})
            continue
        owners.append(len(results))
        vectors.append(vector)
        results.append({"name": name, "accepted": True, "reason": None})
    if not results:
        raise InputError("No photo was uploaded.", "Upload the photos as form files named 'photos'.")
    for outlier in outliers(vectors, parts.same_person_threshold):
        results[owners[outlier]] |= {"accepted": False, "reason": "other-person"}
    return results, vectors, owners


class ServerEnroller:
    """Enrols employees from uploaded photos into the HR store. ``parts`` and ``key`` load lazily."""

    def __init__(
        self,
        store: HRStore,
        *,
        parts: Callable[[], EmbedderParts],
        key: Callable[[], DataKey],
        settings: EnrolmentSection | None = None,
    ) -> None:
        self.store = store
        self._parts = parts
        self._key = key
        self.settings = settings or EnrolmentSection()

    def enrol(
        self, employee_no: str, photos: Iterable[tuple[str, bytes | None]], *, consent_text_version: str, actor: str
    ) -> dict[str, Any]:
        """``photos``: (name, bytes) pairs; bytes None for a photo dropped unread as over MAX_PHOTO_BYTES."""
        consent = consent_text_version.strip()
        if not consent or len(consent) > 64:
            raise InputError(
                "The consent text version is missing or longer than 64 characters; no photo was processed.",
                "Send the version of the consent text the employee signed as the form field consent_text_version.",
                code="no-consent",
            )
        self._require_employee(employee_no)
        parts = self._parts()
        results, vectors, owners = embed_photos(parts, photos)
        kept = [v for i, v in enumerate(vectors) if results[owners[i]]["accepted"]]
        needed = self.settings.min_good_images
        enrolled = len(kept) >= needed
        kept = kept[: self.settings.max_templates] if enrolled else []
        key = self._key() if enrolled else None
        at = self.store.now()
        now = self.store.now_iso()
        sent_to: list[str] = []
        with self.store.db.transaction() as tx:
            self._require_employee_in(tx, employee_no)  # not erased, consent not withdrawn, while embedding
            current = consents.status_in(tx, employee_no)
            if current["status"] != "given" or current["text_version"] != consent:
                consents.given_in(tx, at, employee_no, consent, actor)
            if key is not None:
                templates.replace(tx, key, employee_no, parts.model, kept, now)
                devices = [
                    str(r[0])
                    for r in tx.execute(
                        "SELECT a.device_id FROM device_assignments a JOIN devices d ON d.id = a.device_id"
                        " WHERE a.employee_no = ? AND d.status = 'active' ORDER BY a.device_id",
                        (employee_no,),
                    ).all()
                ]
                for device_id in devices:
                    downlinks.emit(tx, device_id, "gallery", {"enrolled": [employee_no]}, now)
                    sent_to.append(device_id)
            templates.record_enrolment(
                tx, now, actor, employee_no, consent_text_version=consent, model=parts.model,
                templates=len(kept), photos=len(results), accepted=sum(1 for r in results if r["accepted"]),
            )
        log.info("server enrolment", extra={"employee_no": employee_no, "templates": len(kept), "devices": sent_to})
        return {
            "employee_no": employee_no,
            "enrolled": enrolled,
            "templates": len(kept),
            "needed": needed,
            "model": parts.model,
            "photos": results,
            "gallery_sent_to": sent_to,
        }

    def parts(self) -> EmbedderParts:
        """The face pipeline (built on first use), for other uploads embedded as enrolment embeds."""
        parts: EmbedderParts = self._parts()
        return parts

    def data_key(self) -> DataKey:
        """The server's data key (loaded on first use)."""
        return self._key()

    def _require_employee(self, employee_no: str) -> None:
        with self.store.db.read() as tx:
            self._require_employee_in(tx, employee_no)

    @staticmethod
    def _require_employee_in(tx: Tx, employee_no: str) -> None:
        row = tx.execute("SELECT erased_at FROM employees WHERE employee_no = ?", (employee_no,)).one()
        if row is None:
            raise NotFound(f"There is no employee {employee_no}.", "Create the employee first, then upload photos.")
        if row[0] is not None:
            raise InputError(
                f"Employee {employee_no} was erased at {row[0]}; no photo was processed.",
                "An erased employee cannot be enrolled again; create a new employee number.",
                code="conflict",
            )
        consents.require_not_withdrawn(tx, employee_no)
