"""Downlink commands from the server, applied on the device exactly once each.

Each command carries the server's ``command_seq``. Applying it and recording it in
``downlink_commands`` happen in one transaction, so a command met again (the server resent it because
our confirmation was lost) is not applied twice: it is only confirmed again. The courier sends the
confirmations (``ack-downlink``) until the server acknowledges them.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from device.clock import Clock, to_ms
from device.config.device import DeviceConfig
from device.errors import InputError, StoreError
from device.store import Store, audit, employees
from device.store.datakey import DataKey
from sync.keyfiles import write_atomic
from sync.protocol import (
    CandidatesBody,
    Command,
    ConfigBody,
    EraseBody,
    GalleryBody,
    PeerKeys,
    PublicIdentity,
    RotateKeyBody,
    key_id,
)

log = logging.getLogger(__name__)

ACTOR = "server"
CONSENT_PURPOSE = "face-attendance"


@dataclass(frozen=True)
class Outcome:
    command_seq: int
    type: str
    outcome: str  # "applied" or "refused"
    detail: dict[str, Any]
    repeated: bool = False  # met before: only its confirmation is sent again


@dataclass
class DownlinkContext:
    """What the handlers may change: the store, the data key, the config file and the server's keys."""

    store: Store
    clock: Clock
    config: DeviceConfig
    config_path: Path | None
    data_key: DataKey | None
    server_keys: PeerKeys
    save_server_keys: Callable[[PeerKeys], None]


def apply_command(ctx: DownlinkContext, body: Command) -> Outcome:
    """Apply ``body`` unless it was met before; either way it is left waiting for confirmation."""
    kind = body.message_type.value
    row = ctx.store.conn.execute(
        "SELECT type, outcome, detail FROM downlink_commands WHERE command_seq = ?", (body.command_seq,)
    ).fetchone()
    if row is not None:
        with ctx.store.transaction() as conn:
            conn.execute(
                "UPDATE downlink_commands SET confirmed_at_ms = NULL WHERE command_seq = ?", (body.command_seq,)
            )
        return Outcome(body.command_seq, row[0], row[1], json.loads(row[2]), repeated=True)
    at = ctx.clock.now()
    handler = _HANDLERS[type(body)]
    with ctx.store.transaction() as conn:
        # A refused command leaves nothing half-applied: its writes roll back to this savepoint, while
        # the row saying it was refused (and why) still commits.
        conn.execute("SAVEPOINT downlink_command")
        try:
            outcome, detail = handler(ctx, conn, body, at)
        except (InputError, StoreError) as exc:
            conn.execute("ROLLBACK TO downlink_command")
            outcome, detail = "refused", {"reason": str(exc)}
        conn.execute("RELEASE downlink_command")
        conn.execute(
            "INSERT INTO downlink_commands (command_seq, type, outcome, detail, applied_at_ms) VALUES (?, ?, ?, ?, ?)",
            (body.command_seq, kind, outcome, json.dumps(detail, ensure_ascii=False, sort_keys=True), to_ms(at)),
        )
        audit.record(
            conn,
            at=at,
            actor=ACTOR,
            action=f"downlink.{kind}",
            subject=str(body.command_seq),
            detail={"outcome": outcome, **detail},
        )
    log.info("downlink %s #%d %s", kind, body.command_seq, outcome, extra={"detail": detail})
    return Outcome(body.command_seq, kind, outcome, detail)


def unconfirmed(store: Store, limit: int = 1000) -> list[int]:
    rows = store.conn.execute(
        "SELECT command_seq FROM downlink_commands WHERE confirmed_at_ms IS NULL ORDER BY command_seq LIMIT ?",
        (limit,),
    ).fetchall()
    return [int(r[0]) for r in rows]


def mark_confirmed(store: Store, command_seqs: list[int], at_ms: int) -> None:
    with store.transaction() as conn:
        conn.executemany(
            "UPDATE downlink_commands SET confirmed_at_ms = ? WHERE command_seq = ? AND confirmed_at_ms IS NULL",
            [(at_ms, seq) for seq in command_seqs],
        )


def command_floor(store: Store) -> int:
    """Highest command sequence n such that every command 1..n has been met (the hello's floor)."""
    floor = 0
    for (seq,) in store.conn.execute("SELECT command_seq FROM downlink_commands ORDER BY command_seq"):
        if seq != floor + 1:
            break
        floor = seq
    return floor


# -- handlers: each runs inside the transaction that records the command ------------------------------

Result = tuple[str, dict[str, Any]]


