"""Candidates' self-reported demographic categories (entered through HR, or reported at a booth as a
``candidate-demographics`` record): kept in their own table, read only by the bias audit and by auditor-role
routes. Nothing of the review, the ranking, the booths or the webhooks reads it; a booth
never receives it (the scorer cannot see it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from sync.protocol import CandidateDemographicsBody
from sync.server import demographics
from sync.server.store import audit
from sync.server.store.database import Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore


def record(
    store: HRStore, candidate_id: str, answers: Mapping[str, str | None], source: str, actor: str
) -> dict[str, Any]:
    """Set a candidate's answers (dimension -> category, "prefer-not-to-say", or None to remove one).
    The audit log keeps who changed which dimensions, never the answers."""
    for dimension, value in answers.items():
        if value is not None and not demographics.allowed(dimension, value):
            raise InputError(f"{dimension}={value!r} is not a category of the audit.",
                             "Use GET /api/demographics/categories for the lists.")  # fmt: skip
    now = store.now_iso()
    with store.db.transaction() as tx:
        for dimension, value in answers.items():
            tx.execute("DELETE FROM candidate_demographics WHERE candidate_id = ? AND dimension = ?",
                       (candidate_id, dimension))  # fmt: skip
            if value is not None:
                tx.execute(
                    "INSERT INTO candidate_demographics (candidate_id, dimension, value, source, recorded_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (candidate_id, dimension, value, source, now),
                )
        audit.record(tx, now, actor, "demographics.record", f"candidate:{candidate_id}",
                     {"dimensions": sorted(answers), "source": source})  # fmt: skip
    return of(store, candidate_id)


def from_booth(tx: Tx, device_id: str, body: CandidateDemographicsBody, now: str) -> int:
    """A booth's ``candidate-demographics`` record, inside the ingest transaction: each answered dimension
    replaces the candidate's (source "booth"); the audit log names the dimensions, never the answers. A report
    from a booth that has not confirmed an ``erase`` of this candidate yet predates the erasure: dropped.
    Returns how many answers were stored."""
    pending_erasure = tx.execute(
        "SELECT 1 FROM candidate_erasures e JOIN candidate_erasure_commands c ON c.erasure_id = e.erasure_id"
        " JOIN downlinks d ON d.device_id = c.device_id AND d.command_seq = c.command_seq"
        " WHERE e.candidate_id = ? AND c.device_id = ? AND d.confirmed_at IS NULL",
        (body.candidate_id, device_id),
    ).one()
    if pending_erasure is not None or not body.answers:
        return 0
    for dimension, value in body.answers.items():
        tx.execute("DELETE FROM candidate_demographics WHERE candidate_id = ? AND dimension = ?",
                   (body.candidate_id, dimension))  # fmt: skip
        tx.execute(
            "INSERT INTO candidate_demographics (candidate_id, dimension, value, source, recorded_at)"
            " VALUES (?, ?, ?, 'booth', ?)",
            (body.candidate_id, dimension, value, now),
        )
    audit.record(tx, now, f"device:{device_id}", "demographics.record", f"candidate:{body.candidate_id}",
                 {"dimensions": sorted(body.answers), "source": "booth", "session_id": body.session_id})  # fmt: skip
    return len(body.answers)


def of(store: HRStore, candidate_id: str) -> dict[str, Any]:
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT dimension, value, source, recorded_at FROM candidate_demographics WHERE candidate_id = ?"
            " ORDER BY dimension",
            (candidate_id,),
        ).dicts()
    return {"candidate_id": candidate_id, "answers": {r["dimension"]: r["value"] for r in rows}, "rows": rows}


def categories_of(store: HRStore, candidate_ids: list[str]) -> dict[str, dict[str, str | None]]:
    """candidate -> dimension -> category (None: unknown, i.e. not reported or "prefer not to say")."""
    found: dict[str, dict[str, str | None]] = {c: dict.fromkeys(demographics.DIMENSIONS) for c in candidate_ids}
    with store.db.read() as tx:
        for start in range(0, len(candidate_ids), 250):
            chunk = candidate_ids[start : start + 250]
            marks = ", ".join("?" * len(chunk))
            for candidate_id, dimension, value in tx.execute(
                f"SELECT candidate_id, dimension, value FROM candidate_demographics WHERE candidate_id IN ({marks})",  # noqa: S608
                chunk,
            ).all():
                if dimension in demographics.DIMENSIONS and value != demographics.PREFER_NOT_TO_SAY:
                    found[candidate_id][dimension] = value
    return found


def delete_in(tx: Tx, candidate_id: str) -> int:
    """Erase a candidate's answers inside the caller's transaction; returns how many were held."""
    return tx.execute("DELETE FROM candidate_demographics WHERE candidate_id = ?", (candidate_id,)).rowcount
