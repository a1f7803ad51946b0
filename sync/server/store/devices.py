"""Registered devices: their identity public keys, status, and which employees each one knows."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from sync.protocol import key_id as protocol_key_id
from sync.protocol.topics import is_valid_device_id
from sync.server.store import audit, downlinks
from sync.server.store.database import Tx
from sync.server.store.employees import NotFound

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

KEY_ID = re.compile(r"^[0-9a-f]{16}$")  # the sync protocol's key id: 8 bytes as lowercase hex

_COLUMNS = "id, name, site, sign_public_key, sign_key_id, box_public_key, box_key_id, status, registered_at, revoked_at"
#: What get/list show besides: the keys a rotation replaced (until retired) and when it happened.
_ROTATION_COLUMNS = "previous_sign_key_id, previous_box_key_id, keys_rotated_at"
#: And HR's flag on a device whose record counter went backwards (``resequence``): kind, since, detail (JSON).
_FLAG_COLUMNS = "sequence_flag, sequence_flag_at, sequence_flag_detail"


def _raw_key(value: str, what: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"The {what} is not standard base64.", "Paste the key as the device printed it.") from exc
    if len(raw) != 32:
        raise InputError(f"The {what} is {len(raw)} bytes, not 32.", "Paste the raw 32-byte public key (base64).")
    return value


@dataclass(frozen=True)
class Registration:
    """A device to register: its id, name and site, and its Ed25519 (sign) and X25519 (box) public keys
    (base64 of 32 bytes each) with their key ids."""

    device_id: str
    name: str
    site: str
    sign_public_key: str
    sign_key_id: str
    box_public_key: str
    box_key_id: str


def register(
    store: HRStore,
    *,
    device_id: str,
    name: str,
    site: str,
    sign_public_key: str,
    sign_key_id: str,
    box_public_key: str,
    box_key_id: str,
    actor: str,
) -> dict[str, Any]:
    """``register_device`` with the registration spelled out as keywords (tools, drills and tests)."""
    registration = Registration(device_id, name, site, sign_public_key, sign_key_id, box_public_key, box_key_id)
    return register_device(store, registration, actor)


def register_device(store: HRStore, device: Registration, actor: str) -> dict[str, Any]:
    """Register a device with its Ed25519 (sign) and X25519 (box) public keys, base64 of 32 bytes each."""
    device_id = device.device_id
    if not is_valid_device_id(device_id):  # the protocol's rule: the id names topics and a certificate
        raise InputError(
            f"Device id {device_id!r} is not 1-64 characters from a-z, 0-9 and '-'.",
            "Choose another id: it names the device's MQTT topics and broker certificate.",
        )
    for key_id in (device.sign_key_id, device.box_key_id):
        if not KEY_ID.match(key_id):
            raise InputError(f"Key id {key_id!r} is not 16 lowercase hex digits.", "Copy the key id from the device.")
    _raw_key(device.sign_public_key, "signing (Ed25519) public key")
    _raw_key(device.box_public_key, "encryption (X25519) public key")
    now = store.now_iso()
    with store.db.transaction() as tx:
        if tx.execute("SELECT 1 FROM devices WHERE id = ?", (device_id,)).one() is not None:
            raise InputError(
                f"Device {device_id} is already registered.",
                "Revoke it and register the replacement under a new id.",
                code="conflict",
            )
        tx.execute(
            f"INSERT INTO devices ({_COLUMNS}, command_seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, NULL, 0)",  # noqa: S608
            (
                device_id,
                device.name.strip() or device_id,
                device.site.strip(),
                device.sign_public_key,
                device.sign_key_id,
                device.box_public_key,
                device.box_key_id,
                now,
            ),
        )
        audit.record(
            tx,
            now,
            actor,
            "device.register",
            f"device:{device_id}",
            {"site": device.site, "sign_key_id": device.sign_key_id, "box_key_id": device.box_key_id},
        )
    return get(store, device_id)


def get(store: HRStore, device_id: str) -> dict[str, Any]:
    with store.db.read() as tx:
        rows = tx.execute(
            f"SELECT {_COLUMNS}, {_ROTATION_COLUMNS}, {_FLAG_COLUMNS} FROM devices WHERE id = ?", (device_id,)  # noqa: S608
        ).dicts()
        if not rows:
            raise NotFound(f"There is no device {device_id}.", "Check the device id, or register the device.")
        employees = [
            r[0]
            for r in tx.execute(
                "SELECT employee_no FROM device_assignments WHERE device_id = ? ORDER BY employee_no", (device_id,)
            ).all()
        ]
    return rows[0] | {"employees": employees}


def list_all(store: HRStore) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        rows = tx.execute(f"SELECT {_COLUMNS}, {_ROTATION_COLUMNS}, {_FLAG_COLUMNS} FROM devices ORDER BY id").dicts()  # noqa: S608
        counts = dict(tx.execute("SELECT device_id, count(*) FROM device_assignments GROUP BY device_id").all())
        last = dict(tx.execute("SELECT device_id, max(received_at) FROM records GROUP BY device_id").all())
    return [r | {"assigned": int(counts.get(r["id"], 0)), "last_record_at": last.get(r["id"])} for r in rows]


def revoke(store: HRStore, device_id: str, actor: str, reason: str = "") -> dict[str, Any]:
    """Stop trusting a device: ingest must refuse its messages from now on (status 'revoked'). ``reason``
    (the HR page asks for one) goes into the audit entry."""
    now = store.now_iso()
    with store.db.transaction() as tx:
        changed = tx.execute(
            "UPDATE devices SET status = 'revoked', revoked_at = ? WHERE id = ? AND status = 'active'", (now, device_id)
        ).rowcount
        if not changed:
            exists = tx.execute("SELECT status FROM devices WHERE id = ?", (device_id,)).scalar()
            if exists is None:
                raise NotFound(f"There is no device {device_id}.", "Check the device id.")
            raise InputError(f"Device {device_id} is already revoked.", "Nothing to do.", code="conflict")
        audit.record(tx, now, actor, "device.revoke", f"device:{device_id}", {"reason": reason} if reason else None)
    return get(store, device_id)


def _require_active(tx: Tx, device_id: str, fix: str) -> None:
    status = tx.execute("SELECT status FROM devices WHERE id = ?", (device_id,)).scalar()
    if status is None:
        raise NotFound(f"There is no device {device_id}.", "Check the device id.")
    if status != "active":
        raise InputError(f"Device {device_id} is revoked.", fix, code="conflict")


def assign(store: HRStore, device_id: str, employee_nos: list[str], actor: str) -> dict[str, Any]:
    """Make the device know exactly these employees; queue a "gallery" command naming the change."""
    wanted = sorted(set(employee_nos))
    now = store.now_iso()
    with store.db.transaction() as tx:
        _require_active(tx, device_id, "Assign employees to an active device.")
        usable = {r[0] for r in tx.execute("SELECT employee_no FROM employees WHERE erased_at IS NULL").all()}
        unknown = [no for no in wanted if no not in usable]
        if unknown:
            raise InputError(
                f"Unknown or erased employees: {', '.join(unknown)}.", "Create them first.", code="not-found"
            )
        before = {
            r[0]
            for r in tx.execute("SELECT employee_no FROM device_assignments WHERE device_id = ?", (device_id,)).all()
        }
        added, removed = sorted(set(wanted) - before), sorted(before - set(wanted))
        for no in removed:
            tx.execute("DELETE FROM device_assignments WHERE device_id = ? AND employee_no = ?", (device_id, no))
        for no in added:
            tx.execute(
                "INSERT INTO device_assignments (device_id, employee_no, assigned_at) VALUES (?, ?, ?)",
                (device_id, no, now),
            )
        command_seq = None
        if added or removed:
            # The ingest side turns this into gallery pages with the employees' templates.
            command_seq = downlinks.emit(
                tx, device_id, "gallery", {"employee_nos": wanted, "added": added, "removed": removed}, now
            )
            audit.record(tx, now, actor, "device.assign", f"device:{device_id}", {"added": added, "removed": removed})
    return get(store, device_id) | {"command_seq": command_seq}


def is_active(store: HRStore, device_id: str) -> bool:
    with store.db.read() as tx:
        return bool(tx.execute("SELECT status FROM devices WHERE id = ?", (device_id,)).scalar() == "active")


def request_key_rotation(store: HRStore, device_id: str, actor: str, reason: str = "") -> int:
    """Queue a ``rotate-key`` command asking the device for new keys; return its command_seq. The device
    answers with a hello carrying the new keys (``register_new_keys``). ``reason`` goes into the audit."""
    now = store.now_iso()
    with store.db.transaction() as tx:
        _require_active(tx, device_id, "Only an active device can rotate keys.")
        command_seq = downlinks.emit(tx, device_id, "rotate-key", {"rotate_device_keys": True}, now)
        detail: dict[str, Any] = {"command_seq": command_seq} | ({"reason": reason} if reason else {})
        audit.record(tx, now, actor, "device.rotate-keys", f"device:{device_id}", detail)
    return command_seq


def register_new_keys(store: HRStore, device_id: str, sign_raw: bytes, box_raw: bytes, signed_by: bytes) -> str:
    """A device announced new keys in a hello signed with key id ``signed_by``: make them current and keep
    the old ones as previous. Returns "rotated", or "unchanged" for a repeated announcement (idempotent).
    Only the current key may introduce new keys: raises InputError otherwise (or if the keys are bad)."""
    sign_id, box_id = protocol_key_id(sign_raw).hex(), protocol_key_id(box_raw).hex()
    now = store.now_iso()
    with store.db.transaction() as tx:
        row = tx.execute(
            "SELECT sign_public_key, sign_key_id, box_public_key, box_key_id, status FROM devices WHERE id = ?",
            (device_id,),
        ).one()
        if row is None or row[4] != "active":
            raise NotFound(f"There is no active device {device_id}.", "Register it first.")
        if row[1] == sign_id and row[3] == box_id:
            return "unchanged"
        if row[1] != signed_by.hex():
            raise InputError(
                f"Device {device_id} announced new keys signed with key {signed_by.hex()}, not its current key.",
                "Only the current key can introduce new ones; re-provision the device if it lost its keys.",
                code="unknown-key",
            )
        tx.execute(
            "UPDATE devices SET previous_sign_public_key = sign_public_key, previous_sign_key_id = sign_key_id,"
            " previous_box_public_key = box_public_key, previous_box_key_id = box_key_id,"
            " sign_public_key = ?, sign_key_id = ?, box_public_key = ?, box_key_id = ?, keys_rotated_at = ?"
            " WHERE id = ?",
            (base64.b64encode(sign_raw).decode(), sign_id, base64.b64encode(box_raw).decode(), box_id, now, device_id),
        )
        audit.record(
            tx, now, f"device:{device_id}", "device.keys-rotated", f"device:{device_id}",
            {"sign_key_id": sign_id, "box_key_id": box_id, "previous_sign_key_id": row[1]},
        )
    return "rotated"


def retire_previous_keys(store: HRStore, device_id: str, current_sign_key_id: str) -> bool:
    """The device signed with its new key, so it has switched: stop accepting the old one. True if a key
    was retired (False when there was none, or the current key is no longer ``current_sign_key_id``)."""
    now = store.now_iso()
    with store.db.transaction() as tx:
        old = tx.execute(
            "SELECT previous_sign_key_id FROM devices WHERE id = ? AND sign_key_id = ?"
            " AND previous_sign_key_id IS NOT NULL",
            (device_id, current_sign_key_id),
        ).scalar()
        if old is None:
            return False
        tx.execute(
            "UPDATE devices SET previous_sign_public_key = NULL, previous_sign_key_id = NULL,"
            " previous_box_public_key = NULL, previous_box_key_id = NULL WHERE id = ?",
            (device_id,),
        )
        audit.record(tx, now, "server", "device.key-retired", f"device:{device_id}", {"sign_key_id": old})
    return True


def public_keys(store: HRStore, device_id: str) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes] | None] | None:
    """An active device's raw (sign, box) public keys: current, and previous during a rotation."""
    with store.db.read() as tx:
        row = tx.execute(
            "SELECT sign_public_key, box_public_key, previous_sign_public_key, previous_box_public_key"
            " FROM devices WHERE id = ? AND status = 'active'",
            (device_id,),
        ).one()
    if row is None:
        return None
    current = (base64.b64decode(str(row[0])), base64.b64decode(str(row[1])))
    previous = None
    if row[2] is not None and row[3] is not None:
        previous = (base64.b64decode(str(row[2])), base64.b64decode(str(row[3])))
    return current, previous
