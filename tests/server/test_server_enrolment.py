"""Server-side enrolment from photos with the devices' real face pipeline on real LFW photos: the per-photo
report, templates sealed at rest (never the photos), consent in the audit log, the gallery downlink queued
for the employee's devices, and erasure removing the templates."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from sync.server.api import create_app
from sync.server.config import ServerConfig
from sync.server.enrolment import EmbedderParts, real_embedder_parts
from sync.server.ingest_downlinks import command_body, store_gallery
from sync.server.store import HRStore, audit, devices, downlinks, employees, templates
from tests.attendance.real_vision import lfw_people, requires_vision
from tests.server.builders import bearer, register

pytestmark = requires_vision

@pytest.fixture(scope="module")
def parts() -> EmbedderParts:
    return real_embedder_parts()  # the real models, loaded once for the module


@pytest.fixture
def client(store: HRStore, tmp_path: Path, parts: EmbedderParts) -> Iterator[TestClient]:
    config = ServerConfig.model_validate({"server": {"state_dir": str(tmp_path / "server")}, "broker": {"tls": False}})
    with TestClient(create_app(config, store, embedder_parts=lambda: parts)) as c:
        yield c


def test_upload_reports_each_photo_stores_sealed_templates_and_queues_the_gallery(
    client: TestClient, store: HRStore, tmp_path: Path, parts: EmbedderParts
) -> None:
    [(person, images)] = lfw_people(min_images=4, max_images=30, count=1)
    hr = bearer(store, "hr")
    assert client.post("/api/employees", json={"employee_no": "E1", "name": person}, headers=hr).status_code == 201
    register(store, "gate-1")
    register(store, "gate-2")
    devices.assign(store, "gate-1", ["E1"], "it")
    before = [d["command_seq"] for d in downlinks.pending(store, "gate-1")]

    sharp = cv2.imdecode(np.frombuffer(images[0].read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    blurred = cv2.GaussianBlur(sharp, (0, 0), sigmaX=max(sharp.shape[:2]) / 60)
    files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in images[:4]]
    files += [("photos", ("blurred.jpg", cv2.imencode(".jpg", blurred)[1].tobytes(), "image/jpeg")),
              ("photos", ("notes.txt", b"not a photo", "text/plain"))]
    reply = client.post("/api/employees/E1/photos", files=files, data={"consent_text_version": "consent-v3"},
                        headers=hr)
    assert reply.status_code == 200, reply.text
    report = reply.json()
    verdicts = {p["name"]: p["reason"] for p in report["photos"]}
    assert verdicts["notes.txt"] == "unreadable" and verdicts["blurred.jpg"] == "blurred"
    good = [name for name, reason in verdicts.items() if reason is None]
    assert set(good) <= {p.name for p in images[:4]} and len(good) >= 3
    assert report["enrolled"] and report["templates"] == len(good) and report["model"] == parts.model
    assert report["gallery_sent_to"] == ["gate-1"]  # only the device the employee is assigned to

    # Stored: templates only, sealed; they decrypt to the embedding of the same photo.
    assert templates.counts(store, "E1") == {parts.model: len(good)}
    key = templates.load_data_key(tmp_path / "server")
    model, stored = templates.load(store, key, ["E1"])["E1"]
    first = np.frombuffer(stored[0], dtype="<f4")
    fresh, _ = parts.pipeline.embed_image(sharp)
    assert fresh is not None and float(first @ fresh) > 0.999
    with store.db.read() as tx:
        sealed = [base64.b64decode(r[0]) for r in tx.execute("SELECT ciphertext FROM face_templates").all()]
    assert all(stored[0][:64] not in s for s in sealed)  # not plaintext at rest

    # Consent version and counts in the audit log; a gallery command with the templates for gate-1.
    entry = audit.entries(store, "employee:E1")[0]
    assert entry["action"] == "employee.enrol-photos" and entry["detail"]["consent_text_version"] == "consent-v3"
    new = [d for d in downlinks.pending(store, "gate-1") if d["command_seq"] not in before]
    assert [d["type"] for d in new] == ["gallery"] and downlinks.pending(store, "gate-2") == []
    body = command_body(new[0], store_gallery(store, key))
    assert [e.employee_no for e in body.upserts] == ["E1"] and body.upserts[0].templates == stored

    # Assigning the enrolled employee to another device sends their templates there too.
    devices.assign(store, "gate-2", ["E1"], "it")
    [assigned] = downlinks.pending(store, "gate-2")
    assert command_body(assigned, store_gallery(store, key)).upserts[0].templates == stored
    # Without the data key the worker refuses to send it rather than send it without templates.
    with pytest.raises(Exception, match="no data key"):
        command_body(assigned, store_gallery(store, None))

    # Erasure removes the templates at once.
    assert client.delete("/api/employees/E1", headers=hr).status_code == 200
    assert templates.counts(store, "E1") == {}


def test_consent_role_and_too_few_good_photos(client: TestClient, store: HRStore) -> None:
    [(person, images)] = lfw_people(min_images=1, max_images=1, count=1)
    hr = bearer(store, "hr")
    employees.create(store, "E2", person, "hr")
    files = [("photos", (images[0].name, images[0].read_bytes(), "image/jpeg"))]
    no_consent = client.post("/api/employees/E2/photos", files=files, headers=hr)
    assert no_consent.status_code == 422 and "consent_text_version" in no_consent.json()["message"]
    data = {"consent_text_version": "v1"}
    readonly = client.post("/api/employees/E2/photos", files=files, data=data, headers=bearer(store, "readonly"))
    assert readonly.status_code == 403
    unknown = client.post("/api/employees/NOPE/photos", files=files, data=data, headers=hr)
    assert unknown.status_code == 404
    reply = client.post("/api/employees/E2/photos", files=files, data=data, headers=bearer(store, "admin"))
    assert reply.status_code == 200
    assert reply.json()["enrolled"] is False and reply.json()["needed"] == 3
    assert templates.counts(store, "E2") == {}  # one good photo is not enough: nothing stored
