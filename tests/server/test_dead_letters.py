"""Dead letters in the HR store (SQLite and PostgreSQL) and through the HR API: counted, deduplicated,
bounded, listed without bodies, one shown with its body to admins only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sync.server.store import HRStore, dead_letters, records
from sync.server.store.dead_letters import DeadLetter
from tests.server.builders import bearer


def _letter(n: int, *, seq: int | None = None) -> DeadLetter:
    return DeadLetter("gate-1", "edgehr/v1/gate-1/up/records", "bad-payload", f"error {n}", f"{n:04x}" * 4, 8,
                      record_seq=seq, digest=None if seq is None else "d" * 32)


def test_a_dead_letter_is_counted_kept_once_and_the_table_stays_bounded(store: HRStore) -> None:
    records.dead_letter(store, _letter(1))
    records.dead_letter(store, _letter(1))  # the same message again: one row, counted twice
    records.dead_letter(store, _letter(2, seq=7))
    letters = dead_letters.recent(store)
    assert sorted((letter["record_seq"] or 0, letter["count"]) for letter in letters) == [(0, 2), (7, 1)]
    assert {r["reason"]: r["count"] for r in records.rejection_counts(store)} == {"bad-payload": 3}
    with store.db.transaction() as tx:
        for n in range(dead_letters.MAX_ROWS + 5):
            dead_letters.add(tx, _letter(100 + n), f"2026-03-02T09:00:{n % 60:02d}+00:00")
    with store.db.read() as tx:
        assert tx.execute("SELECT count(*) FROM dead_letters").scalar() == dead_letters.MAX_ROWS


def test_the_api_lists_dead_letters_and_shows_one_body_to_admins(client: TestClient, store: HRStore) -> None:
    records.dead_letter(store, _letter(3))
    it, admin = bearer(store, "it"), bearer(store, "admin")
    listed = client.get("/api/dead-letters", headers=it).json()["dead_letters"]
    assert [letter["error"] for letter in listed] == ["error 3"] and "body" not in listed[0]
    assert client.get("/api/dead-letters?device_id=other", headers=it).json()["dead_letters"] == []
    assert client.get(f"/api/dead-letters/{listed[0]['id']}", headers=it).status_code == 403
    assert client.get(f"/api/dead-letters/{listed[0]['id']}", headers=admin).json()["body"] == "0003" * 4
    assert client.get("/api/dead-letters/99999", headers=admin).status_code == 404
    assert client.get(f"/api/dead-letters/{2**64}", headers=admin).status_code == 422
