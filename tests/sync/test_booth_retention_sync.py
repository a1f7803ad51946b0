"""Issue 17 over the real protocol path (booth store -> courier -> mosquitto with TLS and ACLs -> ingest worker):
a candidate's self-report at the booth reaches the table HR's entries go to, readable by auditors only, and
leaves the booth once acknowledged; a site's retention policy reaches the booth as a ``retention-policy``
command, applied and confirmed; the booth's retention runs come back as ``retention-run`` records and show
on HR's retention page beside the server's own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from core.clock import FakeClock
from device.booth import demographics
from device.booth.retention import enforce
from device.config.booth import BoothSection
from device.store import Store, open_store, outbox, retention_policy
from drills.chaos_site import Site, running_courier, running_worker, wait_for
from fleet.broker import Mosquitto
from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.pages.common import TOKEN_COOKIE
from sync.server.store import HRStore
from tests.booth.conftest import add_candidate, answers, make_booth  # noqa: F401 - answers is a fixture

BOOTH = "site1-gate-a"  # the site's one device, acting as a booth (site "drill")


@contextmanager
def booth_store(site: Site) -> Iterator[Store]:
    with closing(open_store(site.devices[BOOTH].database, check_same_thread=False)) as store:
        yield store


def interview(store: Store, tmp_path: Path, answers: Path, report: dict[str, str]) -> str:  # noqa: F811
    """A candidate checks in, consents, fills in the self-report, types one answer and ends."""
    booth = make_booth(store, tmp_path, answers)
    booth.check_in("C-100")
    booth.consent("zh-CN")
    demographics.submit(booth, report)
    booth.type_instead()
    booth.submit_typed("I called the customer back the same day and fixed the order.")
    booth.end_session()
    booth.wait_finished()
    booth.close()
    assert booth.session is not None
    return booth.session.session_id


def drained(site: Site, hr: HRStore, store: Store) -> None:
    def settled() -> bool:
        with hr.db.read() as tx:
            waiting = int(tx.execute("SELECT count(*) FROM downlinks WHERE confirmed_at IS NULL").scalar())
        return outbox.backlog(store) == 0 and waiting == 0

    with running_worker(site), running_courier(site, BOOTH, ack_timeout_seconds=1.0):
        wait_for(settled, "the booth's records stored and its commands confirmed")


def test_a_self_report_reaches_the_audit_table_only_and_leaves_the_booth(
    site: Site, site_broker: Mosquitto, hr: HRStore, tmp_path: Path, answers: Path  # noqa: F811
) -> None:
    with booth_store(site) as store:
        add_candidate(store)
        session_id = interview(store, tmp_path, answers, {"sex": "female", "ethnicity": "prefer-not-to-say"})
        drained(site, hr, store)
        kept = store.conn.execute("SELECT body FROM outbox WHERE type = 'candidate-demographics'").fetchone()[0]
        assert json.loads(kept)["answers"] == {}  # acknowledged, so gone from the booth
    auditor = {"Authorization": f"Bearer {create_token(hr, 'auditor')}"}
    hr_token = {"Authorization": f"Bearer {create_token(hr, 'hr')}"}
    with TestClient(create_app(site.server_config(), hr)) as client:
        held = client.get("/api/candidates/C-100/demographics", headers=auditor).json()
        assert held["answers"] == {"sex": "female", "ethnicity": "prefer-not-to-say"}
        assert {r["source"] for r in held["rows"]} == {"booth"}
        assert client.get("/api/candidates/C-100/demographics", headers=hr_token).status_code == 403
        report = client.get(f"/api/interviews/{session_id}", headers=hr_token)
        assert report.status_code == 200 and "female" not in report.text
        exported = client.get("/api/candidates/C-100/export", headers=hr_token).json()
        assert exported["demographics"] is None and exported["demographics_held"] == 2
    with hr.db.read() as tx:
        raw = tx.execute("SELECT body FROM records WHERE type = 'candidate-demographics'").scalar()
        assert json.loads(raw)["answers"] == {} and "female" not in json.dumps(tx.execute(
            "SELECT detail FROM audit_log WHERE action = 'demographics.record'").all())  # fmt: skip
    with TestClient(create_app(site.server_config(), hr)) as client:
        erased = client.post("/api/candidates/C-100/erasure", headers=hr_token).json()
        assert erased["counts"]["demographics"] == 2
        assert client.get("/api/candidates/C-100/demographics", headers=auditor).json()["answers"] == {}


def test_a_sites_policy_reaches_its_booth_and_the_booths_runs_reach_the_retention_page(
    site: Site, site_broker: Mosquitto, hr: HRStore, tmp_path: Path, answers: Path  # noqa: F811
) -> None:
    admin = create_token(hr, "admin")
    with TestClient(create_app(site.server_config(), hr)) as client:
        changed = client.put("/api/retention/policies/drill", headers={"Authorization": f"Bearer {admin}"},
                             json={"audio_days": 2, "transcript_days": 5, "reason": "works council agreement"})
        assert changed.status_code == 200
    with booth_store(site) as store:
        add_candidate(store)
        interview(store, tmp_path, answers, {})
        past = FakeClock(datetime.now(UTC) + timedelta(days=6))
        before = enforce(store, past, BoothSection(retention_days=1, transcript_retention_days=5))
        assert (before.policy, before.held_unsent) == ("config", 1)  # no policy yet; its result unsent: kept
        drained(site, hr, store)
        assert retention_policy.current(store) == retention_policy.Policy(2, 5, 1)  # the booth's first command
        run = enforce(store, past, BoothSection(retention_days=30, transcript_retention_days=365))
        assert (run.policy, run.transcript_sessions) == ("server", 1)  # the server's policy, not the config's
        drained(site, hr, store)
    hr_token = create_token(hr, "hr")
    with TestClient(create_app(site.server_config(), hr)) as client:
        booth_runs = client.get("/api/retention/booth-runs", headers={"Authorization": f"Bearer {hr_token}"})
        rows = booth_runs.json()["runs"]
        assert [(r["device_id"], r["site"], r["transcript_sessions"], r["held_unsent"]) for r in rows] == [
            (BOOTH, "drill", 1, 0), (BOOTH, "drill", 0, 1)]  # fmt: skip
        client.cookies.set(TOKEN_COOKIE, hr_token)
        page = client.get("/retention?lang=en")
        assert page.status_code == 200 and "works council agreement" in page.text
        assert 'id="edit-policy"' not in page.text and "Only an admin can change a policy." in page.text
        assert f'data-device="{BOOTH}"' in page.text and "Confirmed" in page.text
