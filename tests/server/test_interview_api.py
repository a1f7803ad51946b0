"""The HR API's interview routes over a real store (SQLite and PostgreSQL): roles, candidates whose every
change queues the booth's whole list as a candidates command, sessions by date/role/booth, the report, the
score CSV, erasure, and an OpenAPI description on every route."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from sync.protocol import CandidatesBody
from sync.server.ingest_downlinks import command_body
from sync.server.store import HRStore, devices, downlinks, records
from tests.server.builders import BASE_MS, bearer, register
from tests.server.interview_builders import EVIDENCE, TRANSCRIPT, interview_record

DAY_MS = 86_400_000


def booth_lists(store: HRStore, device_id: str) -> list[CandidatesBody]:
    """The candidates commands queued for a booth, as the ingest worker will send them."""
    bodies = [command_body(row) for row in downlinks.pending(store, device_id) if row["type"] == "candidates"]
    assert all(isinstance(b, CandidatesBody) for b in bodies)
    return [b for b in bodies if isinstance(b, CandidatesBody)]


def candidate(candidate_id: str, device_id: str | None, start: str = "2026-03-03T09:00:00+08:00",
              end: str = "2026-03-03T12:00:00+08:00", name: str = "Li Wei") -> dict[str, object]:  # fmt: skip
    return {"candidate_id": candidate_id, "name": name, "role_id": "backend-dev", "question_bank_id": "bank-2",
            "window_start": start, "window_end": end, "device_id": device_id}  # fmt: skip


def test_interviews_and_candidates_are_for_hr_and_admin_only(client: TestClient, store: HRStore) -> None:
    for role in ("readonly", "it"):
        headers = bearer(store, role)
        for path in ("/api/interviews", "/api/candidates", "/api/interviews/S-1",
                     "/api/interviews.csv?from=2026-03-01&to=2026-03-31"):  # fmt: skip
            assert client.get(path, headers=headers).status_code == 403, (role, path)
        assert client.post("/api/candidates", json=candidate("C-1", None), headers=headers).status_code == 403
    assert client.get("/api/interviews").status_code == 401
    for role in ("hr", "admin"):
        assert client.get("/api/interviews", headers=bearer(store, role)).json() == {"interviews": []}


def test_every_candidate_change_sends_the_booth_its_whole_upcoming_list(client: TestClient, store: HRStore) -> None:
    hr = bearer(store, "hr")
    register(store, "booth-1")
    register(store, "booth-2")
    reply = client.post("/api/candidates", json=candidate("C-1", "booth-1"), headers=hr)
    assert reply.status_code == 201, reply.text
    assert reply.json()["list_sent_to"] == {"booth-1": 1} and reply.json()["window_end"] == "2026-03-03T12:00:00+08:00"
    later = candidate("C-2", "booth-1", start="2026-03-04T09:00:00+08:00", end="2026-03-04T10:00:00+08:00",
                      name="王芳")  # fmt: skip
    assert client.post("/api/candidates", json=later, headers=hr).status_code == 201
    # A window that ended already (the server's clock says 2026-03-02 17:00 +08:00) is kept but not sent.
    past = candidate("C-0", "booth-1", start="2026-03-01T09:00:00+08:00", end="2026-03-01T10:00:00+08:00")
    assert client.post("/api/candidates", json=past, headers=hr).status_code == 201
    [first, second, third] = booth_lists(store, "booth-1")
    assert [c.candidate_id for c in first.candidates] == ["C-1"]
    assert [c.candidate_id for c in third.candidates] == ["C-1", "C-2"]
    c1 = third.candidates[0]
    assert (c1.name, c1.role_id, c1.question_bank_id) == ("Li Wei", "backend-dev", "bank-2")
    assert c1.valid_until_ms == BASE_MS + DAY_MS + 3 * 3_600_000  # 2026-03-03 12:00 +08:00
    assert third.candidates[1].name == "王芳" and second.command_seq < third.command_seq

    # Moving C-1 to booth 2: both booths get their new lists.
    moved = {k: v for k, v in candidate("C-1", "booth-2").items() if k != "candidate_id"}
    reply = client.put("/api/candidates/C-1", json=moved, headers=hr)
    assert reply.status_code == 200, reply.text
    assert set(reply.json()["list_sent_to"]) == {"booth-1", "booth-2"}
    assert [c.candidate_id for c in booth_lists(store, "booth-1")[-1].candidates] == ["C-2"]
    assert [c.candidate_id for c in booth_lists(store, "booth-2")[-1].candidates] == ["C-1"]
    # Deleting C-2 empties booth 1's list (an empty list is a list: the booth drops C-2).
    assert client.delete("/api/candidates/C-2", headers=hr).json()["list_sent_to"] == {"booth-1": 5}
    assert booth_lists(store, "booth-1")[-1].candidates == []
    listed = client.get("/api/candidates", params={"device_id": "booth-2"}, headers=hr).json()["candidates"]
    assert [c["candidate_id"] for c in listed] == ["C-1"]
    assert client.get("/api/candidates/C-2", headers=hr).status_code == 404
    # Times without an offset are the server's local time (Asia/Shanghai here).
    naive = candidate("C-3", None, start="2026-03-05T09:00:00", end="2026-03-05T10:00:00")
    reply = client.post("/api/candidates", json=naive, headers=hr)
    assert reply.json()["window_start"] == "2026-03-05T09:00:00+08:00" and reply.json()["list_sent_to"] == {}


def test_bad_candidates_are_refused_with_a_reason(client: TestClient, store: HRStore) -> None:
    hr = bearer(store, "hr")
    register(store, "booth-1")
    reply = client.post("/api/candidates", json=candidate("C 1", "booth-1"), headers=hr)
    assert reply.status_code == 422 and reply.json()["error"] == "invalid-request"
    backwards = candidate("C-1", "booth-1", start="2026-03-03T12:00:00+08:00", end="2026-03-03T09:00:00+08:00")
    reply = client.post("/api/candidates", json=backwards, headers=hr)
    assert reply.status_code == 400 and "window" in reply.json()["message"]
    assert client.post("/api/candidates", json=candidate("C-1", "booth-9"), headers=hr).status_code == 404
    assert client.post("/api/candidates", json=candidate("C-1", "booth-1"), headers=hr).status_code == 201
    assert client.post("/api/candidates", json=candidate("C-1", "booth-1"), headers=hr).status_code == 409
    devices.revoke(store, "booth-1", "it")
    assert client.post("/api/candidates", json=candidate("C-2", "booth-1"), headers=hr).status_code == 409
    assert len(booth_lists(store, "booth-1")) == 1  # refused changes queued nothing


def test_sessions_by_range_role_and_booth_the_report_and_the_score_csv(client: TestClient, store: HRStore) -> None:
    hr = bearer(store, "hr")
    register(store, "booth-1")
    assert client.post("/api/candidates", json=candidate("C-1", "booth-1"), headers=hr).status_code == 201
    records.ingest(store, "booth-1", [interview_record(1, session_id="S-1"),
                             interview_record(2, session_id="S-2", candidate_id="C-2", role_id="qa",
                                              completed_ms=BASE_MS + 2 * DAY_MS)])  # fmt: skip
    records.ingest(store, "booth-2", [interview_record(1, session_id="S-3", completed_ms=BASE_MS + 5 * DAY_MS)])

    def ids(**params: str) -> list[str]:
        reply = client.get("/api/interviews", params=params, headers=hr)
        assert reply.status_code == 200, reply.text
        return [s["session_id"] for s in reply.json()["interviews"]]

    assert ids() == ["S-3", "S-2", "S-1"]  # newest first
    assert ids(**{"from": "2026-03-02", "to": "2026-03-04"}) == ["S-2", "S-1"]
    assert ids(role_id="qa") == ["S-2"] and ids(device_id="booth-2") == ["S-3"] and ids(candidate_id="C-1") == [
        "S-3", "S-1"]  # fmt: skip
    summary = client.get("/api/interviews", params={"role_id": "backend-dev", "device_id": "booth-1"},
                         headers=hr).json()["interviews"][0]  # fmt: skip
    assert summary["candidate_name"] == "Li Wei" and "answers" not in summary

    report = client.get("/api/interviews/S-1", headers=hr).json()
    assert report["answers"][0]["transcript"] == TRANSCRIPT and report["scores"][0]["evidence"] == [EVIDENCE]
    assert report["consent_id"] == "consent-C-1" and report["device_id"] == "booth-1"
    assert client.get("/api/interviews/S-404", headers=hr).status_code == 404

    reply = client.get("/api/interviews.csv", params={"from": "2026-03-02", "to": "2026-03-04"}, headers=hr)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    text = reply.content.decode("utf-8")
    assert text.startswith("\ufeff") and TRANSCRIPT not in text and EVIDENCE not in text
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [(r["session_id"], r["competency"], r["score"]) for r in rows] == [
        ("S-1", "ownership", "4"), ("S-1", "communication", "3.5"),
        ("S-2", "ownership", "4"), ("S-2", "communication", "3.5")]  # fmt: skip
    assert rows[0]["candidate_name"] == "Li Wei" and rows[0]["completed_at"] == "2026-03-02T10:00:00+08:00"

    assert client.delete("/api/interviews/S-1", headers=bearer(store, "readonly")).status_code == 403
    assert client.delete("/api/interviews/S-1", headers=hr).json()["erased"] is True
    assert client.get("/api/interviews/S-1", headers=hr).status_code == 404
    assert ids() == ["S-3", "S-2"]


def test_every_interview_route_is_described_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    routes = {path: ops for path, ops in paths.items() if path.startswith(("/api/interviews", "/api/candidates"))}
    assert set(routes) == {"/api/interviews", "/api/interviews.csv", "/api/interviews/{session_id}",
                           "/api/candidates", "/api/candidates/{candidate_id}",
                           # HR's review side (issue 17): demographics, export, erasure
                           "/api/candidates/{candidate_id}/demographics", "/api/candidates/{candidate_id}/export",
                           "/api/candidates/{candidate_id}/export.html",
                           "/api/candidates/{candidate_id}/erasure",
                           "/api/candidates/{candidate_id}/photo"}  # issue 16: the registered photo  # fmt: skip
    for path, ops in routes.items():
        for method, op in ops.items():
            assert op.get("description"), (method, path)
