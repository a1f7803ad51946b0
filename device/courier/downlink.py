"""Downlink commands from the server, applied on the device exactly once each, in command_seq order.

Each command carries the server's ``command_seq`` (gap-free per device). The device applies command
``floor + 1`` only (PROTOCOL.md section 10): one that arrives early (``command_seq > floor + 1``: a
shared-subscription worker overtook another, or a page is missing) is *held* in ``downlink_held``
(sealed with the data key: it may carry face templates) and applied when the gap fills, so an erase is
never undone by an older gallery command arriving late. Held commands survive a restart.

Applying a command and recording it in ``downlink_commands`` happen in one transaction, so a command
met again (the server resent it because our confirmation was lost) is not applied twice: it is only
confirmed again. The courier sends the confirmations (``ack-downlink``) until the server acknowledges
them. A gallery command may come as several pages with the same ``command_seq``; it is applied once all
its pages are there, as one transaction (one gallery version).
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

from core.clock import Clock, to_ms
from core.datakey import DataKey
from core.errors import InputError, StoreError
from device.config.device import DeviceConfig
from device.courier import resequence
from device.store import Store, audit, employees
from device.store import candidates as booth_candidates
from device.store.candidates import BoothCandidate
from sync.keyfiles import write_atomic
from sync.protocol import (
    CONSENT_WITHDRAWN,
    CandidatesBody,
    Command,
    ConfigBody,
    EraseBody,
    GalleryBody,
    MessageType,
    PeerKeys,
    ProtocolError,
    PublicIdentity,
    ResequenceBody,
    RotateKeyBody,
    decode_body,
    encode_body,
    key_id,
)

log = logging.getLogger(__name__)

ACTOR = "server"
#: Pages held ahead of the floor at most; beyond that an early command is dropped unconfirmed (the
#: server sends it again until confirmed), so a confused or hostile stream cannot fill the disk.
MAX_HELD = 2000


@dataclass(frozen=True)
class Outcome:
    command_seq: int
    type: str
    outcome: str  # "applied", "refused", "held" (waiting for its turn or its other pages) or "dropped"
    detail: dict[str, Any]
    repeated: bool = False  # met before: only its confirmation is sent again


@dataclass
class DownlinkContext:
    """What the handlers may change: the store, the data key, the config file, the server's keys, and
    (``rotate_device_keys``, set by the courier) the device's own keys: it makes a new identity pending
    and returns its public half."""

    store: Store
    clock: Clock
    config: DeviceConfig
    config_path: Path | None
    data_key: DataKey | None
    server_keys: PeerKeys
    save_server_keys: Callable[[PeerKeys], None]
    rotate_device_keys: Callable[[], PublicIdentity] | None = None


def receive(ctx: DownlinkContext, body: Command) -> list[Outcome]:
    """Take a command as it arrives: apply it (and any held commands it unblocks) if its turn has come,
    hold it if it is early, confirm it again if it was applied before. Returns what happened, in order."""
    seq = body.command_seq
    kind = body.message_type.value
    row = ctx.store.conn.execute(
        "SELECT type, outcome, detail FROM downlink_commands WHERE command_seq = ?", (seq,)
    ).fetchone()
    if row is not None:  # met before (a resend after a lost confirmation, or a page of it): confirm again
        with ctx.store.transaction() as conn:
            conn.execute("UPDATE downlink_commands SET confirmed_at_ms = NULL WHERE command_seq = ?", (seq,))
        return [Outcome(seq, row[0], row[1], json.loads(row[2]), repeated=True)]
    floor = command_floor(ctx.store)
    if seq <= floor:  # below the floor without a row: nothing to apply or confirm (cannot happen in order)
        return [Outcome(seq, kind, "dropped", {"reason": f"stale: at or below the floor {floor}"})]
    pages = body.pages if isinstance(body, GalleryBody) else 1
    outcomes: list[Outcome] = []
    if seq == floor + 1 and pages == 1:
        outcomes.append(_apply(ctx, body))
    elif not _hold(ctx, body):
        return [Outcome(seq, kind, "dropped", {"reason": f"more than {MAX_HELD} pages held already"})]
    while True:  # held commands whose turn has come, strictly in order
        ready = _ready(ctx, command_floor(ctx.store) + 1)
        if ready is None:
            break
        outcomes.append(_apply(ctx, ready))
    if not any(o.command_seq == seq for o in outcomes):
        outcomes.append(Outcome(seq, kind, "held", {"floor": command_floor(ctx.store), "pages": pages}))
    return outcomes


def apply_command(ctx: DownlinkContext, body: Command) -> Outcome:
    """``receive`` for one command, returning what happened to it (applied, held, repeated...)."""
    outcomes = receive(ctx, body)
    return next((o for o in outcomes if o.command_seq == body.command_seq), outcomes[-1])


def _apply(ctx: DownlinkContext, body: Command) -> Outcome:
    kind = body.message_type.value
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
        conn.execute("DELETE FROM downlink_held WHERE command_seq <= ?", (body.command_seq,))
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


def _context(seq: int, page: int) -> bytes:
    return f"downlink-held:{seq}:{page}".encode()


def _hold(ctx: DownlinkContext, body: Command) -> bool:
    """Keep an early command (or page) until its turn; False if too many are held already."""
    seq = body.command_seq
    page, pages = (body.page, body.pages) if isinstance(body, GalleryBody) else (1, 1)
    if isinstance(body, GalleryBody) and ctx.data_key is None:
        # Without a data key the gallery is refused when applied anyway; never keep templates in clear.
        body = body.model_copy(update={"upserts": []})
    plain = encode_body(body)
    key_id_text, nonce, stored = None, None, plain
    if ctx.data_key is not None:
        nonce, stored = ctx.data_key.seal(plain, _context(seq, page))
        key_id_text = ctx.data_key.key_id
    with ctx.store.transaction() as conn:
        held = conn.execute("SELECT count(*) FROM downlink_held").fetchone()[0]
        if held >= MAX_HELD:
            return False
        # Pages of one command agree on their number; a different paging replaces the older one.
        conn.execute("DELETE FROM downlink_held WHERE command_seq = ? AND pages != ?", (seq, pages))
        conn.execute(
            "INSERT INTO downlink_held (command_seq, page, pages, type, key_id, nonce, body, received_at_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (command_seq, page) DO NOTHING",
            (seq, page, pages, body.message_type.value, key_id_text, nonce, stored, to_ms(ctx.clock.now())),
        )
    return True


def _ready(ctx: DownlinkContext, seq: int) -> Command | None:
    """Held command ``seq`` if all its pages are there (gallery pages merged into one body), else None."""
    rows = ctx.store.conn.execute(
        "SELECT page, pages, type, key_id, nonce, body FROM downlink_held WHERE command_seq = ? ORDER BY page",
        (seq,),
    ).fetchall()
    if not rows or len(rows) != int(rows[0][1]):
        return None
    bodies: list[Command] = []
    for page, _, kind, kid, nonce, stored in rows:
        plain = bytes(stored)
        if nonce is not None:
            if ctx.data_key is None or kid != ctx.data_key.key_id:
                log.error("held downlink %d page %d is sealed with another data key; dropped", seq, page)
                _drop(ctx, seq)
                return None
            plain = ctx.data_key.open(bytes(nonce), plain, _context(seq, int(page)))
        try:
            decoded = decode_body(MessageType(kind), plain)
        except ProtocolError as exc:
            log.error("held downlink %d page %d cannot be read (%s); dropped", seq, page, exc)
            _drop(ctx, seq)
            return None
        assert isinstance(decoded, Command)
        bodies.append(decoded)
    if len(bodies) == 1:
        return bodies[0]
    return merge_pages([b for b in bodies if isinstance(b, GalleryBody)])


def _drop(ctx: DownlinkContext, seq: int) -> None:
    with ctx.store.transaction() as conn:
        conn.execute("DELETE FROM downlink_held WHERE command_seq = ?", (seq,))


def merge_pages(pages: list[GalleryBody]) -> GalleryBody:
    """One gallery command from its pages: every page's upserts, and the removals, applied together."""
    upserts = [entry for page in sorted(pages, key=lambda p: p.page) for entry in page.upserts]
    removals = list(dict.fromkeys(no for page in pages for no in page.removals))
    first = pages[0]
    # Built without validation: each page was validated, and the merged lists may exceed one page's limits.
    return GalleryBody.model_construct(
        command_seq=first.command_seq,
        gallery_version=max(p.gallery_version for p in pages),
        page=1,
        pages=len(pages),
        upserts=upserts,
        removals=removals,
    )


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
    """Highest command sequence n such that every command 1..n has been applied (the hello's floor)."""
    count, highest = store.conn.execute(
        "SELECT count(*), coalesce(max(command_seq), 0) FROM downlink_commands"
    ).fetchone()
    if count == highest:  # applied in order: 1..highest, no gap (the usual case, one indexed query)
        return int(highest)
    floor = 0  # a store from before in-order application may have gaps
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
        if not employees.has_consent(ctx.store, entry.employee_no, employees.FACE_PURPOSE):
            # The server sends templates only of employees whose consent it recorded at enrolment;
            # the device keeps a pointer to that record rather than a consent of its own making.
            employees.record_consent(
                ctx.store,
                entry.employee_no,
                purpose=employees.FACE_PURPOSE,
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
        "pages": body.pages,
        "upserts": len(body.upserts),
        "removed_templates": removed,
    }


