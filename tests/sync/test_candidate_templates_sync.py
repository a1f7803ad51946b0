"""Issue 16 over the real protocol path (HR API -> HR store -> ingest worker -> mosquitto with TLS and ACLs ->
courier -> booth store): a candidate's registered photo becomes a candidate-templates command, applied and
confirmed by the booth, which holds the templates sealed with its own data key; the booth's identity check
then matches the same person replayed through its camera, and the result's flag reaches HR's review page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from core.datakey import load_or_create
from device.booth.identity import MATCH, IdentityCheck, LockedCamera, PipelineProbe
from device.config.booth import BoothSection
from device.courier.courier import data_key_path
from device.hardware.camera_replay import ImageFolderCamera
from device.store import candidate_templates
from drills.chaos_site import Site
from fleet.broker import Mosquitto
from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.enrolment import real_embedder_parts
from sync.server.pages.common import TOKEN_COOKIE
from sync.server.store import HRStore
from tests.attendance.real_vision import lfw_people, requires_vision
from tests.booth.conftest import answers, make_booth  # noqa: F401 - answers is a fixture
from tests.sync.test_booth_retention_sync import BOOTH, booth_store, drained

pytestmark = requires_vision


def test_registered_photo_reaches_the_booth_and_its_flag_reaches_the_reviewer(
    site: Site, site_broker: Mosquitto, hr: HRStore, tmp_path: Path, answers: Path  # noqa: F811
) -> None:
    [(_, photos)] = lfw_people(min_images=5, max_images=40, count=1)
    parts = real_embedder_parts()
    hr_token = {"Authorization": f"Bearer {create_token(hr, 'hr')}"}
    candidate = {"candidate_id": "C-100", "name": "Li Wei", "role_id": "customer-service",
                 "question_bank_id": "customer-service-en", "window_start": "2026-01-01T09:00:00+08:00",
                 "window_end": "2099-01-01T12:00:00+08:00", "device_id": BOOTH}  # fmt: skip
    with TestClient(create_app(site.server_config(), hr, embedder_parts=lambda: parts)) as client:
        assert client.post("/api/candidates", json=candidate, headers=hr_token).status_code == 201
        upload = client.post("/api/candidates/C-100/photo", headers=hr_token, data={"consent_text_version": "v1"},
                             files=[("photos", (photos[0].name, photos[0].read_bytes(), "image/jpeg"))])  # fmt: skip
        assert upload.status_code == 200 and upload.json()["templates_sent_to"] == BOOTH, upload.text

    with booth_store(site) as store:
        drained(site, hr, store)  # the worker sends, the courier applies and confirms every command
        key = load_or_create(data_key_path(site.devices[BOOTH].state_dir), sealed_rows=store.sealed_rows)
        held = candidate_templates.load(store, key, "C-100")
        assert held is not None and held[0] == parts.model and len(held[1]) == 1
        applied = store.conn.execute("SELECT count(*) FROM booth_candidate_templates").fetchone()[0]
        assert applied == 1

        folder = tmp_path / "camera"
        folder.mkdir()
        for photo in photos[1:5]:
            shutil.copy(photo, folder / photo.name)
        assert parts.same_person_threshold is not None
        identity = IdentityCheck(
            camera=LockedCamera(ImageFolderCamera(folder, paced=False, loop=True, frames_per_image=1)),
            probe=PipelineProbe(parts.pipeline), model=parts.model, threshold=parts.same_person_threshold,
            templates=lambda cid: candidate_templates.load(store, key, cid), frames=12, every_seconds=0.0,
        )
        booth = make_booth(store, tmp_path, answers, settings=BoothSection(identity_check=True, self_report=False))
        booth.identity = identity
        booth.check_in("C-100")
        booth.consent("en")
        booth.type_instead()
        booth.submit_typed("I called the customer back the same day and fixed the order.")
        booth.end_session()
        booth.wait_finished()
        booth.close()
        assert booth.session is not None
        session_id = booth.session.session_id
        body = json.loads(store.conn.execute("SELECT body FROM outbox WHERE type = 'interview-result'").fetchone()[0])
        assert body["integrity_flags"] == [MATCH]
        drained(site, hr, store)

    with TestClient(create_app(site.server_config(), hr)) as client:
        report = client.get(f"/api/interviews/{session_id}", headers=hr_token).json()
        assert report["integrity_flags"] == [MATCH]
        client.cookies.set(TOKEN_COOKIE, create_token(hr, "hr"))
        page = client.get(f"/interviews/{session_id}")
        assert page.status_code == 200 and f'<span class="flag">{MATCH}</span>' in page.text  # not styled as a fault
