"""Every enrolment change made on a device queues an "enrolment" record for the HR server in the change's own
transaction (real device store): enrolled, updated, removed by an admin, consent withdrawn. Records say who,
when, how many templates, model and consent version, never a template; a change the server ordered (a
gallery or erase command) is not reported back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from core.clock import FakeClock, to_ms
from core.datakey import DataKey, load_or_create
from device.attendance.enrolment import PURPOSE, withdraw_consent
from device.courier import downlink
from device.courier.records import to_record
from device.store import Store, open_store, outbox
from device.store import employees as repo
from sync.protocol import EraseBody, GalleryBody, GalleryEntry
from sync.protocol.records import EnrolmentBody, EnrolmentRecord
from tests.sync.test_downlink_order import context

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL = "sface:0123456789abcdef"


def vectors(seed: int, n: int) -> list[np.ndarray]:
    rows = np.random.default_rng(seed).standard_normal((n, 128)).astype(np.float32)
    return list(rows / np.linalg.norm(rows, axis=1, keepdims=True))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "state" / "device.db")
    yield s
    s.close()


@pytest.fixture
def key(tmp_path: Path) -> DataKey:
    return load_or_create(tmp_path / "state" / "keys" / "data.key")


def enrolment_records(store: Store) -> list[EnrolmentRecord]:
    found = [to_record(row) for row in outbox.pending(store, 1000) if row.type == "enrolment"]
    assert all(isinstance(r, EnrolmentRecord) for r in found)  # each one valid for the protocol
    return found


def consented(store: Store, no: str, version: str = "face-2.0") -> None:
    repo.upsert_employee(store, no, f"王 {no}", NOW, "admin")
    repo.record_consent(store, no, purpose=PURPOSE, text_version=version, recorded_by="admin", at=NOW)


def test_enrol_reenrol_delete_and_withdraw_each_queue_one_record(store: Store, key: DataKey) -> None:
    clock = FakeClock(NOW, is_synced=False)
    consented(store, "E1")
    # Through the repository calls the Enroller makes (its real-pipeline path: tests/sync/test_consent_sync.py).
    repo.replace_templates(store, key, "E1", vectors(1, 3), model=MODEL, source="photos", at=NOW,
                           actor="panel:admin@10.0.0.2", queue_for_server=True, clock_synced=False)
    clock.advance(60)
    repo.replace_templates(store, key, "E1", vectors(2, 4), model=MODEL, source="camera", at=clock.now(),
                           actor="panel:admin@10.0.0.2", queue_for_server=True, clock_synced=True)
    clock.advance(60)
    for expected in (4, 0):  # the second deletion finds nothing left: no record
        assert repo.delete_templates(store, "E1", at=clock.now(), actor="panel:admin@10.0.0.2", reason="bad photos",
                                     queue_for_server=True, clock_synced=clock.synced()) == expected
    repo.replace_templates(store, key, "E1", vectors(3, 2), model=MODEL, source="photos", at=NOW, actor="a",
                           queue_for_server=True)
    clock.advance(60)
    done = withdraw_consent(store, "E1", actor="cli:hr.wang", clock=clock)

    records = enrolment_records(store)
    bodies = [r.body for r in records]
    assert [b.event for b in bodies] == ["enrolled", "updated", "removed", "enrolled", "removed"]
    assert [b.template_count for b in bodies] == [3, 4, 4, 2, 2]
    assert all(b.templates == [] and b.employee_no == "E1" for b in bodies)  # templates never leave
    assert bodies[0].name == "王 E1" and bodies[0].model == MODEL and bodies[0].consent_ref == "face-2.0"
    assert bodies[0].admin == "panel:admin_10.0.0.2"
    # An admin's deletion leaves the consent standing (no consent_ref); a withdrawal names the version.
    assert bodies[2].consent_ref is None and bodies[4].consent_ref == "face-2.0"
    assert records[4].seq == done.outbox_seq
    # When, and whether the device's clock was synchronised then.
    assert [r.created_at_ms for r in records] == [to_ms(NOW), to_ms(NOW) + 60_000, to_ms(NOW) + 120_000,
                                                  to_ms(NOW), to_ms(NOW) + 180_000]
    assert [r.clock_synced for r in records] == [False, True, False, False, False]
    # The count is part of the protocol's body: a negative one is refused like any malformed field.
    with pytest.raises(ValidationError, match="template_count"):
        EnrolmentBody.model_validate(bodies[0].model_dump() | {"template_count": -1})


def test_a_failed_record_write_rolls_the_enrolment_back(store: Store, key: DataKey) -> None:
    consented(store, "E1")
    repo.replace_templates(store, key, "E1", vectors(1, 3), model=MODEL, source="photos", at=NOW, actor="a",
                           queue_for_server=True)
    store.conn.execute(
        "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(Exception, match="disk full"):
        repo.replace_templates(store, key, "E1", vectors(2, 5), model=MODEL, source="photos", at=NOW, actor="a",
                               queue_for_server=True)
    with pytest.raises(Exception, match="disk full"):
        repo.delete_templates(store, "E1", at=NOW, actor="a", reason="x", queue_for_server=True)
    kept = repo.load_templates(store, key, MODEL)
    assert len(kept) == 3 and np.allclose(kept[0].vector, vectors(1, 3)[0])  # the previous templates stand
    assert len(enrolment_records(store)) == 1


def test_changes_the_server_ordered_are_not_reported_back(tmp_path: Path) -> None:
    state = tmp_path / "dl"
    store = open_store(state / "device.db")
    try:
        ctx = context(state, store)
        entry = GalleryEntry(employee_no="E9", name="From HR", model=MODEL,
                             templates=[np.asarray(v, dtype="<f4").tobytes() for v in vectors(5, 2)])
        gallery = GalleryBody(command_seq=1, gallery_version=1, page=1, pages=1, upserts=[entry])
        assert downlink.apply_command(ctx, gallery).outcome == "applied"
        assert ctx.data_key is not None and len(repo.load_templates(store, ctx.data_key, MODEL)) == 2
        assert downlink.apply_command(ctx, EraseBody(command_seq=2, employee_nos=["E9"], reason="erased-by-hr")
                                      ).outcome == "applied"
        assert repo.load_templates(store, ctx.data_key, MODEL) == []
        assert enrolment_records(store) == []
    finally:
        store.close()
