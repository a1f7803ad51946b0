"""What each server command does on the device: one handler per command type, and what they may change.

Each handler runs inside the transaction that records the command as applied (``device.courier.downlink``)
and returns its outcome ("applied" or "refused") with a detail for the audit log; an InputError or
StoreError it raises refuses the command with nothing of it left behind.
"""

from __future__ import annotations

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
from device.config.device import DeviceConfig
from device.courier.settings_file import flat_keys, merge, render_toml
from device.courier.updates import Pending, Updates
from device.courier.updates import report as report_update
from device.store import Store, booth_rights, candidate_templates, employees, outbox, retention_policy
from device.store import candidates as booth_candidates
from device.store.candidates import BoothCandidate
from device.store.snapshots import delete_rows_of as delete_snapshot_rows
from sync.keyfiles import write_atomic
from sync.protocol import (
    CANDIDATE_ERASURE,
    CONSENT_WITHDRAWN,
    CandidatesBody,
    CandidateTemplatesBody,
    Command,
    ConfigBody,
    EraseBody,
    GalleryBody,
    PeerKeys,
    PublicIdentity,
    ResequenceBody,
    RetentionPolicyBody,
    RotateKeyBody,
    UpdateBody,
    key_id,
)

#: Who the audit log names for what the server's commands did.
ACTOR = "server"


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
    #: The update inbox (``device.courier.updates``); None on a device with no release signing key.
    updates: Updates | None = None


Result = tuple[str, dict[str, Any]]
Handler = Callable[[DownlinkContext, sqlite3.Connection, Command, datetime], Result]


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
    if body.reason == CANDIDATE_ERASURE:  # a booth: the candidate's audio, transcripts, sessions, list entry
        return _erase_candidates(conn, body)
    templates = 0
    snapshots: list[str] = []
    for employee_no in body.employee_nos:
        templates += employees.delete_templates(ctx.store, employee_no, at=at, actor=ACTOR, reason=body.reason)
        if body.reason == CONSENT_WITHDRAWN:  # withdrawn elsewhere: no enrolment here without new consent
            employees.close_consents(
                conn, employees.open_consent_ids(conn, employee_no, employees.FACE_PURPOSE), actor=ACTOR, at=at
            )
        snapshots.extend(delete_snapshot_rows(conn, employee_no))
    # Unlinked before the command's transaction commits, on purpose: should it roll back, its rows point at
    # files already gone (read as "no snapshot") and the server's resend deletes them; a committed erase
    # never leaves a face picture behind.
    for path in snapshots:
        with suppress(FileNotFoundError):
            Path(path).unlink()
    return "applied", {"erasure_id": body.erasure_id, "templates": templates, "snapshots": len(snapshots)}


def _erase_candidates(conn: sqlite3.Connection, body: EraseBody) -> Result:
    sessions = answers = redacted = listed = reports = templates = 0
    files: list[str] = []
    for candidate_id in body.employee_nos:
        erased = booth_rights.erase_candidate(conn, candidate_id)
        sessions, answers = sessions + erased.sessions, answers + erased.answers
        redacted, listed = redacted + erased.outbox_redacted, listed + erased.listed
        reports += erased.self_reports
        templates += erased.templates
        files += erased.audio_files
    for path in files:  # as for snapshots: a committed erase never leaves a recording behind
        with suppress(FileNotFoundError):
            Path(path).unlink()
    return "applied", {"erasure_id": body.erasure_id, "sessions": sessions, "answers": answers,
                       "audio_files": len(files), "outbox_redacted": redacted, "list_entries": listed,
                       "self_reports": reports, "templates": templates}


