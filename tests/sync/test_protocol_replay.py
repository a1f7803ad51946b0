"""ReplayWindow: out-of-order delivery, duplicates, restarts, bounded memory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.protocol import Reason, ReplayWindow, ReplayWindows, Verdict


def test_in_order_advances_floor() -> None:
    w = ReplayWindow()
    w.mark_stored(range(1, 101))
    assert w.floor == 100 and w.missing() == []
    assert w.check(100) is Verdict.DUPLICATE and w.check(101) is Verdict.NEW


def test_out_of_order_within_window() -> None:
    w = ReplayWindow()
    w.mark_stored([3, 5])
    assert w.floor == 0
    assert [w.check(s) for s in range(1, 7)] == [
        Verdict.NEW,
        Verdict.NEW,
        Verdict.DUPLICATE,
        Verdict.NEW,
        Verdict.DUPLICATE,
        Verdict.NEW,
    ]
    assert w.missing() == [1, 2, 4]
    w.mark_stored([1, 2])
    assert w.floor == 3 and w.missing() == [4]
    w.mark_stored([4])
    assert w.floor == 5 and w.missing() == [] and w.next_expected == 6


def test_split_separates_new_from_stored() -> None:
    w = ReplayWindow(floor=10, stored_above=[12])
    assert w.split([9, 10, 11, 12, 13]) == ([11, 13], [9, 10, 12])


def test_never_stored_retransmission_is_always_new() -> None:
    # Message with records 4..6 arrived, but the worker crashed before commit: it was
    # never marked. Its retransmission must be processed again.
    w = ReplayWindow()
    w.mark_stored([1, 2, 3])
    new, dup = w.split([4, 5, 6])
    assert new == [4, 5, 6] and dup == []


def test_rebuilt_from_store_after_restart() -> None:
    live = ReplayWindow()
    live.mark_stored([1, 2, 3, 7, 9])
    restarted = ReplayWindow(floor=3, stored_above=[7, 9])  # what the store reports
    assert all(live.is_stored(s) == restarted.is_stored(s) for s in range(0, 20))
    assert restarted.floor == 3


def test_bounded_capacity_forgets_safely() -> None:
    w = ReplayWindow(capacity=8)
    w.mark_stored([20])  # beyond floor + capacity: not remembered
    assert w.untracked == 1
    assert w.check(20) is Verdict.NEW  # unknown -> processed, idempotent insert decides
    w.mark_stored(range(1, 20))
    assert w.floor == 19 and w.check(20) is Verdict.NEW
    w.mark_stored([20])
    assert w.floor == 20


def test_long_in_order_batch_does_not_overflow() -> None:
    w = ReplayWindow(capacity=4)
    w.mark_stored(reversed(range(1, 1001)))
    assert w.floor == 1000 and w.untracked == 0


def test_invalid_construction() -> None:
    with pytest.raises(ValueError):
        ReplayWindow(floor=-1)
    with pytest.raises(ValueError):
        ReplayWindow(capacity=0)


@given(
    st.lists(st.integers(1, 300), max_size=200),
    st.integers(1, 400),
)
def test_window_is_sound_and_complete_within_capacity(marks: list[int], capacity: int) -> None:
    w = ReplayWindow(capacity=capacity)
    stored: set[int] = set()
    for seq in marks:
        w.mark_stored([seq])
        stored.add(seq)
        # Soundness: DUPLICATE only for what was really stored (never rejects new work).
        assert all(s in stored for s in range(1, 310) if w.is_stored(s))
    contiguous = 0
    while contiguous + 1 in stored:
        contiguous += 1
    assert w.floor <= contiguous  # a small window may forget, never invent
    if capacity >= 300:  # everything fits: the window knows exactly what is stored
        assert w.floor == contiguous
        assert {s for s in range(1, 310) if w.is_stored(s)} == stored


def test_windows_load_each_device_once() -> None:
    loads: list[str] = []

    def load(device_id: str) -> ReplayWindow:
        loads.append(device_id)
        return ReplayWindow(floor=5)

    windows = ReplayWindows(load)
    assert windows.get("a").floor == 5
    windows.get("a").mark_stored([6])
    assert windows.get("a").floor == 6 and loads == ["a"]
    windows.forget("a")
    assert windows.get("a").floor == 5 and loads == ["a", "a"]


class FakeIngest:
    """How an ingest worker uses the window: filter, idempotent insert, mark, ack."""

    def __init__(self, store: dict[int, str]) -> None:
        self.store = store
        floor = 0
        while floor + 1 in store:
            floor += 1
        self.window = ReplayWindow(floor, (s for s in store if s > floor))
        self.counts: dict[str, int] = {}

    def receive(self, records: dict[int, str], crash_before_commit: bool = False) -> list[int]:
        new, _dup = self.window.split(records)
        if not new:
            self.counts[Reason.DUPLICATE] = self.counts.get(Reason.DUPLICATE, 0) + 1
            return sorted(records)  # re-ack without touching the store
        if crash_before_commit:
            raise RuntimeError("worker died")
        for seq in new:
            self.store.setdefault(seq, records[seq])  # INSERT ... ON CONFLICT DO NOTHING
        self.window.mark_stored(new)  # only after the commit
        return sorted(records)


def test_ingest_policy_lost_ack_restart_and_retransmission() -> None:
    store: dict[int, str] = {}
    worker = FakeIngest(store)
    stale = FakeIngest(store)  # a second worker on the same shared subscription
    assert worker.receive({1: "a", 2: "b"}) == [1, 2]
    assert worker.receive({1: "a", 2: "b"}) == [1, 2]  # ack was lost: re-acked
    assert worker.counts == {"duplicate": 1} and store == {1: "a", 2: "b"}
    with pytest.raises(RuntimeError):
        worker.receive({3: "c"}, crash_before_commit=True)
    worker = FakeIngest(store)  # restart: state comes from the store
    assert worker.window.floor == 2
    assert worker.receive({3: "c", 2: "b"}) == [2, 3]  # never stored -> processed again
    assert store == {1: "a", 2: "b", 3: "c"} and worker.counts == {}
    # The other worker never saw 1..3: it processes them, the store deduplicates.
    assert stale.receive({1: "a", 3: "c"}) == [1, 3]
    assert store == {1: "a", 2: "b", 3: "c"} and stale.window.floor == 1
