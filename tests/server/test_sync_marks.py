"""Devices' synced-through watermarks in the HR store (SQLite and PostgreSQL): a hello moves it when every
record below its next_record_seq is stored; otherwise it waits as a claim that the records run storing the
last of them settles, in that run's transaction (the worker's own path is in tests/sync/test_sync_watermark.py)."""

from __future__ import annotations

from sync.server.store import HRStore, records, resequence, sync_marks
from tests.server.builders import BASE_MS, punch_record, register

DEVICE = "gate-1"


def mark(store: HRStore) -> int | None:
    (found,) = [m for m in sync_marks.marks(store) if m.device_id == DEVICE]
    return found.synced_through_ms


def _ingest_run(store: HRStore, seqs: list[int]) -> None:
    """What ``ingest_batches.store_records`` does with a run: store the records, settle claims, one commit."""
    with store.db.transaction() as tx:
        records.ingest(store, DEVICE, [punch_record(s) for s in seqs])
        sync_marks.settle(tx, {DEVICE}, store.now_iso())


def test_a_hello_moves_the_watermark_at_once_when_its_records_are_stored(store: HRStore) -> None:
    register(store, DEVICE)
    assert mark(store) is None  # never synced
    records.ingest(store, DEVICE, [punch_record(s) for s in (1, 2, 3)])
    assert sync_marks.on_hello(store, DEVICE, 4, BASE_MS + 10_000)
    assert mark(store) == BASE_MS + 10_000
    # A hello with an older time (a clock set back) never moves it back; nothing to wait for either.
    assert sync_marks.on_hello(store, DEVICE, 4, BASE_MS)
    assert mark(store) == BASE_MS + 10_000


def test_a_hello_waits_for_its_records_and_the_run_storing_the_last_one_settles_it(store: HRStore) -> None:
    register(store, DEVICE)
    records.ingest(store, DEVICE, [punch_record(1)])
    assert not sync_marks.on_hello(store, DEVICE, 4, BASE_MS + 50_000)  # 2 and 3 are still on the device
    assert mark(store) is None
    _ingest_run(store, [3])
    assert mark(store) is None  # 2 is missing: a gap holds it
    _ingest_run(store, [2])
    assert mark(store) == BASE_MS + 50_000
    # The next claim counts only the records above the floor it left: 4..5.
    assert not sync_marks.on_hello(store, DEVICE, 6, BASE_MS + 90_000)
    _ingest_run(store, [4, 5])
    assert mark(store) == BASE_MS + 90_000


def test_a_device_whose_counter_went_back_does_not_move(store: HRStore) -> None:
    register(store, DEVICE)
    records.ingest(store, DEVICE, [punch_record(s) for s in (1, 2, 3)])
    assert resequence.on_hello(store, DEVICE, 2) == 3  # a restored image: flagged
    assert not sync_marks.on_hello(store, DEVICE, 4, BASE_MS)
    assert mark(store) is None


def test_a_time_no_column_holds_is_ignored(store: HRStore) -> None:
    register(store, DEVICE)
    assert not sync_marks.on_hello(store, DEVICE, 1, 2**64 - 1)
    assert sync_marks.on_hello(store, DEVICE, 1, 2**63 - 1)
    assert sync_marks.as_datetime(mark(store)) is None  # stored, but no datetime holds it: never final
