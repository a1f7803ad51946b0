"""HR's review of interviews over a real store (SQLite and PostgreSQL): evidence, overrides (audited, the
booth's score kept, the overall and ranking recomputed), shortlist decisions, demographics kept apart, the
bias audit, retention, and a candidate's export and erasure reaching the booths' downlink."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sync.server.ingest_downlinks import command_body
from sync.server.store import HRStore, audit, downlinks
from tests.server.builders import BASE_MS, bearer, register
from tests.server.review_builders import ingest_sessions, overall_of, session_body

DAY_MS = 86_400_000


def seed(store: HRStore) -> None:
    register(store, "booth-1")
    ingest_sessions(store, "booth-1", [
        session_body("S-1", "C-1", scores=(4.0, 3.0, 4.0)),
        session_body("S-2", "C-2", scores=(3.0, 5.0, 5.0), flags=["second-face"]),
        session_body("S-3", "C-3", scores=(2.0, 2.0, 3.0)),
    ])  # fmt: skip


def test_review_shows_evidence_and_an_override_is_audited_and_reranks(client: TestClient, store: HRStore) -> None:
    seed(store)
    reviewer = bearer(store, "reviewer")
    board = client.get("/api/review/roles/backend-dev", headers=reviewer).json()["candidates"]
    # C-1: 100*(2*.8+.6+.8)/4 = 75; C-2: (2*.6+1+1)/4 = 80; C-3: (2*.4+.4+.6)/4 = 45
    assert [(c["candidate_id"], c["overall"], c["rank"]) for c in board] == [
        ("C-2", 80.0, 1), ("C-1", 75.0, 2), ("C-3", 45.0, 3)]  # fmt: skip
    assert overall_of((4.0, 3.0, 4.0)) == 75.0
    report = client.get("/api/review/interviews/S-1", headers=reviewer).json()
    ownership = report["scores"][0]
    assert ownership["competency"] == "ownership" and ownership["weight"] == 2.0
    evidence = ownership["evidence"]
    assert evidence["matches"][0]["kind"] == "anchor" and evidence["matches"][0]["level"] == 4
    assert [k["covered"] for k in evidence["key_points"]] == [True, False]
    assert evidence["subscores"]["anchors"] == 0.8 and report["delivery"]["words_per_minute"] == 131.0
    assert report["overall"] == 75.0 and len(report["answers"]) == 3

    why = "Clear answer; the booth missed it"
    change = {"competency": "communication", "score": 5, "reason": why}
    reply = client.post("/api/review/interviews/S-1/overrides", headers=reviewer, json=change)
    assert reply.status_code == 201, reply.text
    assert reply.json()["overall"] == 85.0 and reply.json()["before"] == 3.0
    after = client.get("/api/review/interviews/S-1", headers=reviewer).json()
    communication = after["scores"][1]
    assert (communication["original_score"], communication["score"], communication["overridden"]) == (3.0, 5.0, True)
    [entry] = [e for e in after["audit"] if e["action"] == "interview.override"]
    assert entry["detail"] == {"competency": "communication", "before": 3.0, "after": 5.0, "original": 3.0,
                               "reason": "Clear answer; the booth missed it"}  # fmt: skip
    assert entry["actor"].startswith("token:")
    board = client.get("/api/review/roles/backend-dev", headers=reviewer).json()["candidates"]
    assert [c["candidate_id"] for c in board] == ["C-1", "C-2", "C-3"] and board[0]["overridden"]

    for bad in ({"competency": "communication", "score": 6, "reason": "x"},
                {"competency": "communication", "score": 4, "reason": "  "},
                {"competency": "charisma", "score": 4, "reason": "x"}):  # fmt: skip
        assert client.post("/api/review/interviews/S-1/overrides", headers=reviewer, json=bad).status_code in (
            400,
            404,
            422,
        )


def test_a_shortlist_decision_is_a_persons_with_a_reason(client: TestClient, store: HRStore) -> None:
    seed(store)
    reviewer = bearer(store, "reviewer")
    advance = {"role_id": "backend-dev", "decision": "advance", "reason": "Strong evidence"}
    reply = client.post("/api/review/candidates/C-2/decision", headers=reviewer, json=advance)
    assert reply.status_code == 201 and reply.json()["actor"].startswith("token:")
    board = client.get("/api/review/roles/backend-dev", headers=reviewer).json()["candidates"]
    assert {c["candidate_id"]: c["status"] for c in board} == {
        "C-1": "interviewed",
        "C-2": "advance",
        "C-3": "interviewed",
    }
    hold = {"role_id": "backend-dev", "decision": "hold", "reason": "x"}
    assert client.post("/api/review/candidates/C-9/decision", headers=reviewer, json=hold).status_code == 404
    assert audit.entries(store, "candidate:C-2")[0]["detail"]["decision"] == "advance"


def test_demographics_are_for_auditors_and_the_bias_audit_flags_the_group(client: TestClient, store: HRStore) -> None:
    register(store, "booth-1")
    # Ten candidates for "sales": 5 women (1 advanced: 0.2) and 5 men (4 advanced: 0.8): impact 0.25, flagged.
    bodies = [session_body(f"S-{i}", f"C-{i}", "sales", scores=(float(1 + i % 5), 3.0, 3.0)) for i in range(10)]
    ingest_sessions(store, "booth-1", bodies)
    hr, auditor, reviewer = bearer(store, "hr"), bearer(store, "auditor"), bearer(store, "reviewer")
    for i in range(10):
        sex = "female" if i < 5 else "male"
        reply = client.put(f"/api/candidates/C-{i}/demographics", headers=hr, json={"answers": {"sex": sex}})
        assert reply.json() == {"candidate_id": f"C-{i}", "recorded": ["sex"]}  # HR records, never reads back
        advanced = i == 0 or i >= 6
        decision = {"role_id": "sales", "decision": "advance" if advanced else "reject", "reason": "panel"}
        client.post(f"/api/review/candidates/C-{i}/decision", headers=reviewer, json=decision)
    assert client.get("/api/candidates/C-1/demographics", headers=hr).status_code == 403
    assert client.get("/api/candidates/C-1/demographics", headers=bearer(store, "admin")).status_code == 403
    assert client.get("/api/candidates/C-1/demographics", headers=auditor).json()["answers"] == {"sex": "female"}
    assert "demographics" not in str(client.get("/api/review/interviews/S-1", headers=reviewer).json()["audit"])

    result = client.get("/api/bias-audit?role_id=sales", headers=auditor).json()
    assert (result["total"], result["selected"]) == (10, 5)
    sex = {r["category"]: r for r in result["tables"][0]["rows"]}
    assert sex["female"]["selection_rate"] == 0.2 and sex["male"]["selection_rate"] == 0.8
    assert sex["female"]["selection_impact_ratio"] == 0.25 and sex["female"]["flagged_selection"]
    assert sex["other"]["count"] == 0 and sex["other"]["selection_rate"] is None
    assert result["tables"][1]["unknown"] == 10  # nobody reported an ethnicity
    assert "median" in result["method"]["scoring_rate"]
    text = client.get("/api/bias-audit.csv?role_id=sales", headers=auditor).text
    assert text.startswith("\ufeffrole_id,from,to,dimension,category") and "sales,,,sex,female,5,0.5,1,0.2,0.25" in text
    assert client.get("/api/bias-audit?role_id=sales", headers=reviewer).status_code == 403


def test_retention_erases_sessions_past_their_sites_policy_and_counts_them(client: TestClient, store: HRStore) -> None:
    register(store, "booth-1")  # site HQ; the store's clock is 2026-03-02
    ingest_sessions(store, "booth-1", [
        session_body("S-old", "C-1", completed_ms=BASE_MS - 40 * DAY_MS),
        session_body("S-new", "C-2", completed_ms=BASE_MS - 5 * DAY_MS),
    ])  # fmt: skip
    admin = bearer(store, "admin")
    assert client.put("/api/retention/policies/HQ", headers=admin,
                      json={"audio_days": 7, "transcript_days": 30}).status_code == 200  # fmt: skip
    policies = {p["site"]: p for p in client.get("/api/retention/policies", headers=admin).json()["policies"]}
    assert policies["HQ"]["transcript_days"] == 30 and policies["*"]["audio_days"] == 30
    run = client.post("/api/retention/run", headers=admin).json()
    assert (run["sessions"], run["answers"], run["scores"], run["records"]) == (1, 3, 3, 1)
    assert client.get("/api/review/interviews/S-old", headers=admin).status_code == 404
    assert client.get("/api/review/interviews/S-new", headers=admin).status_code == 200
    assert client.get("/api/retention/runs", headers=admin).json()["runs"][0]["sessions"] == 1
    assert client.post("/api/retention/run", headers=admin).json()["sessions"] == 0
    hr = bearer(store, "hr")  # HR reads the policies and the deletion log; only an admin changes a policy
    assert client.get("/api/retention/runs", headers=hr).json()["runs"][0]["sessions"] == 0
    assert client.put("/api/retention/policies/HQ", headers=hr, json={"audio_days": 1}).status_code == 403
    sent = client.get("/api/retention/policies", headers=hr).json()["devices"]["booth-1"]
    assert sent["body"] == {"audio_days": 7, "transcript_days": 30} and sent["confirmed_at"] is None


def test_export_then_erasure_reaches_the_booth_and_is_confirmed(client: TestClient, store: HRStore) -> None:
    seed(store)
    hr, auditor = bearer(store, "hr"), bearer(store, "auditor")
    client.put("/api/candidates/C-1/demographics", headers=auditor, json={"answers": {"sex": "female"}})
    client.post("/api/review/candidates/C-1/decision", headers=hr,
                json={"role_id": "backend-dev", "decision": "hold", "reason": "second opinion"})  # fmt: skip
    data = client.get("/api/candidates/C-1/export", headers=hr).json()
    assert [s["session_id"] for s in data["sessions"]] == ["S-1"] and data["sessions"][0]["answers"]
    assert data["decisions"][0]["decision"] == "hold"
    assert data["demographics"] is None and data["demographics_held"] == 1  # HR's export: held, not shown
    assert client.get("/api/candidates/C-1/export", headers=bearer(store, "admin")).json()["demographics"] == {
        "sex": "female"}  # fmt: skip
    page = client.get("/api/candidates/C-1/export.html?lang=en", headers=hr)
    assert page.status_code == 200 and "I wrote the rollback plan myself" in page.text

    erased = client.post("/api/candidates/C-1/erasure", headers=hr).json()
    assert erased["counts"]["sessions"] == 1 and erased["counts"]["demographics"] == 1
    assert erased["counts"]["decisions"] == 1 and not erased["confirmed"]
    [command] = [r for r in downlinks.pending(store, "booth-1") if r["type"] == "erase"]
    body = command_body(command)
    assert body.model_dump()["employee_nos"] == ["C-1"] and body.model_dump()["erasure_id"] == erased["erasure_id"]
    assert client.get("/api/review/interviews/S-1", headers=hr).status_code == 404
    assert client.get("/api/candidates/C-1/export", headers=hr).status_code == 404
    assert "C-1" not in [
        c["candidate_id"] for c in client.get("/api/review/roles/backend-dev", headers=hr).json()["candidates"]
    ]
    downlinks.confirm(store, "booth-1", [command["command_seq"]])  # the booth's ack-downlink
    assert client.get(f"/api/erasures/{erased['erasure_id']}", headers=hr).json()["confirmed"] is True
