"""Releases and staged rollouts: which devices get an ``update`` command when, and what they reported.

A rollout walks through its stages: the first is a named device group or a percentage of the active
devices, the next ones larger percentages up to 100. Each stage sends ``update`` downlinks to the devices
it adds; the rollout moves to the next stage only once every device reached so far reported ``ok`` in an
``update-status`` record, and halts on the first other result (rolled-back, failed, refused). Which devices
a percentage takes is fixed per rollout (ordered by SHA-256 of rollout id and device id): a stage always
adds to the devices before it, never swaps them.

Reports are applied in the ingest transaction that stores the record. The rollout's row is updated first,
so two workers reporting for one rollout at once take turns: the second sees the first's result.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from sync.protocol import UpdateStatusBody
from sync.server.store import audit, downlinks
from sync.server.store.database import Tx
from sync.server.store.employees import NotFound

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

VERSION = re.compile(r"^[A-Za-z0-9.+_-]{1,64}$")
GROUP = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SOURCE = re.compile(r"^(file|https?)://[^\x00-\x20\x7f]{1,1000}$")


class Conflict(InputError):
    code = "conflict"
    status = 409


def define_release(store: HRStore, version: str, manifest_sha256: str, source: str, notes: str,
                   actor: str) -> dict[str, Any]:
    """Record a release devices can be sent: its version, the SHA-256 of its signed manifest.json, and the
    folder (``file://`` or ``https://``) on the site network where devices fetch it."""
    if not VERSION.match(version):
        raise InputError(f"Release version {version!r} is not 1-64 letters, digits or . + _ -.",
                         "Use the VERSION make-release wrote.")
    if not re.fullmatch(r"[0-9a-f]{64}", manifest_sha256):
        raise InputError("manifest_sha256 is not 64 lower-case hex digits.",
                         "Print it with `python -m fleet.release_signing digest RELEASE`.")
    if not SOURCE.match(source):
        raise InputError(f"Source {source!r} is not a file://, http:// or https:// address.",
                         "Name the release folder as the devices reach it on the site network.")
    with store.db.transaction() as tx:
        if tx.execute("SELECT 1 FROM releases WHERE version = ?", (version,)).one() is not None:
            raise Conflict(f"Release {version} is defined already.", "Build a new release with a new version.")
        tx.execute(
            "INSERT INTO releases (version, manifest_sha256, source, notes, created_at, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (version, manifest_sha256, source, notes, store.now_iso(), actor),
        )
        audit.record(tx, store.now_iso(), actor, "release.define", version, {"source": source})
    return {"version": version, "manifest_sha256": manifest_sha256, "source": source, "notes": notes}


def releases(store: HRStore) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        return tx.execute(
            "SELECT version, manifest_sha256, source, notes, created_at, created_by FROM releases ORDER BY created_at"
        ).dicts()


def set_group(store: HRStore, name: str, device_ids: list[str], actor: str) -> dict[str, Any]:
    """Make the named group exactly these devices (an empty list deletes it)."""
    if not GROUP.match(name):
        raise InputError(f"Group name {name!r} is not 1-64 letters, digits or . _ : -.", "Choose another name.")
    wanted = sorted(set(device_ids))
    with store.db.transaction() as tx:
        known = {str(r[0]) for r in tx.execute("SELECT id FROM devices").all()}
        unknown = [d for d in wanted if d not in known]
        if unknown:
            raise NotFound(f"No device {unknown[0]!r}.", "List devices with GET /api/devices.")
        tx.execute("DELETE FROM device_groups WHERE name = ?", (name,))
        tx.executemany("INSERT INTO device_groups (name, device_id) VALUES (?, ?)", [(name, d) for d in wanted])
        audit.record(tx, store.now_iso(), actor, "device-group.set", name, {"devices": wanted})
    return {"name": name, "device_ids": wanted}


def groups(store: HRStore) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with store.db.read() as tx:
        for name, device_id in tx.execute("SELECT name, device_id FROM device_groups ORDER BY name, device_id").all():
            found.setdefault(str(name), []).append(str(device_id))
    return found


def create(store: HRStore, version: str, *, group: str | None, percent: int | None, widen: list[int],
           actor: str) -> dict[str, Any]:
    """Start a rollout of ``version``: first ``group`` or ``percent`` % of the active devices, then each
    percentage of ``widen`` (increasing, ending at 100) while every report is ``ok``. One runs at a time."""
    if (group is None) == (percent is None):
        raise InputError("Give exactly one of group and percent for the first stage.",
                         "A named device group, or a percentage (1-100) of the active devices.")
    first: dict[str, Any] = {"group": group} if group is not None else {"percent": percent}
    if percent is not None and not 1 <= percent <= 100:
        raise InputError("percent must be 1 to 100.", "Start small: 10 or a pilot group.")
    floor = percent or 0
    if any(not floor < w <= 100 for w in widen) or widen != sorted(set(widen)) or (widen and widen[-1] != 100):
        raise InputError("widen must be increasing percentages above the first stage, ending at 100.",
                         "For example [25, 100].")
    stages = [first, *({"percent": w} for w in widen)]
    rollout_id = "rollout-" + secrets.token_hex(6)
    with store.db.transaction() as tx:
        if tx.execute("SELECT 1 FROM releases WHERE version = ?", (version,)).one() is None:
            raise NotFound(f"No release {version!r}.", "Define it first: POST /api/releases.")
        if group is not None and tx.execute("SELECT 1 FROM device_groups WHERE name = ?", (group,)).one() is None:
            raise NotFound(f"No device group {group!r}.", "Define it: PUT /api/device-groups/{name}.")
        running = tx.execute("SELECT id FROM rollouts WHERE state = 'running'").scalar()
        if running is not None:
            raise Conflict(f"Rollout {running} is still running.", "Let it finish, or halt it first.")
        now = store.now_iso()
        tx.execute(
            "INSERT INTO rollouts (id, version, first_group, stages, stage, state, created_at, created_by, updated_at)"
            " VALUES (?, ?, ?, ?, 0, 'running', ?, ?, ?)",
            (rollout_id, version, group, json.dumps(stages), now, actor, now),
        )
        audit.record(tx, now, actor, "rollout.start", rollout_id, {"version": version, "stages": stages})
        _enter_stage(store, tx, rollout_id, 0)
    return get(store, rollout_id)


def report(store: HRStore, tx: Tx, device_id: str, body: UpdateStatusBody) -> None:
    """A device's ``update-status``: record it, then halt the rollout or widen it (inside ingest's transaction)."""
    row = tx.execute(
        "UPDATE rollouts SET updated_at = ? WHERE id = ? RETURNING state, stage, version",  # locks the row first
        (store.now_iso(), body.rollout_id),
    ).one()
    if row is None or str(row[2]) != body.release_version:
        return  # not a rollout of ours (or another release): the raw record is kept all the same
    state, stage = str(row[0]), int(row[1])
    tx.execute(
        "UPDATE rollout_devices SET result = ?, running_version = ?, detail = ?, reported_at = ?"
        " WHERE rollout_id = ? AND device_id = ? AND command_seq = ?",
        (body.result, body.running_version, body.detail, store.now_iso(), body.rollout_id, device_id,
         body.command_seq),
    )
    if state != "running":
        return
    if body.result != "ok":
        reason = f"{device_id}: {body.result}" + (f" ({body.detail[:200]})" if body.detail else "")
        tx.execute("UPDATE rollouts SET state = 'halted', halted_reason = ? WHERE id = ?", (reason, body.rollout_id))
        audit.record(tx, store.now_iso(), "ingest", "rollout.halt", body.rollout_id, {"reason": reason})
        return
    _widen_if_all_ok(store, tx, body.rollout_id, stage)


def halt(store: HRStore, rollout_id: str, actor: str, reason: str) -> dict[str, Any]:
    with store.db.transaction() as tx:
        changed = tx.execute(
            "UPDATE rollouts SET state = 'halted', halted_reason = ?, updated_at = ?"
            " WHERE id = ? AND state = 'running'",
            (f"halted by {actor}: {reason}"[:500], store.now_iso(), rollout_id),
        ).rowcount
        if changed:
            audit.record(tx, store.now_iso(), actor, "rollout.halt", rollout_id, {"reason": reason})
    return get(store, rollout_id)


def get(store: HRStore, rollout_id: str) -> dict[str, Any]:
    with store.db.read() as tx:
        found = tx.execute(
            "SELECT id, version, first_group, stages, stage, state, halted_reason, created_at, created_by, updated_at"
            " FROM rollouts WHERE id = ?",
            (rollout_id,),
        ).dicts()
        if not found:
            raise NotFound(f"No rollout {rollout_id!r}.", "List them with GET /api/rollouts.")
        rollout = found[0]
        rollout["devices"] = tx.execute(
            "SELECT device_id, stage, command_seq, sent_at, result, running_version, detail, reported_at"
            " FROM rollout_devices WHERE rollout_id = ? ORDER BY stage, device_id",
            (rollout_id,),
        ).dicts()
    rollout["stages"] = json.loads(rollout["stages"])
    return rollout


def listing(store: HRStore) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT id, version, stages, stage, state, halted_reason, created_at FROM rollouts ORDER BY created_at DESC"
        ).dicts()
    for row in rows:
        row["stages"] = json.loads(row["stages"])
    return rows


