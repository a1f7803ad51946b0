"""The booth's optional identity check: the candidate's face at the camera against their registered photo.

Runs only after consent (the booth starts it when the session opens, never at check-in), on camera frames
through the attendance face pipeline: the frame detector, the kiosk's quality gate, the embedder, compared
with the candidate's templates (``device.store.candidate_templates``, from the server's ``candidate-templates``
command) at the attendance 1:1 threshold. The outcome is one integrity flag for the human reviewer, never a
score and never a refusal to interview:

- ``identity-match``: a usable frame matched a registered template;
- ``identity-mismatch``: ``MISMATCH_FRAMES`` usable frames and none matched;
- ``identity-not-checked``: no template (walk-in, none registered, another embedder), no camera, or no
  usable face within ``booth.identity_frames`` frames.

Frames and embeddings stay in memory and are dropped; nothing but the flag is kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from core.types import Image, Vector
from device.hardware.camera_base import Camera, Frame
from device.vision.quality import assess

log = logging.getLogger(__name__)

MATCH, MISMATCH, NOT_CHECKED = "identity-match", "identity-mismatch", "identity-not-checked"
#: Usable frames, none matching, before a mismatch is flagged: one odd frame (a blink, a turn) is not enough.
MISMATCH_FRAMES = 3
#: Seconds ``flag`` waits at the end of a session for a check still running before it says not-checked.
FINISH_WAIT_SECONDS = 10.0


class FaceProbe(Protocol):
    """One frame's usable face: exactly one face that passes the quality gate, embedded; else None."""

    def usable_face(self, image: Image) -> Vector | None: ...


class PipelineProbe:
    """The attendance FacePipeline as a probe: its frame detector, quality gate (kiosk strictness), embedder."""

    def __init__(self, pipeline: object) -> None:
        self._pipeline = pipeline

    def usable_face(self, image: Image) -> Vector | None:
        p = self._pipeline
        faces = p.frame_detector.detect(image)  # type: ignore[attr-defined]
        if len(faces) != 1 or not assess(image, faces, p.cfg).ok:  # type: ignore[attr-defined]
            return None
        vector: Vector = p.embed_face(image, faces[0])  # type: ignore[attr-defined]
        return vector


#: candidate_id -> (model, templates) the booth holds, or None.
TemplateSource = Callable[[str], "tuple[str, list[np.ndarray]] | None"]


class Tally:
    """Frames judged so far: a match ends it; ``MISMATCH_FRAMES`` usable frames without one end it too."""

    def __init__(self, templates: list[np.ndarray], threshold: float) -> None:
        self.templates, self.threshold, self.misses = templates, threshold, 0

    def add(self, vector: Vector | None) -> str | None:
        if vector is None:
            return None  # no usable face in this frame: neither for nor against
        if max(float(np.dot(t, vector)) for t in self.templates) >= self.threshold:
            return MATCH
        self.misses += 1
        return MISMATCH if self.misses >= MISMATCH_FRAMES else None


class LockedCamera:
    """One camera read by two threads (the identity check and the integrity sampler): one read at a time,
    as the adapters keep per-read state (replay position, frame counter) that is not thread-safe."""

    def __init__(self, camera: Camera) -> None:
        self._camera, self._lock = camera, threading.Lock()

    def read(self) -> Frame | None:
        with self._lock:
            return self._camera.read()

    def status(self) -> str:
        return self._camera.status()

    def close(self) -> None:
        with self._lock:
            self._camera.close()


class IdentityRun:
    """One session's check on its own thread, so the first question is not held up by it."""

    def __init__(self, check: IdentityCheck, candidate_id: str) -> None:
        self._check, self._candidate_id = check, candidate_id
        self._stop = threading.Event()
        self.result: str | None = None
        self._thread = threading.Thread(target=self._run, name="identity", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._check.run(self._candidate_id, self._stop)
        except Exception:  # a camera or model fault costs the check, never the interview
            log.exception("identity check failed")
            self.result = NOT_CHECKED

    def flag(self, wait_seconds: float = FINISH_WAIT_SECONDS) -> str:
        self._thread.join(wait_seconds)
        if self.result is None:
            self._stop.set()
            self._thread.join(1.0)
        return self.result or NOT_CHECKED


class IdentityCheck:
    """What the check needs: the camera, the probe, the embedder's model name, the 1:1 threshold, the templates."""

    def __init__(self, *, camera: Camera | None, probe: FaceProbe, model: str, threshold: float,
                 templates: TemplateSource, frames: int, every_seconds: float) -> None:  # fmt: skip
        self.camera, self.probe, self.model, self.threshold = camera, probe, model, threshold
        self.templates, self.frames, self.every_seconds = templates, frames, every_seconds

    def has_photo(self, candidate_id: str) -> bool:
        """Whether HR registered a photo this booth can compare with (what the notice tells the candidate)."""
        held = self.templates(candidate_id)
        return held is not None and held[0] == self.model and self.camera is not None

    def start(self, candidate_id: str) -> IdentityRun:
        """Call after consent only (the booth does it when the session opens)."""
        return IdentityRun(self, candidate_id)

    def run(self, candidate_id: str, stop: threading.Event) -> str:
        held = self.templates(candidate_id)
        if held is None or held[0] != self.model or self.camera is None:
            return NOT_CHECKED  # no registered photo, made by another embedder, or no camera
        tally = Tally(held[1], self.threshold)
        for _ in range(self.frames):
            if stop.is_set():
                break
            frame = self.camera.read()
            outcome = tally.add(self.probe.usable_face(frame.image)) if frame is not None else None
            if outcome is not None:
                return outcome
            stop.wait(self.every_seconds)
        return NOT_CHECKED


def identity_flags(booth: Any) -> list[str]:
    """The result's identity flag, taking the booth's run for this session (``booth.identity_run`` is cleared,
    so the next session cannot report it): none when ``booth.identity_check`` is off; not-checked when the
    check never started (no camera configured, or the session ended before its first question)."""
    run, booth.identity_run = booth.identity_run, None
    if not booth.settings.identity_check:
        return []
    return [run.flag() if run is not None else NOT_CHECKED]
