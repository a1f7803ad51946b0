"""The batched ingest (a few statements per batch) keeps the per-record contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json

from sync.protocol import PunchCorrectionBody, PunchCorrectionRecord, body_dict
from sync.server.store import HRStore, attendance, records, webhook_rows
from tests.server.builders import BASE_MS, punch_body, punch_record

SECRET = "s" * 32


def counts(store: HRStore) -> dict[str, int]:
    return {r["reason"]: r["count"] for r in records.rejection_counts(store)}


def correction(seq: int, corrects_seq: int) -> PunchCorrectionRecord:
    body = PunchCorrectionBody(action="void", employee_no="E001", direction="in", at_ms=BASE_MS,
                               clock_synced=True,
                               reason="walked past by mistake", admin="site-admin", corrects_seq=corrects_seq)
    return PunchCorrectionRecord(seq=seq, type="punch-correction", ref=f"fix-{seq}", created_at_ms=0,
                                 clock_synced=True, body=body)


def test_digest_from_the_stored_text_equals_the_digest_of_the_record() -> None:
    # Digests already in databases were sha256(canonical({"type", "body"})): the one-pass form must match.
    body = punch_body(7) | {"note": "迟到 \u2028 \"quoted\"", "nested": {"b": [1.5, None], "a": True}}
    old = hashlib.sha256(
        json.dumps({"type": "punch", "body": body}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        .encode("utf-8")
    ).hexdigest()[:32]
    assert records.digest_of("punch", records.canonical(body)) == old == records.digest("punch", body)
    assert records.digest_of("punch-correction", records.canonical(body)) != old


def test_one_batch_of_new_known_and_reused_records(store: HRStore) -> None:
    records.ingest(store, "gate-1", [punch_record(s) for s in (1, 2, 3)])
    batch = [
        punch_record(5), punch_record(4),  # new, out of order
        punch_record(1), punch_record(2),  # stored before, same content
        punch_record(3, employee_no="E999"),  # stored before, other content
        punch_record(6, employee_no="E999"), punch_record(6, employee_no="E998"),  # twice in the batch, differing
    ]
    result = records.ingest(store, "gate-1", batch)
    assert result.stored == [4, 5, 6]
    assert result.duplicates == [1, 2] and result.conflicts == [3, 6]
    assert result.ackable == [1, 2, 4, 5, 6]
    assert counts(store) == {"replay": 1}
    assert records.ingest(store, "gate-1", batch).ackable == [1, 2, 4, 5, 6]
    # Seq 3 reused again (counted); seq 6's second copy differs from its first (a conflict within the batch,
    # not counted as reuse, as before batching).
    assert counts(store) == {"replay": 2}
    assert records.ingest(store, "gate-1", [punch_record(s, employee_no="E7") for s in (1, 2)]).conflicts == [1, 2]
    assert counts(store) == {"replay": 4}  # two occurrences, one statement
    stored = {p["seq"]: p["employee_no"] for p in attendance.punches(store, device_id="gate-1")}
    assert stored == {1: "E001", 2: "E001", 3: "E001", 4: "E001", 5: "E001", 6: "E999"}


def test_punches_corrections_and_their_webhooks_keep_sequence_order(store: HRStore) -> None:
    webhook_rows.create(store, url="https://hr.example/hook", secret=SECRET, events=["punch", "correction"],
                        actor="t")
    webhook_rows.create(store, url="https://other.example/hook", secret=SECRET, events=["punch"], actor="t")
    four = punch_record(4)  # a device bug: one punch uid under two seqs
    same_uid = four.model_copy(update={"body": four.body.model_copy(update={"uid": "gate-1-punch-1"})})
    batch = [punch_record(1), correction(2, corrects_seq=1), punch_record(3), same_uid]
    result = records.ingest(store, "gate-1", batch)
    assert result.stored == [1, 2, 3, 4]
    # The correction found the punch stored earlier in the same batch.
    (fix,) = attendance.corrections(store)
    assert fix["punch_uid"] == "gate-1-punch-1"
    assert [p["seq"] for p in attendance.punches(store)] == [1, 3]
    assert counts(store) == {"duplicate": 1}
    queued = [(d["webhook_id"], d["event"]) for d in webhook_rows.deliveries(store)]
    assert queued == [(1, "punch"), (2, "punch"), (1, "correction"), (1, "punch"), (2, "punch")]
    with store.db.read() as tx:
        bodies = [json.loads(r[0]) for r in tx.execute("SELECT body FROM webhook_deliveries ORDER BY id").all()]
    assert [b["data"].get("uid") for b in bodies if b["event"] == "punch"] == [
        "gate-1-punch-1", "gate-1-punch-1", "gate-1-punch-3", "gate-1-punch-3"
    ]


def test_a_full_batch_is_stored_once_with_one_webhook_row_per_punch_and_hook(store: HRStore) -> None:
    webhook_rows.create(store, url="https://hr.example/hook", secret=SECRET, events=["punch"], actor="t")
    webhook_rows.create(store, url="https://x.example/hook", secret=SECRET, events=["punch"], actor="t")
    batch = [punch_record(s, at_ms=1_772_413_200_000 + s) for s in range(1, 601)]  # more than one chunk
    assert records.ingest(store, "gate-1", batch).stored == list(range(1, 601))
    assert records.ingest(store, "gate-1", batch).duplicates == list(range(1, 601))
    assert len(attendance.punches(store)) == 600 and records.highest_contiguous_seq(store, "gate-1") == 600
    assert len(webhook_rows.deliveries(store)) == 1200
    with store.db.read() as tx:
        stored = tx.execute("SELECT body, digest FROM records WHERE device_id = 'gate-1' AND seq = 600").one()
    assert stored is not None and json.loads(stored[0]) == body_dict(batch[-1].body)
    assert stored[1] == records.digest("punch", body_dict(batch[-1].body))
