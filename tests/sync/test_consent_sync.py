"""End to end over a real mosquitto (TLS + ACL) with a real ingest worker, real couriers and the real face
pipeline on LFW photos: an employee withdraws consent at one terminal -> the record reaches HR -> HR's
consent is withdrawn and its templates deleted -> the other terminal is told to delete -> a gallery rebuild
carries nobody's templates for them and the terminal never re-enrols them -> HR records new consent and
enrols again -> galleries carry them again. Enrolments and deletions made at a terminal reach HR too."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from core.clock import SystemClock
from core.datakey import DataKey, load_or_create
from device.attendance.enrolment import Enroller, withdraw_consent
from device.config.device import EnrolmentSection
from device.courier.courier import data_key_path
from device.store import Store, open_store
from device.store import employees as device_employees
from drills.chaos_site import Site, build_site, running_courier, wait_for
from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.enrolment import real_embedder_parts
from sync.server.store import HRStore, devices, open_hr_store, templates
from tests.attendance.real_vision import lfw_people, requires_vision
from tests.sync.test_gallery_downlink import worker_with_data_key

pytestmark = requires_vision

GATE_A, GATE_B = "site1-gate-a", "site1-gate-b"
PURPOSE = "face-attendance"


@contextmanager
def device_store(site: Site, device_id: str) -> Iterator[tuple[Store, DataKey]]:
    device = site.devices[device_id]
    store = open_store(device.database)
    try:
        yield store, load_or_create(data_key_path(device.state_dir))
    finally:
        store.close()


def templates_on(site: Site, device_id: str, employee_no: str, model: str) -> int:
    with device_store(site, device_id) as (store, key):
        return sum(1 for t in device_employees.load_templates(store, key, model) if t.employee_no == employee_no)


def consent_on(site: Site, device_id: str, employee_no: str) -> bool:
    with device_store(site, device_id) as (store, _):
        return device_employees.has_consent(store, employee_no, PURPOSE)


def all_confirmed(hr: HRStore) -> bool:
    with hr.db.read() as tx:
        return tx.execute("SELECT count(*) FROM downlinks WHERE confirmed_at IS NULL").scalar() == 0


@contextmanager
def running(site: Site) -> Iterator[None]:
    """The ingest worker (with the server's data key) and both terminals' couriers."""
    with ExitStack() as stack:
        stack.enter_context(worker_with_data_key(site))
        for device_id in (GATE_A, GATE_B):
            stack.enter_context(running_courier(site, device_id, ack_timeout_seconds=1.0))
        yield


def test_a_withdrawal_at_one_terminal_keeps_the_persons_face_off_every_terminal_until_new_consent(
    tmp_path: Path,
) -> None:
    site = build_site(tmp_path / "site", (GATE_A, GATE_B))
    [(alice, alice_photos), (bob, bob_photos)] = lfw_people(min_images=4, max_images=30, count=2)
    parts = real_embedder_parts()
    hr = open_hr_store(site.server_database_url(), "Asia/Shanghai")
    app = create_app(site.server_config(), hr, embedder_parts=lambda: parts)
    with closing(hr), site.broker(), TestClient(app) as client:
        hr_token = {"Authorization": f"Bearer {create_token(hr, 'hr')}"}

        def upload(consent: str) -> dict[str, object]:
            files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in alice_photos[:4]]
            reply = client.post("/api/employees/E1/photos", files=files, data={"consent_text_version": consent},
                                headers=hr_token)
            assert reply.status_code == 200, reply.text
            return dict(reply.json())

        def status() -> str:
            return str(client.get("/api/employees/E1", headers=hr_token).json()["consent"]["status"])

        # HR enrols E1 and sends the templates to both terminals.
        for no, name in (("E1", alice), ("E2", bob)):
            assert client.post("/api/employees", json={"employee_no": no, "name": name},
                               headers=hr_token).status_code == 201
        for gate in (GATE_A, GATE_B):
            devices.assign(hr, gate, ["E1"], "hr")
        assert upload("face-2.0")["gallery_sent_to"] == [GATE_A, GATE_B]
        assert status() == "given"
        with running(site):
            wait_for(lambda: all_confirmed(hr), "the galleries confirmed by both terminals")
        assert templates_on(site, GATE_A, "E1", parts.model) > 0 and templates_on(site, GATE_B, "E1", parts.model) > 0

        # At terminal A: E1 withdraws consent; an admin enrols E2 from photos, then deletes E2's templates.
        with device_store(site, GATE_A) as (store, key):
            withdraw_consent(store, "E1", actor="panel:admin", clock=SystemClock(assume_synced=True))
            enroller = Enroller(store=store, key=key, embedder=parts.pipeline, model=parts.model,
                                clock=SystemClock(assume_synced=True), settings=EnrolmentSection())
            enroller.record_consent("E2", bob, text_version="face-2.0", recorded_by="panel:admin")
            enrolled = enroller.enrol_photos("E2", [(p.name, p.read_bytes()) for p in bob_photos[:4]],
                                             actor="panel:admin")
            assert enrolled.enrolled
            assert enroller.delete("E2", actor="panel:admin", reason="wrong person") == enrolled.templates

        with running(site):
            wait_for(lambda: status() == "withdrawn", "HR to record E1's withdrawal")
            wait_for(lambda: all_confirmed(hr), "terminal B to confirm the erase")
        assert templates.counts(hr, "E1") == {}  # HR keeps no face data of E1 either
        assert templates_on(site, GATE_B, "E1", parts.model) == 0  # terminal B was told to delete
        assert templates_on(site, GATE_A, "E1", parts.model) == 0

        # A gallery rebuild for terminal A (unassigned, then assigned again) carries no E1 templates.
        devices.assign(hr, GATE_A, [], "hr")
        devices.assign(hr, GATE_A, ["E1"], "hr")
        refused = client.post("/api/employees/E1/photos", headers=hr_token, data={"consent_text_version": "face-2.0"},
                              files=[("photos", ("a.jpg", alice_photos[0].read_bytes(), "image/jpeg"))])
        assert refused.status_code == 409 and refused.json()["error"] == "consent-withdrawn"
        with running(site):
            wait_for(lambda: all_confirmed(hr), "terminal A to confirm the rebuilt gallery")
        assert templates_on(site, GATE_A, "E1", parts.model) == 0
        assert not consent_on(site, GATE_A, "E1")  # never re-enrolled, no consent made up for them

        # What HR saw: the withdrawal (of the consent terminal A holds for HR's record), and terminal A's own
        # enrolment and deletion of E2 (never templates).
        reply = client.get("/api/employees/E1/enrolments", headers=hr_token)
        events = reply.json()["events"]
        assert [(e["device_id"], e["event"], e["withdrawal"], e["consent_ref"]) for e in events] == [
            (GATE_A, "removed", True, "recorded-on-server")]
        seen = client.get("/api/employees/E2/enrolments", headers=hr_token).json()
        assert [(e["event"], e["template_count"], e["model"]) for e in seen["events"]] == [
            ("removed", enrolled.templates, None), ("enrolled", enrolled.templates, parts.model)]
        assert [(d["device_id"], d["state"]) for d in seen["devices"]] == [(GATE_A, "removed")]
        assert "templates\"" not in reply.text + str(seen)

        # New consent at HR, then enrolment: both terminals get E1's templates again.
        assert client.post("/api/employees/E1/consent", json={"text_version": "face-3.0"},
                           headers=hr_token).status_code == 201
        assert upload("face-3.0")["gallery_sent_to"] == [GATE_A, GATE_B]
        with running(site):
            wait_for(lambda: all_confirmed(hr), "both terminals to confirm E1's new templates")
        assert templates_on(site, GATE_A, "E1", parts.model) > 0 and templates_on(site, GATE_B, "E1", parts.model) > 0
        assert consent_on(site, GATE_A, "E1") and status() == "given"