def _erase(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    assert isinstance(body, EraseBody)
    templates = 0
    snapshots: list[str] = []
    for employee_no in body.employee_nos:
        templates += employees.delete_templates(ctx.store, employee_no, at=at, actor=ACTOR, reason=body.reason)
        if body.reason == CONSENT_WITHDRAWN:  # withdrawn elsewhere: no enrolment here without new consent
            employees.close_consents(
                conn, employees.open_consent_ids(conn, employee_no, employees.FACE_PURPOSE), actor=ACTOR, at=at
            )
        rows = conn.execute(
            "SELECT s.punch_id, s.path FROM punch_snapshots s JOIN punches p ON p.id = s.punch_id"
            " WHERE p.employee_no = ?",
            (employee_no,),
        ).fetchall()
        conn.executemany("DELETE FROM punch_snapshots WHERE punch_id = ?", [(r[0],) for r in rows])
        snapshots.extend(str(r[1]) for r in rows)
    # Unlinked before the command's transaction commits, on purpose: should it roll back, its rows point at
    # files already gone (read as "no snapshot") and the server's resend deletes them; a committed erase
    # never leaves a face picture behind.
    for path in snapshots:
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
    # The list replaces the booth's whole list (device.store.candidates); names stay out of the audit detail.
    listed = [
        BoothCandidate(c.candidate_id, c.name, c.role_id, c.question_bank_id, c.valid_until_ms)
        for c in body.candidates
    ]
    dropped = booth_candidates.replace(conn, listed, command_seq=body.command_seq, at_ms=to_ms(at))
    return "applied", {
        "candidates": len(listed),
        "ids": [c.candidate_id for c in listed][:100],
        "replaced": dropped,
    }


def _rotate_key(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    assert isinstance(body, RotateKeyBody)
    detail: dict[str, Any] = {}
    if body.rotate_device_keys:
        if ctx.rotate_device_keys is None:
            return "refused", {"reason": "this courier was started without the device's key folder"}
        # The new identity is durable (pending) before this command's row commits: a crash in between
        # brings the command again, and the same pending keys are announced (PROTOCOL.md section 12).
        pending = ctx.rotate_device_keys()
        detail["pending_sign_key_id"] = pending.sign_id.hex()
    peer = ctx.server_keys
    if body.server_keys is not None:
        peer = peer.rotated(PublicIdentity.from_raw(body.server_keys.sign, body.server_keys.box))
    if body.retire_key_ids:
        retired = {bytes.fromhex(k) for k in body.retire_key_ids}
        if {peer.current.sign_id, peer.current.box_id} & retired:
            return "refused", {"reason": "cannot retire the server's current key"}
        peer = PeerKeys(peer.peer_id, peer.current, [p for p in peer.previous if not {p.sign_id, p.box_id} & retired])
    if peer is not ctx.server_keys:
        ctx.save_server_keys(peer)
        ctx.server_keys = peer
    return "applied", {
        **detail,
        "server_key_id": key_id(peer.current.box_raw).hex(),
        "previous": len(peer.previous),
    }


_HANDLERS: dict[type[Command], Callable[[DownlinkContext, sqlite3.Connection, Command, datetime], Result]] = {
    GalleryBody: _gallery,
    EraseBody: _erase,
    ConfigBody: _config,
    CandidatesBody: _candidates,
    RotateKeyBody: _rotate_key,
    ResequenceBody: resequence.apply,
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
