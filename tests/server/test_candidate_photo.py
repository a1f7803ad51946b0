"""A candidate's registered photo on the HR server with the devices' real face pipeline on real LFW photos:
only sealed templates are kept, the upload is audited, a candidate-templates command goes to the candidate's
booth (and follows a move), and deletion or erasure removes the templates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from sync.protocol import CandidateTemplatesBody
from sync.server.api import create_app
from sync.server.config import ServerConfig
from sync.server.enrolment import EmbedderParts, real_embedder_parts
from sync.server.ingest_downlinks import command_body, store_candidates
from sync.server.store import HRStore, audit, candidate_templates, downlinks, templates
from tests.attendance.real_vision import lfw_people, requires_vision
from tests.server.builders import bearer, register

pytestmark = requires_vision


@pytest.fixture(scope="module")
def parts() -> EmbedderParts:
    return real_embedder_parts()


@pytest.fixture
def client(store: HRStore, tmp_path: Path, parts: EmbedderParts) -> Iterator[TestClient]:
    config = ServerConfig.model_validate({"server": {"state_dir": str(tmp_path / "server")}, "broker": {"tls": False}})
    with TestClient(create_app(config, store, embedder_parts=lambda: parts)) as c:
        yield c


def _candidate(candidate_id: str, device_id: str | None) -> dict[str, object]:
    return {"candidate_id": candidate_id, "name": "Li Wei", "role_id": "backend-dev", "question_bank_id": "bank-2",
            "window_start": "2099-03-03T09:00:00+08:00", "window_end": "2099-03-03T12:00:00+08:00",
            "device_id": device_id}  # fmt: skip


def _queued(store: HRStore, device_id: str, key: object) -> list[CandidateTemplatesBody]:
    rows = [r for r in downlinks.pending(store, device_id) if r["type"] == "candidate-templates"]
    bodies = [command_body(r, candidates=store_candidates(store, key)) for r in rows]  # type: ignore[arg-type]
    return [b for b in bodies if isinstance(b, CandidateTemplatesBody)]


def test_photo_kept_as_sealed_templates_sent_to_the_booth_and_removed_on_move_delete_and_erasure(
    client: TestClient, store: HRStore, tmp_path: Path, parts: EmbedderParts
) -> None:
    [(_, images)] = lfw_people(min_images=2, max_images=30, count=1)
    hr = bearer(store, "hr")
    register(store, "booth-1")
    register(store, "booth-2")
    assert client.post("/api/candidates", json=_candidate("C-1", "booth-1"), headers=hr).status_code == 201
    photo = ("photos", (images[0].name, images[0].read_bytes(), "image/jpeg"))

    # Role and consent first: no photo read without them.
    assert client.post("/api/candidates/C-1/photo", files=[photo], data={"consent_text_version": "v1"},
                       headers=bearer(store, "readonly")).status_code == 403  # fmt: skip
    assert client.post("/api/candidates/C-1/photo", files=[photo], headers=hr).status_code == 422
    assert client.post("/api/candidates/C-9/photo", files=[photo], data={"consent_text_version": "v1"},
                       headers=hr).status_code == 404  # fmt: skip
    with store.db.read() as tx:
        assert candidate_templates.count(tx, "C-1") == 0

    reply = client.post("/api/candidates/C-1/photo", files=[photo, ("photos", ("x.txt", b"no", "text/plain"))],
                        data={"consent_text_version": "cand-v2"}, headers=hr)  # fmt: skip
    assert reply.status_code == 200, reply.text
    report = reply.json()
    assert report["registered"] and report["templates"] == 1 and report["templates_sent_to"] == "booth-1"
    assert [p["reason"] for p in report["photos"]] == [None, "unreadable"]

    key = templates.load_data_key(tmp_path / "server")
    with store.db.read() as tx:
        sealed = tx.execute("SELECT ciphertext FROM candidate_templates").all()
    assert len(sealed) == 1 and templates.sealed_rows(store) == 1
    [body] = _queued(store, "booth-1", key)
    [entry] = body.upserts
    fresh, _ = parts.pipeline.embed_image(cv2.imread(str(images[0])))
    assert fresh is not None and entry.model == parts.model
    assert float(np.frombuffer(entry.templates[0], dtype="<f4") @ fresh) > 0.999
    detail = audit.entries(store, "candidate:C-1")[0]
    assert detail["action"] == "candidate.photo" and detail["detail"]["consent_text_version"] == "cand-v2"
    assert detail["detail"]["booth"] == "booth-1" and detail["detail"]["templates"] == 1

    # A move: the new booth gets the templates, the old one a removal.
    moved = {k: v for k, v in _candidate("C-1", "booth-2").items() if k != "candidate_id"}
    assert client.put("/api/candidates/C-1", json=moved, headers=hr).status_code == 200
    [to_new] = _queued(store, "booth-2", key)
    assert [u.candidate_id for u in to_new.upserts] == ["C-1"] and to_new.removals == []
    assert _queued(store, "booth-1", key)[-1].removals == ["C-1"]

    # Deletion removes the templates and tells the booth; a queued upsert then carries nobody.
    assert client.delete("/api/candidates/C-1", headers=hr).status_code == 200
    assert templates.sealed_rows(store) == 0
    last = _queued(store, "booth-2", key)
    assert last[0].upserts == [] and last[-1].removals == ["C-1"]


def test_erasure_removes_the_templates(client: TestClient, store: HRStore) -> None:
    [(_, images)] = lfw_people(min_images=1, max_images=30, count=1)
    hr = bearer(store, "hr")
    register(store, "booth-1")
    assert client.post("/api/candidates", json=_candidate("C-2", "booth-1"), headers=hr).status_code == 201
    photo = ("photos", (images[0].name, images[0].read_bytes(), "image/jpeg"))
    assert client.post("/api/candidates/C-2/photo", files=[photo], data={"consent_text_version": "v1"},
                       headers=hr).json()["registered"]  # fmt: skip
    erased = client.post("/api/candidates/C-2/erasure", headers=hr)
    assert erased.status_code in (200, 201), erased.text
    with store.db.read() as tx:
        assert candidate_templates.count(tx, "C-2") == 0
    assert [r["type"] for r in downlinks.pending(store, "booth-1")][-2:] == ["erase", "candidates"]
