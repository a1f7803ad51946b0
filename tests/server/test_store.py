"""The HR store's ingest contract on SQLite and PostgreSQL: exactly once per (device, seq)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from sync.protocol import PunchCorrectionBody, PunchCorrectionRecord, PunchRecord
from sync.server.store import HRStore, attendance, devices, downlinks, employees, open_hr_store, records
from tests.server.builders import BASE_MS, punch_body, punch_record, register

ROOT = Path(__file__).resolve().parents[2]
def punch_count(store: HRStore) -> int:
    with store.db.read() as tx:
        return int(tx.execute("SELECT count(*) FROM punches").scalar())


def test_same_batch_twice_is_stored_once_and_reported_as_duplicates(store: HRStore) -> None:
    batch = [punch_record(seq) for seq in (1, 2, 3)]
    first = records.ingest(store, "gate-1", batch)
    assert first.stored == [1, 2, 3] and first.duplicates == [] and first.conflicts == []
    again = records.ingest(store, "gate-1", batch)
    assert again.stored == [] and again.duplicates == [1, 2, 3] and again.ackable == [1, 2, 3]
    assert punch_count(store) == 3
    # The same seq from another device is another record.
    assert records.ingest(store, "gate-2", [punch_record(1, device_id="gate-2")]).stored == [1]


def test_seq_reuse_with_other_content_is_a_counted_conflict_never_stored(store: HRStore) -> None:
    records.ingest(store, "gate-1", [punch_record(1)])
    other = records.ingest(store, "gate-1", [punch_record(1, employee_no="E999")])
    assert other.conflicts == [1] and other.stored == [] and other.duplicates == []
    assert {"reason": "replay", "device_id": "gate-1"}.items() <= records.rejection_counts(store)[0].items()
    assert [p["employee_no"] for p in attendance.punches(store)] == ["E001"]


def _fail_inserts_of(store: HRStore, employee_no: str) -> None:
    """A database-side fault: inserting a punch of ``employee_no`` fails inside the transaction."""
    with store.db.transaction() as tx:
        if store.db.dialect == "sqlite":
            tx.execute(
                "CREATE TRIGGER boom BEFORE INSERT ON punches WHEN NEW.employee_no = ?"
                " BEGIN SELECT RAISE(ABORT, 'injected fault'); END".replace("?", f"'{employee_no}'")
            )
        else:
            tx.execute(
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                f" IF NEW.employee_no = '{employee_no}' THEN RAISE EXCEPTION 'injected fault'; END IF;"
                " RETURN NEW; END $$"
            )
            tx.execute("CREATE TRIGGER boom BEFORE INSERT ON punches FOR EACH ROW EXECUTE FUNCTION boom()")


def test_batch_is_one_transaction(store: HRStore) -> None:
    _fail_inserts_of(store, "BOOM")
    batch = [punch_record(1), punch_record(2), punch_record(3, employee_no="BOOM")]
    with pytest.raises(Exception, match="injected fault"):
        records.ingest(store, "gate-1", batch)
    # Records 1 and 2 were written before the fault: the rollback took them back too.
    assert punch_count(store) == 0 and records.highest_contiguous_seq(store, "gate-1") == 0
    assert records.ingest(store, "gate-1", batch[:2]).stored == [1, 2]


def test_malformed_records_never_become_records_the_store_takes() -> None:
    # The store takes typed records only: a bad seq, an unusable punch body and the second field set the
    # store once accepted (employee_id/at_ms/method) are refused where the message is parsed.
    good = punch_record(1).model_dump(mode="json")
    for bad in (good | {"seq": "x"}, good | {"body": {"direction": "in"}},
                good | {"body": {"employee_id": "E7", "direction": "out", "at_ms": 1_772_445_600_000,
                                 "clock_synced": False, "method": "face"}}):  # fmt: skip
        with pytest.raises(ValidationError):
            PunchRecord.model_validate(bad)
    assert PunchRecord.model_validate(good) == punch_record(1)


def test_replay_window_inputs(store: HRStore) -> None:
    assert records.highest_contiguous_seq(store, "gate-1") == 0
    records.ingest(store, "gate-1", [punch_record(s) for s in (2, 3, 5, 6, 9)])
    assert records.highest_contiguous_seq(store, "gate-1") == 0  # seq 1 missing
    records.ingest(store, "gate-1", [punch_record(1)])
    assert records.highest_contiguous_seq(store, "gate-1") == 3
    assert records.seen_seqs(store, "gate-1", 4, 100) == [5, 6, 9]
    records.ingest(store, "gate-1", [punch_record(4)])
    assert records.highest_contiguous_seq(store, "gate-1") == 6


def test_rejection_counter_per_reason_and_device(store: HRStore) -> None:
    records.count_rejection(store, "bad-signature", "gate-1")
    records.count_rejection(store, "bad-signature", "gate-1")
    records.count_rejection(store, "unknown-device", None)
    counts = {(r["reason"], r["device_id"]): r["count"] for r in records.rejection_counts(store)}
    assert counts == {("bad-signature", "gate-1"): 2, ("unknown-device", ""): 1}


def test_device_correction_record_voids_the_punch_it_names(store: HRStore) -> None:
    employees.create(store, "E001", "Li Lei", "t")
    records.ingest(store, "gate-1", [punch_record(1)])
    correction = PunchCorrectionBody(action="void", employee_no="E001", direction="in", at_ms=BASE_MS,
                                     clock_synced=True,
                                     reason="walked past by mistake", admin="site-admin", corrects_seq=1)
    record = PunchCorrectionRecord(seq=2, type="punch-correction", ref="fix-1", created_at_ms=BASE_MS,
                                   clock_synced=True, body=correction)
    assert records.ingest(store, "gate-1", [record]).stored == [2]
    (fix,) = attendance.corrections(store)
    assert fix["punch_uid"] == "gate-1-punch-1" and fix["action"] == "void"
    assert fix["actor"] == "device:gate-1:site-admin"


def test_erase_marks_erased_drops_assignments_and_queues_erase_for_every_device(store: HRStore) -> None:
    register(store, "gate-1")
    register(store, "gate-2")
    employees.create(store, "E001", "Li Lei", "hr")
    employees.create(store, "E002", "Han Meimei", "hr")
    devices.assign(store, "gate-1", ["E001", "E002"], "hr")
    assert [d["type"] for d in downlinks.pending(store, "gate-1")] == ["gallery"]
    assert employees.erase(store, "E001", "hr") == ["gate-1", "gate-2"]
    assert employees.get(store, "E001")["erased_at"] is not None
    assert devices.get(store, "gate-1")["employees"] == ["E002"]
    pending = downlinks.pending(store)
    erase = [(d["device_id"], d["command_seq"], d["body"]["employee_no"]) for d in pending if d["type"] == "erase"]
    assert erase == [("gate-1", 2, "E001"), ("gate-2", 1, "E001")]
    assert downlinks.confirm(store, "gate-2", [1]) == 1
    assert [d["device_id"] for d in downlinks.pending(store) if d["type"] == "erase"] == ["gate-1"]


def _run_workers(url: str, n: int) -> list[dict[str, list[int]]]:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "tests.server.ingest_worker", url, "gate-1", str(n), "25"]
    procs = [subprocess.Popen([*args, order], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for order in ("forward", "reverse")]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))
    return outputs


def test_two_processes_ingesting_the_same_records_store_each_once(store_url: str) -> None:
    n = 400
    open_hr_store(store_url).close()  # migrate once up front is not required, but makes the race about ingest
    first, second = _run_workers(store_url, n)
    stored = first["stored"] + second["stored"]
    assert sorted(stored) == list(range(1, n + 1)), "each record stored by exactly one process"
    assert not set(first["stored"]) & set(second["stored"])
    assert sorted(first["duplicates"]) == sorted(second["stored"])
    assert sorted(second["duplicates"]) == sorted(first["stored"])
    assert first["conflicts"] == second["conflicts"] == []
    store = open_hr_store(store_url)
    try:
        assert punch_count(store) == n and records.highest_contiguous_seq(store, "gate-1") == n
    finally:
        store.close()


def test_punch_body_matches_the_device_outbox_body() -> None:
    # The builder must produce exactly what device.store.punches.record_punch enqueues.
    from device.store import open_store, outbox, punches
    from device.store.punches import NewPunch

    body = punch_body(1)
    device_store = open_store(None)
    try:
        fields = {k: v for k, v in body.items() if k != "device_id"}
        punches.record_punch(device_store, NewPunch(**fields), "gate-1")
        (row,) = device_store.conn.execute("SELECT body FROM outbox").fetchall()
        assert json.loads(row[0]) == body
        assert outbox is not None
    finally:
        device_store.close()
