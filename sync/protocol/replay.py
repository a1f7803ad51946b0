"""ReplayWindow: a cheap early filter for sequences that are already durably stored.

Policy (PROTOCOL.md, "Replay and duplicates"): the window remembers only sequences
whose storage has *committed*. It answers DUPLICATE ("already stored: re-ack, do
not store again, count as duplicate, not as an attack") or NEW ("not known to be
stored: process it; the store's idempotent insert is the final guard"). It never
answers "reject", so a retransmission of a message that was never stored is always
processed, even after a restart or when another ingest worker stored it: at worst
the window does not know, and the idempotent insert decides.

State: the highest contiguous stored sequence (``floor``: every seq <= floor is
stored) plus a bitmap of stored sequences in (floor, floor + capacity]. A stored
sequence beyond that range is simply not remembered (still safe). After a restart
the window is rebuilt from the store with ``ReplayWindow(floor, stored_above)``.
Record sequences (uplink) and command sequences (downlink) have no permanent gaps
(both live in durable outboxes until acked), so the floor keeps advancing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum

from .ranges import MAX_SEQ

DEFAULT_CAPACITY = 4096


class Verdict(StrEnum):
    """What the window knows about one sequence."""

    NEW = "new"
    DUPLICATE = "duplicate"


class ReplayWindow:
    """Stored sequences of one device in one sequence space. Not thread-safe: one
    window per worker thread, or a lock around it."""

    __slots__ = ("_bits", "_floor", "capacity", "untracked")

    def __init__(
        self,
        floor: int = 0,
        stored_above: Iterable[int] = (),
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        if not 0 <= floor <= MAX_SEQ or capacity < 1:
            raise ValueError(f"floor {floor} or capacity {capacity} out of range")
        self.capacity = capacity
        self._floor = floor
        self._bits = 0  # bit i set <=> seq floor + 1 + i is stored
        # How many stored sequences fell beyond the bitmap (a gap that does not close).
        self.untracked = 0
        self.mark_stored(stored_above)

    @property
    def floor(self) -> int:
        """Highest sequence such that it and every sequence below it are stored."""
        return self._floor

    @property
    def next_expected(self) -> int:
        """``floor + 1``: the only command a device may apply next (commands go in order)."""
        return self._floor + 1

    def is_stored(self, seq: int) -> bool:
        """True only if ``seq`` is known to be durably stored."""
        if seq <= self._floor:
            return True
        offset = seq - self._floor - 1
        return offset < self.capacity and bool(self._bits >> offset & 1)

    def check(self, seq: int) -> Verdict:
        """DUPLICATE if ``seq`` is known stored, else NEW."""
        return Verdict.DUPLICATE if self.is_stored(seq) else Verdict.NEW

    def split(self, seqs: Iterable[int]) -> tuple[list[int], list[int]]:
        """(new, duplicates) among ``seqs``; empty ``new`` means a pure duplicate."""
        new: list[int] = []
        dup: list[int] = []
        for seq in seqs:
            (dup if self.is_stored(seq) else new).append(seq)
        return new, dup

    def mark_stored(self, seqs: Iterable[int]) -> None:
        """Record sequences whose storage committed. Call only *after* the commit."""
        # Ascending order lets the floor advance before later sequences are placed,
        # so a long in-order batch never overflows the bitmap.
        for seq in sorted(seqs):
            if seq <= self._floor:
                continue
            offset = seq - self._floor - 1
            if offset >= self.capacity:
                self.untracked += 1
                continue
            self._bits |= 1 << offset
            if offset == 0:
                # Advance the floor over the run of stored sequences just above it.
                run = (self._bits ^ (self._bits + 1)).bit_length() - 1
                self._floor += run
                self._bits >>= run

    def missing(self, limit: int = 100) -> list[int]:
        """Sequences not stored between the floor and the highest stored one in the
        bitmap (the gap a monitor reports when the floor stops advancing)."""
        out: list[int] = []
        offset = 0
        bits = self._bits
        while bits and len(out) < limit:
            if not bits & 1:
                out.append(self._floor + 1 + offset)
            bits >>= 1
            offset += 1
        return out

    def __repr__(self) -> str:
        return f"ReplayWindow(floor={self._floor}, above={self._bits.bit_count()} stored)"


class ReplayWindows:
    """One ReplayWindow per device, loaded from the store on first use."""

    def __init__(self, load: Callable[[str], ReplayWindow]) -> None:
        self._load = load
        self._windows: dict[str, ReplayWindow] = {}

    def get(self, device_id: str) -> ReplayWindow:
        """The device's window, loading it from the store the first time."""
        window = self._windows.get(device_id)
        if window is None:
            window = self._windows[device_id] = self._load(device_id)
        return window

    def forget(self, device_id: str) -> None:
        """Drop a device's window (device deleted, or its store state was repaired)."""
        self._windows.pop(device_id, None)