def _gallery(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    assert isinstance(body, GalleryBody)
    if ctx.data_key is None:
        return "refused", {"reason": "this device has no data key to store templates with"}
    for entry in body.upserts:
        employees.upsert_employee(ctx.store, entry.employee_no, entry.name, at, ACTOR)
        if not employees.has_consent(ctx.store, entry.employee_no, CONSENT_PURPOSE):
            # The server sends templates only of employees whose consent it recorded at enrolment;
            # the device keeps a pointer to that record rather than a consent of its own making.
            employees.record_consent(
                ctx.store,
                entry.employee_no,
                purpose=CONSENT_PURPOSE,
                text_version="recorded-on-server",
                recorded_by=ACTOR,
                at=at,
            )
        vectors = [np.frombuffer(t, dtype="<f4").copy() for t in entry.templates]
        employees.replace_templates(
            ctx.store,
            ctx.data_key,
            entry.employee_no,
            vectors,
            model=entry.model,
            source="server",
            at=at,
            actor=ACTOR,
        )
    removed = 0
    for employee_no in body.removals:
        removed += employees.delete_templates(ctx.store, employee_no, at=at, actor=ACTOR, reason="gallery removal")
    return "applied", {
        "gallery_version": body.gallery_version,
        "page": body.page,
        "upserts": len(body.upserts),
        "removed_templates": removed,
    }


def _erase(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    assert isinstance(body, EraseBody)
    templates = 0
    snapshots: list[str] = []
    for employee_no in body.employee_nos:
        templates += employees.delete_templates(ctx.store, employee_no, at=at, actor=ACTOR, reason=body.reason)
        rows = conn.execute(
            "SELECT s.punch_id, s.path FROM punch_snapshots s JOIN punches p ON p.id = s.punch_id"
            " WHERE p.employee_no = ?",
            (employee_no,),
        ).fetchall()
        conn.executemany("DELETE FROM punch_snapshots WHERE punch_id = ?", [(r[0],) for r in rows])
        snapshots.extend(str(r[1]) for r in rows)
    for path in snapshots:  # the rows go with the transaction; a file left by a crash holds no row
        with suppress(FileNotFoundError):
            Path(path).unlink()
    return "applied", {"erasure_id": body.erasure_id, "templates": templates, "snapshots": len(snapshots)}


def _config(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    assert isinstance(body, ConfigBody)
    if ctx.config_path is None:
        return "refused", {"reason": "this device was started without a config file to update"}
    current = ctx.config.model_dump(mode="json")
    merged = _merge(current, body.settings)
    try:
        new = DeviceConfig.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        return "refused", {"reason": f"invalid settings: {problems}", "config_version": body.config_version}
    if new.device.id != ctx.config.device.id:
        return "refused", {"reason": "device.id cannot be changed remotely", "config_version": body.config_version}
    write_atomic(ctx.config_path, render_toml(new.model_dump(mode="json", exclude_none=True)).encode("utf-8"))
    ctx.config = new
    return "applied", {"config_version": body.config_version, "keys": sorted(_flat_keys(body.settings))}


def _candidates(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    assert isinstance(body, CandidatesBody)
    # Booths arrive in the next wave: the validated list is kept in the audit log until they do.
    return "applied", {
        "candidates": len(body.candidates),
        "ids": [c.candidate_id for c in body.candidates][:100],
        "stored": "audit-only",
    }


def _rotate_key(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    assert isinstance(body, RotateKeyBody)
    if body.rotate_device_keys:
        return "refused", {"reason": "device key rotation is not built yet; rotate by re-provisioning"}
    peer = ctx.server_keys
    if body.server_keys is not None:
        peer = peer.rotated(PublicIdentity.from_raw(body.server_keys.sign, body.server_keys.box))
    if body.retire_key_ids:
        retired = {bytes.fromhex(k) for k in body.retire_key_ids}
        if {peer.current.sign_id, peer.current.box_id} & retired:
            return "refused", {"reason": "cannot retire the server's current key"}
        peer = PeerKeys(peer.peer_id, peer.current, [p for p in peer.previous if not {p.sign_id, p.box_id} & retired])
    ctx.save_server_keys(peer)
    ctx.server_keys = peer
    return "applied", {"server_key_id": key_id(peer.current.box_raw).hex(), "previous": len(peer.previous)}


_HANDLERS: dict[type[Command], Callable[[DownlinkContext, sqlite3.Connection, Command, datetime], Result]] = {
    GalleryBody: _gallery,
    EraseBody: _erase,
    ConfigBody: _config,
    CandidatesBody: _candidates,
    RotateKeyBody: _rotate_key,
}


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _flat_keys(settings: dict[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in settings.items():
        if isinstance(value, dict):
            keys.extend(_flat_keys(value, f"{prefix}{key}."))
        else:
            keys.append(f"{prefix}{key}")
    return keys


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise InputError(f"A config value of type {type(value).__name__} cannot be written.", "Report this bug.")


def render_toml(data: dict[str, Any]) -> str:
    """The config as TOML: top-level keys first, then one table per section."""
    lines = ["# Written by the courier from a validated server config command."]
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines += [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for name, table in tables.items():
        lines += ["", f"[{name}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"
