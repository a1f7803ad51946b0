"""Enrolment records from a real device store ingested into the real HR store (SQLite and PostgreSQL): the
per-device enrolment state, consent withdrawn at HR on a device's withdrawal, no templates to any device
until HR records new consent, superseded late withdrawals, erasure, duplicates and replays, and the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from core.clock import FakeClock
from core.datakey import DataKey, load_or_create
from core.errors import InputError
from device.attendance.enrolment import PURPOSE, withdraw_consent
from device.courier.records import to_record
from device.store import Store, open_store, outbox
from device.store import employees as repo
from sync.protocol import EnrolmentRecord, GalleryBody, Record
from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.config import BrokerSection, ServerConfig
from sync.server.enrolment import EmbedderParts, ServerEnroller
from sync.server.ingest_downlinks import command_bodies, store_gallery
from sync.server.store import HRStore, IngestResult, consents, device_enrolments, devices, downlinks, employees, records
from sync.server.store import templates as hr_templates
from tests.server.builders import register
from tests.server.conftest import NOW

MODEL = "sface:0123456789abcdef"


@dataclass
class Terminal:
    """A real device store whose enrolment records go to the HR store through ``send``."""

    device_id: str
    store: Store
    key: DataKey
    clock: FakeClock
    sent: int = 0

    def enrol(self, no: str, n: int = 3, version: str = "face-1.0") -> None:
        repo.upsert_employee(self.store, no, f"name {no}", self.clock.now(), "admin")
        if not repo.has_consent(self.store, no, PURPOSE):
            repo.record_consent(self.store, no, purpose=PURPOSE, text_version=version, recorded_by="admin",
                                at=self.clock.now())
        repo.replace_templates(self.store, self.key, no, vectors(n), model=MODEL, source="photos",
                               at=self.clock.now(), actor="panel:admin", queue_for_server=True,
                               clock_synced=self.clock.synced())

    def withdraw(self, no: str) -> None:
        withdraw_consent(self.store, no, actor="panel:admin", clock=self.clock)

    def items(self) -> list[Record]:
        """The unsent enrolment records, as an ingest worker hands them to the store."""
        rows = [r for r in outbox.pending(self.store, 1000, after_seq=self.sent) if r.type == "enrolment"]
        self.sent = max([self.sent, *(r.seq for r in rows)])
        return [to_record(r) for r in rows]

    def send(self, hr: HRStore) -> IngestResult:
        return records.ingest(hr, self.device_id, self.items())


def vectors(n: int, seed: int = 1) -> list[np.ndarray]:
    rows = np.random.default_rng(seed).standard_normal((n, 128)).astype(np.float32)
    return list(rows / np.linalg.norm(rows, axis=1, keepdims=True))


@pytest.fixture
def terminals(tmp_path: Path) -> Iterator[dict[str, Terminal]]:
    made: dict[str, Terminal] = {}

    def make(device_id: str) -> Terminal:
        state = tmp_path / device_id
        made[device_id] = Terminal(device_id, open_store(state / "device.db"), load_or_create(state / "data.key"),
                                   FakeClock(NOW + timedelta(hours=1)))  # after HR's consent (NOW)
        return made[device_id]

    for device_id in ("gate-1", "gate-2", "gate-3"):
        make(device_id)
    yield made
    for terminal in made.values():
        terminal.store.close()


@pytest.fixture
def data_key(tmp_path: Path) -> DataKey:
    return hr_templates.load_data_key(tmp_path / "server")


def hr_enrol(store: HRStore, key: DataKey, no: str, seed: int) -> None:
    """Templates in the HR store as photo enrolment leaves them (the photo route is tested with the real
    pipeline in test_server_enrolment.py and tests/sync/test_consent_sync.py)."""
    with store.db.transaction() as tx:
        hr_templates.replace(tx, key, no, MODEL, vectors(2, seed), store.now_iso())


def test_device_records_build_each_devices_state_exactly_once(
    store: HRStore, terminals: dict[str, Terminal]
) -> None:
    register(store, "gate-1")
    employees.create(store, "E1", "Li Lei", "hr")
    gate = terminals["gate-1"]
    gate.enrol("E1", 3)
    gate.clock.advance(60)
    gate.enrol("E1", 4)
    items = gate.items()
    gate.clock.advance(60)
    repo.delete_templates(gate.store, "E1", at=gate.clock.now(), actor="panel:admin", reason="blurred",
                          queue_for_server=True, clock_synced=True)
    removal = gate.items()
    # Out of order: the removal (seq 3) is stored before the enrolments (1, 2); the state follows seq 3.
    assert records.ingest(store, "gate-1", removal).stored == [3]
    assert records.ingest(store, "gate-1", items).stored == [1, 2]
    seen = device_enrolments.of_employee(store, "E1")
    assert [(d["device_id"], d["state"], d["template_count"]) for d in seen["devices"]] == [("gate-1", "removed", 0)]
    assert [(e["event"], e["template_count"], e["consent_ref"]) for e in seen["events"]] == [
        ("removed", 4, None), ("updated", 4, "face-1.0"), ("enrolled", 3, "face-1.0")]
    assert all(e["model"] == MODEL for e in seen["events"][1:]) and not seen["events"][0]["withdrawal"]
    assert seen["consent"] == {"status": "none"}  # a device's enrolment is not HR's record of consent
    # Duplicates (a lost ack, a replayed copy) change nothing.
    again = records.ingest(store, "gate-1", items + removal)
    assert again.stored == [] and again.duplicates == [1, 2, 3]
    assert len(device_enrolments.of_employee(store, "E1")["events"]) == 3
    # A reused sequence with other content is a conflict: neither stored nor applied.
    first = items[0]
    assert isinstance(first, EnrolmentRecord)
    forged = first.model_copy(update={"body": first.body.model_copy(update={"template_count": 9})})
    assert records.ingest(store, "gate-1", [forged]).conflicts == [1]
    assert [e["template_count"] for e in device_enrolments.of_employee(store, "E1")["events"]] == [4, 4, 3]


def test_a_withdrawal_stops_templates_reaching_any_device_until_hr_records_new_consent(
    store: HRStore, terminals: dict[str, Terminal], data_key: DataKey
) -> None:
    register(store, "gate-1", "gate-2", "gate-3")
    devices.revoke(store, "gate-3", "it")
    for no, seed in (("E1", 1), ("E2", 2)):
        employees.create(store, no, f"name {no}", "hr")
        consents.record_given(store, no, "face-1.0", "hr")
        hr_enrol(store, data_key, no, seed)
    devices.assign(store, "gate-1", ["E1", "E2"], "hr")
    gallery = store_gallery(store, data_key)
    assert [e.employee_no for e in gallery(["E1", "E2"])] == ["E1", "E2"]
    gate = terminals["gate-1"]
    gate.enrol("E1")
    gate.clock.advance(60)
    gate.withdraw("E1")

    assert gate.send(store).stored == [1, 2]

    status = employees.get(store, "E1")["consent"]
    assert status["status"] == "withdrawn" and status["withdrawn_on_device"] == "gate-1"
    assert status["withdrawn_by"] == "device:gate-1:panel:admin" and status["text_version"] == "face-1.0"
    assert hr_templates.counts(store, "E1") == {} and hr_templates.counts(store, "E2") == {MODEL: 2}
    # No gallery carries E1 now: not a new one, nor one queued before the withdrawal arrived.
    assert [e.employee_no for e in gallery(["E1", "E2"])] == ["E2"]
    [queued] = [r for r in downlinks.pending(store, "gate-1") if r["type"] == "gallery"]
    assert set(queued["body"]["added"]) == {"E1", "E2"}
    [page] = command_bodies(queued, gallery)
    assert isinstance(page, GalleryBody) and [e.employee_no for e in page.upserts] == ["E2"]
    # Even templates that reach the HR store another way (restored from a backup) stay on the server.
    hr_enrol(store, data_key, "E1", 9)
    assert [e.employee_no for e in gallery(["E1", "E2"])] == ["E2"]
    with store.db.transaction() as tx:
        hr_templates.delete(tx, "E1")
    # The other active device is told to delete E1's face data; the revoked one and the reporter are not.
    erases = [(r["device_id"], r["body"]) for r in downlinks.pending(store) if r["type"] == "erase"]
    assert erases == [("gate-2", {"employee_no": "E1", "reason": consents.WITHDRAWN_REASON})]
    state = device_enrolments.of_employee(store, "E1")["devices"]
    assert [(d["device_id"], d["state"]) for d in state] == [("gate-1", "withdrawn")]

    # Photo enrolment is refused before any photo is read.
    def no_pipeline() -> EmbedderParts:
        raise AssertionError("no photo may be processed")

    enroller = ServerEnroller(store, parts=no_pipeline, key=lambda: data_key)
    with pytest.raises(consents.ConsentWithdrawn) as refused:
        enroller.enrol("E1", [("a.jpg", b"x")], consent_text_version="face-1.0", actor="hr")
    assert "/api/employees/E1/consent" in refused.value.fix

    # A second device's withdrawal of the same person: history grows, nothing is sent twice.
    other = terminals["gate-2"]
    other.enrol("E1")
    other.withdraw("E1")
    assert other.send(store).stored == [1, 2]
    assert len([r for r in downlinks.pending(store) if r["type"] == "erase"]) == 1
    assert [h["action"] for h in consents.history(store, "E1")] == ["withdrawn", "withdrawn", "given"]

    # New consent at HR, then new templates: galleries carry E1 again; a replayed withdrawal changes nothing.
    assert consents.record_given(store, "E1", "face-2.0", "token:7:hr")["status"] == "given"
    hr_enrol(store, data_key, "E1", 3)
    assert [e.employee_no for e in gallery(["E1", "E2"])] == ["E1", "E2"]
    records.ingest(store, "gate-1", [to_record(r) for r in outbox.pending(gate.store, 100)])
    assert employees.get(store, "E1")["consent"]["status"] == "given"
    assert [e.employee_no for e in gallery(["E1"])] == ["E1"]


def test_a_late_withdrawal_proven_older_than_the_new_consent_is_kept_as_history_only(
    store: HRStore, terminals: dict[str, Terminal], data_key: DataKey
) -> None:
    register(store, "gate-1", "gate-2")
    employees.create(store, "E1", "Li Lei", "hr")
    # The device's clock was synchronised: it withdrew an hour before HR recorded the new consent (NOW).
    gate = terminals["gate-1"]
    gate.clock.current = NOW - timedelta(hours=1)
    gate.enrol("E1")
    gate.withdraw("E1")
    consents.record_given(store, "E1", "face-2.0", "hr")
    hr_enrol(store, data_key, "E1", 1)
    assert gate.send(store).stored == [1, 2]
    assert employees.get(store, "E1")["consent"]["status"] == "given"
    assert hr_templates.counts(store, "E1") == {MODEL: 2} and downlinks.pending(store) == []
    assert [(h["action"], h["superseded"]) for h in consents.history(store, "E1")] == [
        ("withdrawn", True), ("given", False)]
    # An unsynchronised clock proves nothing: that withdrawal counts, whenever the device says it was.
    other = terminals["gate-2"]
    other.clock.is_synced = False
    other.enrol("E1")
    other.withdraw("E1")
    assert other.send(store).stored == [1, 2]
    assert employees.get(store, "E1")["consent"]["status"] == "withdrawn"
    assert hr_templates.counts(store, "E1") == {}


def test_erasure_keeps_enrolment_state_and_consent_consistent(
    store: HRStore, terminals: dict[str, Terminal], data_key: DataKey
) -> None:
    register(store, "gate-1")
    employees.create(store, "E1", "Li Lei", "hr")
    consents.record_given(store, "E1", "face-1.0", "hr")
    gate = terminals["gate-1"]
    gate.enrol("E1")
    gate.send(store)
    assert employees.erase(store, "E1", "hr") == ["gate-1"]
    seen = device_enrolments.of_employee(store, "E1")
    assert [(d["state"], d["template_count"]) for d in seen["devices"]] == [("erased", 0)]
    assert store_gallery(store, data_key)(["E1"]) == []
    with pytest.raises(InputError) as refused:
        consents.record_given(store, "E1", "face-2.0", "hr")
    assert refused.value.code == "conflict"
    # The device's later report (its admin removed what was left) is recorded; the state follows it.
    gate.clock.advance(60)
    gate.withdraw("E1")
    assert gate.send(store).stored == [2]
    assert [d["state"] for d in device_enrolments.of_employee(store, "E1")["devices"]] == ["withdrawn"]
    assert [r["type"] for r in downlinks.pending(store)] == ["erase"]  # no second erase: nobody else to tell


def test_enrolments_api_for_hr_and_admin_and_consent_on_the_employee(
    store: HRStore, terminals: dict[str, Terminal]
) -> None:
    def explode() -> EmbedderParts:
        raise AssertionError("no photo may be processed")

    app = create_app(ServerConfig(broker=BrokerSection(tls=False)), store, embedder_parts=explode)
    role = {r: {"Authorization": f"Bearer {create_token(store, r)}"} for r in ("admin", "hr", "it", "readonly")}
    register(store, "gate-1")
    with TestClient(app) as client:
        assert client.post("/api/employees", json={"employee_no": "E1", "name": "Li Lei"},
                           headers=role["hr"]).status_code == 201
        assert client.get("/api/employees/E1", headers=role["hr"]).json()["consent"] == {"status": "none"}
        gate = terminals["gate-1"]
        gate.enrol("E1")
        gate.withdraw("E1")
        gate.send(store)

        for denied in ("it", "readonly"):
            assert client.get("/api/employees/E1/enrolments", headers=role[denied]).status_code == 403
            assert client.post("/api/employees/E1/consent", json={"text_version": "v"},
                               headers=role[denied]).status_code == 403
        assert client.get("/api/employees/NOPE/enrolments", headers=role["hr"]).status_code == 404
        reply = client.get("/api/employees/E1/enrolments", headers=role["admin"])
        assert reply.status_code == 200
        listing = reply.json()
        assert [(e["device_id"], e["event"], e["withdrawal"], e["template_count"]) for e in listing["events"]] == [
            ("gate-1", "removed", True, 3), ("gate-1", "enrolled", False, 3)]
        assert listing["consent"]["status"] == "withdrawn" and "templates" not in reply.text
        employee = client.get("/api/employees/E1", headers=role["readonly"]).json()
        assert employee["consent"]["status"] == "withdrawn"
        [listed] = client.get("/api/employees", headers=role["hr"]).json()["employees"]
        assert listed["consent"]["status"] == "withdrawn"

        photo = {"photos": ("a.jpg", b"not read", "image/jpeg")}
        refused = client.post("/api/employees/E1/photos", files=photo, data={"consent_text_version": "face-1.0"},
                              headers=role["hr"])
        assert refused.status_code == 409 and refused.json()["error"] == "consent-withdrawn"

        recorded = client.post("/api/employees/E1/consent", json={"text_version": "face-2.0"}, headers=role["hr"])
        assert recorded.status_code == 201
        consent = recorded.json()["consent"]
        assert consent["status"] == "given" and consent["text_version"] == "face-2.0"
        assert consent["recorded_by"].startswith("token:") and consent["recorded_at"] == NOW.isoformat()
        assert client.post("/api/employees/E1/consent", json={"text_version": ""},
                           headers=role["hr"]).status_code == 422
