"""Employees' kiosk PINs for 1:1 mode, kept only as salted scrypt hashes (migration 4).

A PIN is 4-8 digits, so its hash is what stands between a stolen database and the PIN: scrypt with a
random 16-byte salt per PIN and a memory-hard cost (16 MiB) makes each guess expensive on a GPU as on a
Pi; the kiosk's rate limit (device/attendance/claims.py) is what stops guessing at the terminal. The cost
is stored with each hash so it can be raised later without breaking the PINs already set. The PIN itself
is never stored, logged or audited.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from core.errors import InputError
from device.store import audit
from device.store.database import Store

PIN_PATTERN = re.compile(r"^[0-9]{4,8}$")

#: scrypt cost: N=2**14, r=8, p=1 uses 16 MiB and about 0.1 s per check on this x86 machine (119 ms p50
#: at load 9); a Pi 4 is slower but still well under a second per claim.
COST_N, COST_R, COST_P = 2**14, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32


@dataclass(frozen=True)
class PinHash:
    salt: bytes
    hash: bytes
    n: int
    r: int
    p: int

    def matches(self, pin: str) -> bool:
        candidate = _scrypt(pin, self.salt, self.n, self.r, self.p)
        return hmac.compare_digest(candidate, self.hash)


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem: scrypt needs 128 * r * n bytes; OpenSSL's default limit (32 MiB) is close, so allow twice that.
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * r * n + 1024 * 1024,
                          dklen=HASH_BYTES)


def check_format(pin: str) -> None:
    if not PIN_PATTERN.match(pin):
        raise InputError("A PIN must be 4 to 8 digits.", "Choose a PIN of 4 to 8 digits (0-9 only).")


def hash_pin(pin: str) -> PinHash:
    check_format(pin)
    salt = secrets.token_bytes(SALT_BYTES)
    return PinHash(salt, _scrypt(pin, salt, COST_N, COST_R, COST_P), COST_N, COST_R, COST_P)


def set_pin(store: Store, employee_no: str, pin: str, *, at: datetime, actor: str) -> None:
    """Set (or replace) the employee's PIN; audited without the PIN."""
    hashed = hash_pin(pin)  # outside the transaction: ~0.1 s of scrypt must not hold the write lock
    with store.transaction() as conn:
        row = conn.execute("SELECT id FROM employees WHERE employee_no = ?", (employee_no,)).fetchone()
        if row is None:
            raise InputError(f"Employee {employee_no} does not exist on this device.", "Add the employee first.")
        conn.execute(
            "INSERT INTO employee_pins (employee_id, salt, hash, cost_n, cost_r, cost_p, set_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (employee_id) DO UPDATE SET salt = excluded.salt,"
            " hash = excluded.hash, cost_n = excluded.cost_n, cost_r = excluded.cost_r, cost_p = excluded.cost_p,"
            " set_at = excluded.set_at",
            (row[0], hashed.salt, hashed.hash, hashed.n, hashed.r, hashed.p, at.isoformat()),
        )
        audit.record(conn, at=at, actor=actor, action="pin.set", subject=employee_no)


def clear_pin(store: Store, employee_no: str, *, at: datetime, actor: str) -> bool:
    """Remove the employee's PIN (they can then not claim with the keypad while PINs are required)."""
    with store.transaction() as conn:
        removed = conn.execute(
            "DELETE FROM employee_pins WHERE employee_id = (SELECT id FROM employees WHERE employee_no = ?)",
            (employee_no,),
        ).rowcount
        audit.record(conn, at=at, actor=actor, action="pin.clear", subject=employee_no, detail={"removed": removed})
    return bool(removed)


def pin_hash(store: Store, employee_no: str) -> PinHash | None:
    """The stored hash of an active employee's PIN, or None (no such active employee, or no PIN set)."""
    # Inside a transaction: the panel thread reads while the kiosk thread may be writing a punch on the
    # same connection; the store's lock keeps the two apart.
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT p.salt, p.hash, p.cost_n, p.cost_r, p.cost_p FROM employee_pins p"
            " JOIN employees e ON e.id = p.employee_id WHERE e.employee_no = ? AND e.active = 1",
            (employee_no,),
        ).fetchone()
    if row is None:
        return None
    return PinHash(bytes(row[0]), bytes(row[1]), int(row[2]), int(row[3]), int(row[4]))


def pin_set_at(store: Store, employee_no: str) -> str | None:
    """When the employee's PIN was set (ISO time), or None when they have none: for the admin page."""
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT p.set_at FROM employee_pins p JOIN employees e ON e.id = p.employee_id WHERE e.employee_no = ?",
            (employee_no,),
        ).fetchone()
    return None if row is None else str(row[0])
