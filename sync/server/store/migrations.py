"""The HR store's schema as an ordered list of migrations, in SQL that SQLite and PostgreSQL both accept.

Never edit a migration that has shipped: add a new one. Each runs in one transaction with the row that
records it. On PostgreSQL several ingest workers may start at once: an advisory lock held for the
transaction lets one of them migrate while the others wait and then find the work done.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.server.store.database import Database, Tx

# Times are ISO 8601 UTC text (readable in both engines); device times also as epoch milliseconds.
SCHEMA_V1 = """
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    site TEXT NOT NULL DEFAULT '',
    sign_public_key TEXT NOT NULL,
    sign_key_id TEXT NOT NULL,
    box_public_key TEXT NOT NULL,
    box_key_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    registered_at TEXT NOT NULL,
    revoked_at TEXT,
    -- last downlink command sequence handed out: the row lock serialises writers per device
    command_seq BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE employees (
    employee_no TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    erased_at TEXT
);
CREATE TABLE device_assignments (
    device_id TEXT NOT NULL REFERENCES devices (id),
    employee_no TEXT NOT NULL REFERENCES employees (employee_no),
    assigned_at TEXT NOT NULL,
    PRIMARY KEY (device_id, employee_no)
);
-- Every record a device sent, exactly once per (device, seq); digest tells a resend from a reuse.
CREATE TABLE records (
    device_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    digest TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE TABLE punches (
    id {pk},
    device_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    uid TEXT NOT NULL UNIQUE,
    employee_no TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    work_day TEXT NOT NULL,
    device_time TEXT NOT NULL,
    device_time_ms BIGINT NOT NULL,
    clock_synced INTEGER NOT NULL,
    source TEXT NOT NULL,
    match_score {real},
    liveness_score {real},
    received_at TEXT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX punches_day ON punches (work_day, employee_no);
CREATE INDEX punches_employee_time ON punches (employee_no, device_time_ms);
CREATE TABLE rejections (
    reason TEXT NOT NULL,
    device_id TEXT NOT NULL DEFAULT '',
    count BIGINT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (reason, device_id)
);
-- A correction never edits a punch: it adds one, voids one, or changes one (void + add) with a reason.
CREATE TABLE corrections (
    id {pk},
    employee_no TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('add', 'void', 'change')),
    punch_uid TEXT,
    direction TEXT CHECK (direction IN ('in', 'out')),
    at_ms BIGINT,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL,
    device_id TEXT,
    seq BIGINT,
    UNIQUE (device_id, seq)
);
CREATE INDEX corrections_employee ON corrections (employee_no);
CREATE TABLE audit_log (
    id {pk},
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE shifts (
    id {pk},
    name TEXT NOT NULL UNIQUE,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    grace_in_minutes INTEGER NOT NULL DEFAULT 0,
    grace_out_minutes INTEGER NOT NULL DEFAULT 0,
    overtime_after_minutes INTEGER NOT NULL DEFAULT 0,
    days TEXT NOT NULL
);
CREATE TABLE employee_shifts (
    employee_no TEXT NOT NULL REFERENCES employees (employee_no),
    shift_id BIGINT NOT NULL REFERENCES shifts (id),
    valid_from TEXT NOT NULL,
    PRIMARY KEY (employee_no, valid_from)
);
CREATE TABLE webhooks (
    id {pk},
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    format TEXT NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'wecom')),
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
-- Outbox of outgoing HTTP: written in the same transaction as the event, delivered by a worker.
CREATE TABLE webhook_deliveries (
    id {pk},
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id),
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    delivered_at TEXT,
    failed_at TEXT,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms);
CREATE TABLE api_tokens (
    id {pk},
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'hr', 'it', 'readonly')),
    label TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
-- Commands for devices (erase, gallery...): the ingest side sends them and records sent/confirmed.
CREATE TABLE downlinks (
    id {pk},
    device_id TEXT NOT NULL REFERENCES devices (id),
    command_seq BIGINT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    confirmed_at TEXT,
    UNIQUE (device_id, command_seq)
);
"""

# Face templates computed on the server from enrolment photos (never the photos): sealed with the server's
# data key (AES-256-GCM, nonce and ciphertext as base64 text so both engines store them the same way).
SCHEMA_V2_FACE_TEMPLATES = """
CREATE TABLE face_templates (
    id {pk},
    employee_no TEXT NOT NULL REFERENCES employees (employee_no),
    model TEXT NOT NULL,
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX face_templates_employee ON face_templates (employee_no, model);
"""

# A device's keys before its last rotation (PROTOCOL.md section 12): still accepted for its signatures
# until the server has verified a message signed by the new keys, then cleared (retired).
SCHEMA_V3_DEVICE_KEY_ROTATION = """
ALTER TABLE devices ADD COLUMN previous_sign_public_key TEXT;
ALTER TABLE devices ADD COLUMN previous_sign_key_id TEXT;
ALTER TABLE devices ADD COLUMN previous_box_public_key TEXT;
ALTER TABLE devices ADD COLUMN previous_box_key_id TEXT;
ALTER TABLE devices ADD COLUMN keys_rotated_at TEXT;
"""

#: (version, name, SQL script). Versions are consecutive from 1.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "HR store: devices, employees, records, punches, timesheet inputs, webhooks, tokens, downlinks", SCHEMA_V1),
    (2, "HR store: face templates from server-side enrolment, encrypted at rest", SCHEMA_V2_FACE_TEMPLATES),
    (3, "HR store: device keys kept across a rotation until the new ones are in use", SCHEMA_V3_DEVICE_KEY_ROTATION),
]

_ADVISORY_LOCK_KEY = 0x6564676568720001  # "edgehr" + 1: one key for every server migration


def migrate(db: Database) -> int:
    """Apply every migration newer than the database's version; return the resulting version."""
    with db.transaction() as tx:
        _lock_against_other_workers(db, tx)
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at_ms BIGINT NOT NULL)"
        )
    version = 0
    for number, name, script in MIGRATIONS:
        with db.transaction() as tx:
            _lock_against_other_workers(db, tx)
            version = int(tx.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").scalar())
            if number <= version:
                continue
            for statement in _statements(db.ddl(script)):
                tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)",
                (number, name, int(time.time() * 1000)),
            )
            version = number
    return version


def _lock_against_other_workers(db: Database, tx: Tx) -> None:
    # SQLite's BEGIN IMMEDIATE already excludes other writers; PostgreSQL needs an explicit lock.
    if db.dialect == "postgresql":
        tx.execute("SELECT pg_advisory_xact_lock(?)", (_ADVISORY_LOCK_KEY,))


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
