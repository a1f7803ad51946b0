"""Records messages into the HR store, many per transaction, and the acknowledgements they earn.

A run of records messages is stored in ONE transaction (one commit, one fsync, for however many arrived
together); only after that commit does the worker acknowledge them. The replay window answers a resend
whose records are all stored without touching the records table.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sync.protocol import Opened, Reason, RecordsBody, ReplayWindow, ReplayWindows, to_ranges
from sync.server.store import HRStore, records, sync_marks
from sync.server.store.records import IngestResult

log = logging.getLogger(__name__)

#: Counter label of a message whose records were all stored before (a resend or a replayed copy):
#: re-acknowledged, never stored twice, not an attack.
DUPLICATE = Reason.DUPLICATE.value
#: At most this many records messages share one transaction (bounds its size and the ack delay).
MAX_MESSAGES_PER_COMMIT = 50
#: Ranges in one ack body (the protocol allows MAX_RANGES = 1000): a bigger union is split in two acks.
MAX_ACK_RANGES = 500


@dataclass(frozen=True)
class Stored:
    """A records message whose records are committed: what to acknowledge once the commit is done."""

    device_id: str
    envelope_seq: int
    window: ReplayWindow
    ackable: list[int]
    result: IngestResult | None  # None: every record was known stored (no ingest needed)


@dataclass(frozen=True)
class Ack:
    """One ``ack`` to send: record sequences and the envelope sequences of the messages it answers."""

    device_id: str
    seqs: list[int]
    envelope_seqs: list[int]


def store_records(store: HRStore, windows: ReplayWindows, run: Sequence[tuple[Opened, RecordsBody]]) -> list[Stored]:
    """Store the records of every message of ``run`` in one transaction; committed when it returns.
    The typed records go to the store as the message carried them."""
    plans: list[Stored] = []
    with store.db.transaction() as tx:
        for opened, body in run:
            device_id = opened.device_id
            window = windows.get(device_id)
            seqs = [r.seq for r in body.records]
            new, _ = window.split(seqs)
            if not new and records.stored_alike(store, device_id, body.records):  # a resend or a replayed copy
                records.count_rejection(store, DUPLICATE, device_id)
                plans.append(Stored(device_id, opened.seq, window, seqs, None))
                continue
            result = records.ingest(store, device_id, body.records)
            if result.duplicates:
                records.count_rejection(store, DUPLICATE, device_id)
            plans.append(Stored(device_id, opened.seq, window, result.ackable, result))
        # A hello waiting for these records may now be satisfied: its watermark moves in this commit.
        sync_marks.settle(tx, {p.device_id for p in plans if p.result is not None and p.result.stored},
                          store.now_iso())
    return plans


def after_commit(stored: Sequence[Stored], counts: Counter[str]) -> list[Ack]:
    """After the commit: mark the replay windows, count, and plan the ``ack``s: one per device for all
    its messages of the run (``messages`` lists them), split when the ranges would grow too many."""
    acks: dict[str, list[Ack]] = {}
    for plan in stored:
        _count(plan, counts)
        groups = acks.setdefault(plan.device_id, [])
        if groups and len(to_ranges(groups[-1].seqs + plan.ackable)) <= MAX_ACK_RANGES:
            groups[-1].seqs.extend(plan.ackable)
            groups[-1].envelope_seqs.append(plan.envelope_seq)
        else:
            groups.append(Ack(plan.device_id, list(plan.ackable), [plan.envelope_seq]))
    return [ack for groups in acks.values() for ack in groups]


def _count(plan: Stored, counts: Counter[str]) -> None:
    result = plan.result
    if result is None:
        counts[DUPLICATE] += 1
        return
    plan.window.mark_stored(result.ackable)
    counts["stored"] += len(result.stored)
    if result.duplicates:
        counts[DUPLICATE] += 1
    if result.conflicts:
        log.error("device %s reused record sequences with other content: %s", plan.device_id, result.conflicts[:20])
