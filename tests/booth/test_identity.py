"""The booth's optional identity check with the real face pipeline on real LFW photos: the registered photo's
template (computed as the HR server computes it) against frames replayed through the image-folder camera.
The outcome is an integrity flag in the interview-result, never a score and never a refusal; no frame is read
before consent."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.datakey import DataKey, load_or_create
from device.booth.identity import MATCH, MISMATCH, NOT_CHECKED, IdentityCheck, LockedCamera, PipelineProbe
from device.booth.runner import open_booth
from device.config.booth import BoothSection
from device.config.device import DeviceConfig
from device.courier import downlink
from device.hardware.camera_base import Frame
from device.hardware.camera_replay import ImageFolderCamera
from device.store import Store, booth_rights
from device.store import candidate_templates as booth_templates
from sync.protocol import CandidatesBody, CandidateTemplate, CandidateTemplatesBody
from sync.server.enrolment import EmbedderParts, embed_photos, real_embedder_parts
from tests.attendance.real_vision import lfw_people, requires_vision
from tests.booth.conftest import add_candidate, make_booth
from tests.booth.test_retention_policy import context

pytestmark = requires_vision


@pytest.fixture(scope="module")
def parts() -> EmbedderParts:
    return real_embedder_parts()


@pytest.fixture(scope="module")
def people() -> tuple[list[Path], list[Path]]:
    (_, a), (_, b) = lfw_people(min_images=5, max_images=40, count=2)
    return a, b


def registered(parts: EmbedderParts, photo: Path) -> bytes:
    """The template the HR server keeps for a registered photo (sync.server.candidate_photo's path)."""
    results, vectors, _ = embed_photos(parts, [(photo.name, photo.read_bytes())])
    assert results[0]["accepted"], results
    return np.asarray(vectors[0], dtype="<f4").tobytes()


class CountingCamera(LockedCamera):
    """The real replay camera, counting reads (to show nothing is read before consent)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(ImageFolderCamera(folder, paced=False, loop=True, frames_per_image=1))
        self.reads = 0

    def read(self) -> Frame | None:
        self.reads += 1
        return super().read()


def folder_of(tmp_path: Path, name: str, photos: list[Path]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for photo in photos:
        shutil.copy(photo, folder / photo.name)
    return folder


@pytest.fixture
def key() -> DataKey:
    return DataKey(os.urandom(32))


def check(
    parts: EmbedderParts, store: Store, key: DataKey, camera: LockedCamera | None, frames: int = 12
) -> IdentityCheck:
    assert parts.same_person_threshold is not None
    return IdentityCheck(camera=camera, probe=PipelineProbe(parts.pipeline), model=parts.model,
                         threshold=parts.same_person_threshold,
                         templates=lambda cid: booth_templates.load(store, key, cid), frames=frames,
                         every_seconds=0.0)  # fmt: skip


def hold(store: Store, key: DataKey, parts: EmbedderParts, photo: Path, candidate_id: str = "C-100") -> None:
    with store.transaction() as conn:
        booth_templates.replace(conn, key, candidate_id, parts.model, [registered(parts, photo)],
                                command_seq=2, at_ms=0)  # fmt: skip


def interview_flags(store: Store, tmp_path: Path, answers: Path, identity: IdentityCheck) -> list[str]:
    booth = make_booth(store, tmp_path, answers, settings=BoothSection(identity_check=True, self_report=False))
    booth.identity = identity
    booth.check_in("C-100")
    booth.consent("en")
    booth.type_instead()
    booth.submit_typed("I called the customer back the same day and fixed the order.")
    booth.end_session()
    booth.wait_finished()
    booth.close()
    body = store.conn.execute("SELECT body FROM outbox WHERE type = 'interview-result'").fetchone()[0]
    return list(json.loads(body)["integrity_flags"])


def test_same_person_matches_after_consent_only(
    store: Store, tmp_path: Path, answers: Path, parts: EmbedderParts, people: tuple[list[Path], list[Path]],
    key: DataKey,
) -> None:
    a, _ = people
    hold(store, key, parts, a[0])
    camera = CountingCamera(folder_of(tmp_path, "same", a[1:5]))
    booth = make_booth(store, tmp_path, answers, settings=BoothSection(identity_check=True, self_report=False))
    booth.identity = check(parts, store, key, camera)
    booth.check_in("C-100")
    assert camera.reads == 0 and booth.identity_run is None  # checked in, not consented: nothing read
    booth.decline()
    assert camera.reads == 0
    booth.close()
    assert interview_flags(store, tmp_path, answers, check(parts, store, key, camera)) == [MATCH]
    assert camera.reads >= 1


def test_the_notice_says_whether_a_photo_will_be_compared(
    store: Store, tmp_path: Path, answers: Path, parts: EmbedderParts, people: tuple[list[Path], list[Path]],
    key: DataKey,
) -> None:
    from device.panel.booth import booth_state

    a, _ = people
    camera = CountingCamera(folder_of(tmp_path, "notice", a[1:2]))
    booth = make_booth(store, tmp_path, answers, settings=BoothSection(identity_check=True, self_report=False))
    booth.identity = check(parts, store, key, camera)
    booth.check_in("C-100")
    assert booth_state(booth, "booth")["identity_photo"] is False  # nothing registered: "skipped"
    booth.decline()
    hold(store, key, parts, a[0])
    booth.check_in("C-100")
    assert booth_state(booth, "booth")["identity_photo"] is True  # a photo: "will be compared after consent"
    assert camera.reads == 0  # telling is not checking: nothing is read before consent
    booth.decline()
    booth.close()


def test_another_person_is_a_mismatch_and_still_interviewed(
    store: Store, tmp_path: Path, answers: Path, parts: EmbedderParts, people: tuple[list[Path], list[Path]],
    key: DataKey,
) -> None:
    a, b = people
    hold(store, key, parts, a[0])
    camera = CountingCamera(folder_of(tmp_path, "other", b[:5]))
    flags = interview_flags(store, tmp_path, answers, check(parts, store, key, camera))
    assert flags == [MISMATCH]
    scores = json.loads(store.conn.execute("SELECT body FROM outbox WHERE type = 'interview-result'").fetchone()[0])
    assert scores["answers"], "the interview went on: the flag is for the reviewer only"


def test_not_checked_without_template_camera_or_usable_face(
    store: Store, tmp_path: Path, parts: EmbedderParts, people: tuple[list[Path], list[Path]], key: DataKey,
) -> None:
    a, _ = people
    camera = CountingCamera(folder_of(tmp_path, "faces", a[1:3]))
    stop = threading.Event()
    assert check(parts, store, key, camera).run("C-100", stop) == NOT_CHECKED  # no registered photo
    assert camera.reads == 0
    hold(store, key, parts, a[0])
    assert check(parts, store, key, None).run("C-100", stop) == NOT_CHECKED  # no camera
    blank = tmp_path / "blank"
    blank.mkdir()
    cv2.imwrite(str(blank / "wall.png"), np.full((240, 320, 3), 128, np.uint8))
    assert check(parts, store, key, CountingCamera(blank), frames=5).run("C-100", stop) == NOT_CHECKED
    # Erasure at the booth removes the candidate's templates with the rest of their data.
    with store.transaction() as conn:
        assert booth_rights.erase_candidate(conn, "C-100").templates == 1
    assert booth_templates.count(store) == 0


def test_flag_absent_when_the_check_is_off(store: Store, tmp_path: Path, answers: Path) -> None:
    booth = make_booth(store, tmp_path, answers, settings=BoothSection(identity_check=False, self_report=False))
    booth.check_in("C-100")
    booth.consent("en")
    booth.type_instead()
    booth.submit_typed("An answer.")
    booth.end_session()
    booth.wait_finished()
    booth.close()
    body = store.conn.execute("SELECT body FROM outbox WHERE type = 'interview-result'").fetchone()[0]
    assert not any(f.startswith("identity-") for f in json.loads(body)["integrity_flags"])


def test_the_command_stores_sealed_templates_and_removals_and_list_changes_delete_them(
    store: Store, tmp_path: Path, parts: EmbedderParts, people: tuple[list[Path], list[Path]], key: DataKey,
) -> None:
    a, _ = people
    ctx = context(store, tmp_path)
    ctx.data_key = key
    template = registered(parts, a[0])
    upsert = CandidateTemplate(candidate_id="C-100", model=parts.model, templates=[template])
    done = downlink.apply_command(ctx, CandidateTemplatesBody(command_seq=1, upserts=[upsert]))
    assert done.outcome == "applied" and booth_templates.count(store, "C-100") == 1
    sealed = store.conn.execute("SELECT ciphertext FROM booth_candidate_templates").fetchone()[0]
    assert template[:64] not in bytes(sealed)  # not plaintext at rest
    held = booth_templates.load(store, key, "C-100")
    assert held is not None and held[1][0].tobytes() == template
    downlink.apply_command(ctx, CandidateTemplatesBody(command_seq=2, removals=["C-100"]))
    assert booth_templates.count(store) == 0
    downlink.apply_command(ctx, CandidateTemplatesBody(command_seq=3, upserts=[upsert]))
    downlink.apply_command(ctx, CandidatesBody(command_seq=4, candidates=[]))  # no longer expected here
    assert booth_templates.count(store) == 0
    ctx.data_key = None  # a booth without a data key refuses rather than store templates in clear
    refused = downlink.apply_command(ctx, CandidateTemplatesBody(command_seq=5, upserts=[upsert]))
    assert refused.outcome == "refused" and booth_templates.count(store) == 0


def test_a_booth_opened_from_its_config_runs_the_check(
    tmp_path: Path, parts: EmbedderParts, people: tuple[list[Path], list[Path]],
) -> None:
    """``open_booth`` wires the camera, the attendance pipeline and the booth's data key into the check."""
    a, _ = people
    state = tmp_path / "state"
    state.mkdir()
    config = DeviceConfig.model_validate({
        "device": {"id": "booth-1", "name": "Booth 1", "kind": "booth", "language": "en", "state_dir": str(state)},
        "microphone": {"source": "fake"}, "asr": {"engine_en": "fake"}, "sync": {"enabled": False},
        "camera": {"source": "folder", "path": str(folder_of(tmp_path, "camera", a[1:5])), "frames_per_image": 1},
        "booth": {"identity_check": True, "self_report": False, "identity_frames": 12},
    })  # fmt: skip
    runner = open_booth(config, paced_replay=False, with_courier=False)
    try:
        add_candidate(runner.store)
        key = load_or_create(state / "keys" / "data.key")
        assert runner.booth.identity is not None and runner.booth.identity.model == parts.model
        hold(runner.store, key, parts, a[0])
        booth = runner.booth
        booth.check_in("C-100")
        booth.consent("en")
        booth.type_instead()
        booth.submit_typed("An answer.")
        booth.end_session()
        booth.wait_finished()
        body = runner.store.conn.execute("SELECT body FROM outbox WHERE type = 'interview-result'").fetchone()[0]
        assert json.loads(body)["integrity_flags"] == [MATCH]
    finally:
        runner.stop()
