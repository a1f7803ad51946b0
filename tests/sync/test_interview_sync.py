"""Interviews end to end over a real mosquitto (TLS + ACL), a real ingest worker and a real device courier.

There is no booth yet: the test queues interview results in the device outbox with the outbox's own API,
as the booth will (one row per finished session, in the session's transaction). They travel encrypted,
HR's API shows the report, a session queued twice is stored once and a conflicting one is counted and
kept apart. Candidates set through HR's API reach the booth as candidates commands and replace its list.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from device.store import Store, open_store, outbox
from device.store import candidates as booth_candidates
from drills.chaos_site import Site, running_courier, running_worker, wait_for
from fleet.broker import Mosquitto
from sync.protocol import InterviewResultBody
from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.store import HRStore, records
from tests.server.interview_builders import EVIDENCE, TRANSCRIPT, interview_body

BOOTH = "site1-gate-a"  # the site's one device, acting as a booth


@contextmanager
def booth_store(site: Site) -> Iterator[Store]:
    with closing(open_store(site.devices[BOOTH].database, check_same_thread=False)) as store:
        yield store


def unconfirmed(hr: HRStore) -> int:
    with hr.db.read() as tx:
        return int(tx.execute("SELECT count(*) FROM downlinks WHERE confirmed_at IS NULL").scalar())


def test_a_booths_result_reaches_the_hr_report_once_and_a_conflicting_one_is_counted(
    site: Site, site_broker: Mosquitto, hr: HRStore
) -> None:
    first = InterviewResultBody.model_validate(interview_body("S-1"))
    changed = InterviewResultBody.model_validate(interview_body("S-1", score=1.0))
    with booth_store(site) as store:
        with store.transaction() as conn:
            for body in (first, first, changed):  # queued twice by a retrying booth, then other scores
                outbox.enqueue(conn, "S-1", body, created_at_ms=body.completed_ms, clock_synced=True)
        with running_worker(site), running_courier(site, BOOTH, ack_timeout_seconds=1.0):
            wait_for(lambda: outbox.backlog(store) == 0, "the booth's outbox to drain")
    headers = {"Authorization": f"Bearer {create_token(hr, 'hr')}"}
    with TestClient(create_app(site.server_config(), hr)) as client:
        listed = client.get("/api/interviews", headers=headers).json()["interviews"]
        report = client.get("/api/interviews/S-1", headers=headers).json()
    assert [s["session_id"] for s in listed] == ["S-1"]
    assert report["device_id"] == BOOTH and report["seq"] == 1 and report["consent_id"] == "consent-C-1"
    assert report["answers"][0]["transcript"] == TRANSCRIPT and report["scores"][0]["evidence"] == [EVIDENCE]
    assert report["scores"][0]["score"] == 4.0  # the first result, never the conflicting one
    assert [(c["device_id"], c["seq"]) for c in report["conflicts"]] == [(BOOTH, 3)]
    counted = {r["reason"]: r["count"] for r in records.rejection_counts(hr) if r["device_id"] == BOOTH}
    assert counted["replay"] == 1 and counted["duplicate"] >= 1  # (+ transport resends, if any)
    with hr.db.read() as tx:
        assert tx.execute("SELECT count(*) FROM interview_answers").scalar() == 2


def test_candidates_set_through_the_api_reach_the_booth_and_replace_its_list(
    site: Site, site_broker: Mosquitto, hr: HRStore
) -> None:
    soon = datetime.now(UTC) + timedelta(days=1)

    def candidate(candidate_id: str, name: str, hours: int) -> dict[str, object]:
        start = soon + timedelta(hours=hours)
        return {"candidate_id": candidate_id, "name": name, "role_id": "backend-dev", "question_bank_id": "bank-2",
                "window_start": start.isoformat(), "window_end": (start + timedelta(hours=2)).isoformat(),
                "device_id": BOOTH}  # fmt: skip

    headers = {"Authorization": f"Bearer {create_token(hr, 'hr')}"}
    with TestClient(create_app(site.server_config(), hr)) as client, booth_store(site) as store:
        for body in (candidate("C-1", "Li Wei", 0), candidate("C-2", "王芳", 3)):
            assert client.post("/api/candidates", json=body, headers=headers).status_code == 201
        with running_worker(site), running_courier(site, BOOTH, ack_timeout_seconds=1.0):
            wait_for(lambda: unconfirmed(hr) == 0, "the booth to confirm its candidate lists")
            on_booth = booth_candidates.current(store, now_ms=int(datetime.now(UTC).timestamp() * 1000))
            assert [(c.candidate_id, c.name, c.question_bank_id) for c in on_booth] == [
                ("C-1", "Li Wei", "bank-2"), ("C-2", "王芳", "bank-2")]  # fmt: skip
            assert on_booth[0].valid_until_ms == int((soon + timedelta(hours=2)).timestamp() * 1000)

            assert client.delete("/api/candidates/C-1", headers=headers).status_code == 200
            wait_for(lambda: unconfirmed(hr) == 0, "the booth to confirm its new list")
            assert [c.candidate_id for c in booth_candidates.current(store)] == ["C-2"]
        applied = store.conn.execute(
            "SELECT command_seq, outcome FROM downlink_commands WHERE type = 'candidates' ORDER BY command_seq"
        ).fetchall()
    assert [outcome for _, outcome in applied] == ["applied", "applied", "applied"]
