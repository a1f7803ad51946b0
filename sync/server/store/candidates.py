"""Interview candidates: who is expected at which booth, for which role and question bank, and when.

A booth keeps the list HR last sent it: every change that touches a booth's candidates (a candidate added,
changed, moved to another booth or deleted) queues, in the same transaction, one ``candidates`` downlink
command with that booth's whole list (PROTOCOL.md section 8: the list replaces the previous one). The list
holds the candidates whose window has not ended yet, soonest first; a candidate's ``valid_until_ms`` on
the wire is the end of their window. Names are personal data: HR and admins only, never in a log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from core.errors import InputError
from sync.protocol import Candidate
from sync.server.store import audit, candidate_templates, downlinks
from sync.server.store.database import Tx
from sync.server.store.employees import NotFound

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from sync.server.store.hr_store import HRStore

#: Candidates one booth's list may carry: the protocol's limit for a candidates command (CandidatesBody).
MAX_PER_BOOTH = 1000
_COLUMNS = "candidate_id, name, role_id, question_bank_id, window_start_ms, window_end_ms, device_id"


@dataclass(frozen=True)
class CandidateEntry:
    """A candidate as HR schedules them: who, for which role and question bank, when, and at which booth
    (None: not scheduled at a booth yet)."""

    candidate_id: str
    name: str
    role_id: str
    question_bank_id: str
    window_start: datetime
    window_end: datetime
    device_id: str | None


def _ms(moment: datetime, tz: ZoneInfo) -> int:
    # A time without an offset is read in the server's time zone (as HR staff mean it).
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)
    return int(aware.timestamp() * 1000)


def _checked(tz: ZoneInfo, entry: CandidateEntry) -> tuple[int, int]:
    """The window in epoch ms, after checking every field as the booth will (the protocol's Candidate)."""
    start_ms, end_ms = _ms(entry.window_start, tz), _ms(entry.window_end, tz)
    if end_ms <= start_ms:
        raise InputError(
            f"Candidate {entry.candidate_id}'s window ends at or before it starts.",
            "Give a window_end later than window_start.",
        )
    try:
        Candidate.model_validate(
            {
                "candidate_id": entry.candidate_id,
                "name": entry.name,
                "role_id": entry.role_id,
                "question_bank_id": entry.question_bank_id,
                "valid_until_ms": end_ms,
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(
            f"Candidate field {'.'.join(str(p) for p in err['loc'])} is invalid: {err['msg']}.",
            "Ids are 1-64 letters, digits or . _ : - ; names 1-128 characters.",
        ) from None
    return start_ms, end_ms


def _booth(tx: Tx, device_id: str | None) -> None:
    if device_id is None:
        return
    row = tx.execute("SELECT status FROM devices WHERE id = ?", (device_id,)).one()
    if row is None:
        raise NotFound(f"There is no device {device_id}.", "Check the booth's device id, or register the booth.")
    if row[0] != "active":
        raise InputError(
            f"Device {device_id} is revoked: it receives no candidate list.",
            "Choose an active booth.",
            code="conflict",
        )


def booth_list(tx: Tx, device_id: str, now_ms: int) -> list[dict[str, Any]]:
    """The ``candidates`` body of a booth: its candidates whose window has not ended, soonest first."""
    rows = tx.execute(
        "SELECT candidate_id, name, role_id, question_bank_id, window_end_ms FROM candidates"
        " WHERE device_id = ? AND window_end_ms > ? ORDER BY window_start_ms, candidate_id",
        (device_id, now_ms),
    ).all()
    if len(rows) > MAX_PER_BOOTH:
        raise InputError(
            f"Booth {device_id} would have {len(rows)} upcoming candidates; one list carries {MAX_PER_BOOTH}.",
            "Spread the candidates over more booths or over later windows.",
        )
    return [
        {"candidate_id": c, "name": n, "role_id": r, "question_bank_id": q, "valid_until_ms": int(end)}
        for c, n, r, q, end in rows
    ]


def _send(store: HRStore, tx: Tx, booths: set[str | None]) -> dict[str, int]:
    """Queue each touched booth's whole list; return booth -> command_seq."""
    now = store.now()
    now_ms = int(now.timestamp() * 1000)
    sent: dict[str, int] = {}
    for device_id in sorted(b for b in booths if b is not None):
        status = tx.execute("SELECT status FROM devices WHERE id = ?", (device_id,)).scalar()
        if status != "active":  # a revoked booth keeps no list of ours fresh
            continue
        body = {"candidates": booth_list(tx, device_id, now_ms)}
        sent[device_id] = downlinks.emit(tx, device_id, "candidates", body, now.astimezone(UTC).isoformat())
    return sent


def _row(tx: Tx, candidate_id: str) -> dict[str, Any] | None:
    rows = tx.execute(f"SELECT {_COLUMNS}, created_at, updated_at FROM candidates WHERE candidate_id = ?",  # noqa: S608
                      (candidate_id,)).dicts()  # fmt: skip
    return rows[0] if rows else None


def _shape(row: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    def local(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz).isoformat(timespec="seconds")

    return row | {"window_start": local(int(row["window_start_ms"])), "window_end": local(int(row["window_end_ms"]))}


def save(store: HRStore, entry: CandidateEntry, *, actor: str, create: bool) -> dict[str, Any]:
    """Create (``create``; conflict if the id exists) or replace a candidate; the booths it leaves or joins
    get their new lists. Returns the candidate and ``list_sent_to`` {booth: command_seq}."""
    start_ms, end_ms = _checked(store.tz, entry)
    candidate_id, device_id = entry.candidate_id, entry.device_id
    now = store.now_iso()
    with store.db.transaction() as tx:
        _booth(tx, device_id)
        before = _row(tx, candidate_id)
        if create and before is not None:
            raise InputError(f"Candidate {candidate_id} exists already.",
                             "Change it with PUT, or choose another id.", code="conflict")  # fmt: skip
        if not create and before is None:
            raise NotFound(f"There is no candidate {candidate_id}.", "Create it with POST /api/candidates.")
        values = (entry.name, entry.role_id, entry.question_bank_id, start_ms, end_ms, device_id)
        if before is None:
            tx.execute(
                f"INSERT INTO candidates ({_COLUMNS}, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (candidate_id, *values, now, now),
            )
        else:
            tx.execute(
                "UPDATE candidates SET name = ?, role_id = ?, question_bank_id = ?, window_start_ms = ?,"
                " window_end_ms = ?, device_id = ?, updated_at = ? WHERE candidate_id = ?",
                (*values, now, candidate_id),
            )
        sent = _send(store, tx, {device_id, None if before is None else before["device_id"]})
        if before is not None and before["device_id"] != device_id and candidate_templates.count(tx, candidate_id):
            # The registered-photo templates follow the candidate to the new booth and leave the old one.
            candidate_templates.queue(tx, device_id, now, upserts=[candidate_id])
            candidate_templates.queue(tx, before["device_id"], now, removals=[candidate_id])
        audit.record(tx, now, actor, "candidate.create" if before is None else "candidate.update",
                     f"candidate:{candidate_id}", {"device_id": device_id, "lists_sent": sorted(sent)})  # fmt: skip
        saved = _row(tx, candidate_id)
    assert saved is not None
    return _shape(saved, store.tz) | {"list_sent_to": sent}


def delete(store: HRStore, candidate_id: str, actor: str) -> dict[str, Any]:
    """Delete a candidate (their interview sessions stay); their booth gets its new list."""
    now = store.now_iso()
    with store.db.transaction() as tx:
        before = _row(tx, candidate_id)
        if before is None:
            raise NotFound(f"There is no candidate {candidate_id}.", "List candidates with GET /api/candidates.")
        tx.execute("DELETE FROM candidates WHERE candidate_id = ?", (candidate_id,))
        if candidate_templates.delete(tx, candidate_id):
            candidate_templates.queue(tx, before["device_id"], now, removals=[candidate_id])
        sent = _send(store, tx, {before["device_id"]})
        audit.record(tx, now, actor, "candidate.delete", f"candidate:{candidate_id}", {"lists_sent": sorted(sent)})
    return {"candidate_id": candidate_id, "deleted": True, "list_sent_to": sent}


def get(store: HRStore, candidate_id: str) -> dict[str, Any]:
    with store.db.read() as tx:
        row = _row(tx, candidate_id)
    if row is None:
        raise NotFound(f"There is no candidate {candidate_id}.", "List candidates with GET /api/candidates.")
    return _shape(row, store.tz)


def list_all(store: HRStore, device_id: str | None = None) -> list[dict[str, Any]]:
    """Every candidate (or a booth's), soonest window first."""
    sql = f"SELECT {_COLUMNS}, created_at, updated_at FROM candidates"  # noqa: S608 - fixed columns
    with store.db.read() as tx:
        if device_id is None:
            rows = tx.execute(sql + " ORDER BY window_start_ms, candidate_id").dicts()
        else:
            rows = tx.execute(sql + " WHERE device_id = ? ORDER BY window_start_ms, candidate_id", (device_id,)).dicts()
    return [_shape(r, store.tz) for r in rows]