def _config(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    assert isinstance(body, ConfigBody)
    if ctx.config_path is None:
        return "refused", {"reason": "this device was started without a config file to update"}
    merged = merge(ctx.config.model_dump(mode="json"), body.settings)
    try:
        new = DeviceConfig.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        return "refused", {"reason": f"invalid settings: {problems}", "config_version": body.config_version}
    if new.device.id != ctx.config.device.id:
        return "refused", {"reason": "device.id cannot be changed remotely", "config_version": body.config_version}
    write_atomic(ctx.config_path, render_toml(new.model_dump(mode="json", exclude_none=True)).encode("utf-8"))
    ctx.config = new
    return "applied", {"config_version": body.config_version, "keys": sorted(flat_keys(body.settings))}


def _candidates(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    assert isinstance(body, CandidatesBody)
    # The list replaces the booth's whole list (device.store.candidates); names stay out of the audit detail.
    listed = [
        BoothCandidate(c.candidate_id, c.name, c.role_id, c.question_bank_id, c.valid_until_ms)
        for c in body.candidates
    ]
    dropped = booth_candidates.replace(conn, listed, command_seq=body.command_seq, at_ms=to_ms(at))
    pruned = candidate_templates.prune(conn, [c.candidate_id for c in listed])  # off the list: photo gone too
    return "applied", {
        "candidates": len(listed),
        "ids": [c.candidate_id for c in listed][:100],
        "replaced": dropped,
        "templates_removed": pruned,
    }


def _candidate_templates(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    assert isinstance(body, CandidateTemplatesBody)
    if ctx.data_key is None:
        return "refused", {"reason": "this device has no data key to store templates with"}
    stored = removed = 0
    for entry in body.upserts:
        stored += candidate_templates.replace(conn, ctx.data_key, entry.candidate_id, entry.model, entry.templates,
                                              command_seq=body.command_seq, at_ms=to_ms(at))  # fmt: skip
    for candidate_id in body.removals:
        removed += candidate_templates.delete(conn, candidate_id)
    return "applied", {"candidates": [e.candidate_id for e in body.upserts][:100], "templates": stored,
                       "removed_templates": removed}  # fmt: skip


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


def _resequence(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    """Renumber inside the command's transaction (``device.courier.resequence``); the detail says how many
    rows moved and where."""
    assert isinstance(body, ResequenceBody)
    moved = outbox.renumber(conn, list(body.records), body.next_record_seq)
    detail: dict[str, Any] = {"next_record_seq": body.next_record_seq, "moved": len(moved)}
    if moved:
        detail["new_seqs"] = [min(moved.values()), max(moved.values())]
    return "applied", detail


def _retention_policy(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    """The site's policy replaces the booth's (its retention job reads it at its next run). The protocol body
    checked the ranges and that audio does not outlive its transcript; a terminal keeps it and deletes nothing."""
    assert isinstance(body, RetentionPolicyBody)
    retention_policy.replace(conn, body.audio_days, body.transcript_days, command_seq=body.command_seq,
                             at_ms=to_ms(at))
    return "applied", {"audio_days": body.audio_days, "transcript_days": body.transcript_days,
                       "enforced": ctx.config.device.kind == "booth"}


def _update(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> Result:
    """Queue the release for staging (``device.courier.updates``); its outcome travels as an ``update-status``
    record. A device that cannot take updates says so in one at once, so the rollout does not wait for it."""
    assert isinstance(body, UpdateBody)
    if ctx.updates is None:
        reason = "this device has no release signing key (/etc/edgehr/release-signing.pub): updates are off"
        pending = Pending(body.rollout_id, body.command_seq, body.release_version, body.manifest_sha256, body.source)
        report_update(conn, pending, "refused", reason, None, to_ms(at), ctx.clock.synced())
        return "refused", {"reason": reason}
    return "applied", ctx.updates.accept(body)


HANDLERS: dict[type[Command], Handler] = {
    GalleryBody: _gallery,
    EraseBody: _erase,
    ConfigBody: _config,
    CandidatesBody: _candidates,
    RotateKeyBody: _rotate_key,
    ResequenceBody: _resequence,
    RetentionPolicyBody: _retention_policy,
    UpdateBody: _update,
    CandidateTemplatesBody: _candidate_templates,
}
