"""Sequence ranges: how acks name many sequence numbers in a few bytes.

A range is an inclusive pair ``[first, last]``; a list of ranges is sorted,
non-overlapping and non-adjacent (canonical), so equal sets encode identically.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

SeqRange = tuple[int, int]
#: Record and command sequences (and so every range) stay below 2^63: both stores keep them in a signed
#: 64-bit column (SQLite INTEGER, PostgreSQL BIGINT), and a number the store cannot hold must be refused
#: when the message is opened (``bad-payload``), never fail later inside an ingest worker.
MAX_SEQ = 2**63 - 1


def to_ranges(seqs: Iterable[int]) -> list[SeqRange]:
    """Canonical ranges covering exactly ``seqs`` (any order, duplicates allowed)."""
    out: list[SeqRange] = []
    for seq in sorted(set(seqs)):
        if out and out[-1][1] + 1 == seq:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return out


def iter_seqs(ranges: Iterable[SeqRange]) -> Iterator[int]:
    """Every sequence number in ``ranges``, in order."""
    for first, last in ranges:
        yield from range(first, last + 1)


def range_count(ranges: Iterable[SeqRange]) -> int:
    """How many sequence numbers ``ranges`` cover."""
    return sum(last - first + 1 for first, last in ranges)


def check_ranges(ranges: list[SeqRange]) -> list[SeqRange]:
    """Return ``ranges`` if canonical, else raise ValueError saying why.

    pydantic turns the ValueError into a validation error with the field's location.
    """
    previous_last = 0
    for first, last in ranges:
        if not 1 <= first <= last <= MAX_SEQ:
            raise ValueError(f"range [{first}, {last}] must satisfy 1 <= first <= last < 2^63")
        if first <= previous_last + 1 and previous_last:
            raise ValueError(
                f"range [{first}, {last}] overlaps or touches the previous one; "
                "send sorted, merged ranges (to_ranges builds them)"
            )
        previous_last = last
    return ranges
