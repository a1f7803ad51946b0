"""Retention of interview data: a policy per site, and the job that enforces it on the server.

A site's policy says after how many days a booth deletes a session's audio (``audio_days``, default 30: the
server never holds audio) and after how many days transcripts and scores are deleted (``transcript_days``,
default 365), counted from the session's completion. The job erases every session past its site's
``transcript_days`` (``interview_erasure``) and records one row of counts per run, never content. The policy
reaches the site's devices as a ``retention-policy`` command (``booth_retention.send_policies``), queued in the
transaction that sets it and again by each run for devices registered or moved since.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from sync.server.store import audit, booth_retention
from sync.server.store.database import Tx
from sync.server.store.interview_erasure import erase_session_in

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

DEFAULT_AUDIO_DAYS = 30
DEFAULT_TRANSCRIPT_DAYS = 365
#: The policy a site without one of its own follows (a row with this site name overrides the defaults).
DEFAULT_SITE = "*"
MAX_DAYS = 3650
COUNTS = ("sessions", "answers", "scores", "overrides", "records")


def policies(store: HRStore) -> list[dict[str, Any]]:
    """Every site's policy: the sites of registered devices and any site with a stored policy."""
    with store.db.read() as tx:
        rows = tx.execute("SELECT site, audio_days, transcript_days, updated_by, updated_at FROM retention_policies")
        stored = {r["site"]: r for r in rows.dicts()}
        sites = {str(s) for (s,) in tx.execute("SELECT DISTINCT site FROM devices").all()}
    default = stored.get(DEFAULT_SITE) or {"audio_days": DEFAULT_AUDIO_DAYS, "transcript_days": DEFAULT_TRANSCRIPT_DAYS}
    out = []
    for site in sorted(sites | set(stored) | {DEFAULT_SITE}):
        row = stored.get(site)
        used = row or default
        out.append(
            {
                "site": site,
                "audio_days": int(used["audio_days"]),
                "transcript_days": int(used["transcript_days"]),
                "own_policy": row is not None,
                "updated_by": row["updated_by"] if row else None,
                "updated_at": row["updated_at"] if row else None,
            }
        )
    return out


def set_policy(
    store: HRStore, site: str, audio_days: int, transcript_days: int, actor: str, reason: str = ""
) -> dict[str, Any]:
    """Set a site's policy (audited with the one before and the reason) and queue it for the site's devices."""
    if not (1 <= audio_days <= MAX_DAYS and 1 <= transcript_days <= MAX_DAYS):
        raise InputError("Retention days must be 1 to 3650.", "Give audio_days and transcript_days in that range.")
    if audio_days > transcript_days:
        raise InputError("Audio would outlive its transcript.", "Make audio_days at most transcript_days.")
    before = next((p for p in policies(store) if p["site"] == site), None)
    now = store.now_iso()
    with store.db.transaction() as tx:
        tx.execute("DELETE FROM retention_policies WHERE site = ?", (site,))
        tx.execute(
            "INSERT INTO retention_policies (site, audio_days, transcript_days, updated_by, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (site, audio_days, transcript_days, actor, now),
        )
        queued = booth_retention.send_policies(tx, _wanted(tx), now)
        detail: dict[str, Any] = {"audio_days": audio_days, "transcript_days": transcript_days, "devices": queued}
        if before is not None:
            detail["before"] = {"audio_days": before["audio_days"], "transcript_days": before["transcript_days"]}
        if reason:
            detail["reason"] = reason
        audit.record(tx, now, actor, "retention.policy", f"site:{site}", detail)
    return next(p for p in policies(store) if p["site"] == site)


def _wanted(tx: Tx) -> dict[str, dict[str, int]]:
    """The policy each active device's site follows (its own, else "*"); none where no policy is stored."""
    stored = {
        str(site): {"audio_days": int(a), "transcript_days": int(t)}
        for site, a, t in tx.execute("SELECT site, audio_days, transcript_days FROM retention_policies").all()
    }
    wanted = {}
    for device_id, site in tx.execute("SELECT id, site FROM devices WHERE status = 'active'").all():
        policy = stored.get(str(site)) or stored.get(DEFAULT_SITE)
        if policy is not None:
            wanted[str(device_id)] = policy
    return wanted


def send_policies(store: HRStore) -> dict[str, int]:
    """Queue the policy for every device whose last command says otherwise (registered or moved since)."""
    with store.db.transaction() as tx:
        return booth_retention.send_policies(tx, _wanted(tx), store.now_iso())


def history(store: HRStore, limit: int = 50) -> list[dict[str, Any]]:
    """Policy changes, newest first: who, when, which site, before and after, why (from the audit log)."""
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT at, actor, subject, detail FROM audit_log WHERE action = 'retention.policy' ORDER BY id DESC"
            " LIMIT ?",
            (limit,),
        ).dicts()
    return [r | {"site": str(r["subject"]).removeprefix("site:"), "detail": json.loads(r["detail"])} for r in rows]


def _expired(store: HRStore) -> list[str]:
    """Sessions completed longer ago than their site's transcript_days."""
    days = {p["site"]: p["transcript_days"] for p in policies(store)}
    now_ms = int(store.now().timestamp() * 1000)
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT s.session_id, s.completed_ms, d.site FROM interview_sessions s"
            " LEFT JOIN devices d ON d.id = s.device_id WHERE s.erased_at IS NULL"
        ).all()
    return [
        str(sid) for sid, completed, site in rows
        if int(completed) < now_ms - days.get(str(site), days[DEFAULT_SITE]) * 86_400_000
    ]  # fmt: skip


def run(store: HRStore, started_by: str = "retention-job") -> dict[str, Any]:
    """Erase every expired session; record and return the counts of this run."""
    expired, now = _expired(store), store.now_iso()
    counts: Counter[str] = Counter()
    with store.db.transaction() as tx:
        for session_id in expired:
            counts += erase_session_in(tx, session_id, now)
        values = [counts[k] for k in COUNTS]
        tx.execute(
            "INSERT INTO retention_runs (at, started_by, sessions, answers, scores, overrides, records)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (now, started_by, *values),
        )
        if counts["sessions"]:
            audit.record(tx, now, started_by, "retention.run", "interviews", dict(zip(COUNTS, values, strict=True)))
    return {"at": now, "started_by": started_by, **dict(zip(COUNTS, values, strict=True))}


def runs(store: HRStore, limit: int = 100) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        return tx.execute(
            "SELECT at, started_by, sessions, answers, scores, overrides, records FROM retention_runs"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        ).dicts()