# -- stages ---------------------------------------------------------------------------------------------


def _widen_if_all_ok(store: HRStore, tx: Tx, rollout_id: str, stage: int) -> None:
    results = [r[0] for r in tx.execute("SELECT result FROM rollout_devices WHERE rollout_id = ?", (rollout_id,)).all()]
    if all(r == "ok" for r in results):
        _enter_stage(store, tx, rollout_id, stage + 1)


def _enter_stage(store: HRStore, tx: Tx, rollout_id: str, stage: int) -> None:
    """Send the release to the devices stage ``stage`` adds; a stage that adds nobody passes at once (its
    devices reported already), and past the last stage the rollout is completed."""
    version, first_group, stages_text = tx.execute(
        "SELECT version, first_group, stages FROM rollouts WHERE id = ?", (rollout_id,)
    ).one() or ("", None, "[]")
    stages = json.loads(stages_text)
    release = tx.execute("SELECT manifest_sha256, source FROM releases WHERE version = ?", (version,)).one()
    assert release is not None  # a rollout references its release
    reached = {str(r[0]) for r in tx.execute("SELECT device_id FROM rollout_devices WHERE rollout_id = ?",
                                             (rollout_id,)).all()}
    while stage < len(stages):
        members = _members(tx, rollout_id, first_group, stages[stage])
        added = [d for d in members if d not in reached]
        if not added and not reached:  # a first stage that reaches nobody must not skip to a wider one
            tx.execute("UPDATE rollouts SET state = 'halted', halted_reason = ? WHERE id = ?",
                       ("the first stage reaches no active device", rollout_id))
            return
        if added:
            body = {"rollout_id": rollout_id, "release_version": version, "manifest_sha256": release[0],
                    "source": release[1]}
            now = store.now_iso()
            for device_id in added:
                seq = downlinks.emit(tx, device_id, "update", body, now)
                tx.execute(
                    "INSERT INTO rollout_devices (rollout_id, device_id, stage, command_seq, sent_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (rollout_id, device_id, stage, seq, now),
                )
            tx.execute("UPDATE rollouts SET stage = ? WHERE id = ?", (stage, rollout_id))
            return
        stage += 1
    tx.execute("UPDATE rollouts SET state = 'completed', stage = ? WHERE id = ?", (len(stages) - 1, rollout_id))


def _members(tx: Tx, rollout_id: str, first_group: str | None, stage: dict[str, Any]) -> list[str]:
    """The devices a stage covers: a group's active members, or the first ceil(p% of n) of the rollout's fixed
    order of the n active devices (the first group's members first, so a later stage includes them)."""
    active = [str(r[0]) for r in tx.execute("SELECT id FROM devices WHERE status = 'active' ORDER BY id").all()]
    pilots = [] if first_group is None else [
        str(r[0]) for r in tx.execute("SELECT device_id FROM device_groups WHERE name = ? ORDER BY device_id",
                                      (first_group,)).all() if str(r[0]) in active
    ]
    if "group" in stage:
        return pilots
    rest = sorted((d for d in active if d not in pilots),
                  key=lambda d: hashlib.sha256(f"{rollout_id}:{d}".encode()).hexdigest())
    order = pilots + rest
    return order[: math.ceil(int(stage["percent"]) * len(active) / 100)]
