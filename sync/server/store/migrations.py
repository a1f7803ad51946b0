"""The HR store's schema as an ordered list of migrations, in SQL that SQLite and PostgreSQL both accept.

Never edit a migration that has shipped: add a new one. Each runs in one transaction with the row that
records it. On PostgreSQL several ingest workers may start at once: an advisory lock held for the
transaction lets one of them migrate while the others wait and then find the work done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.migrations import Migration
from core.migrations import migrate as run_migrations
from sync.server.store.schema_attendance import SCHEMA_ATTENDANCE_RULES, SCHEMA_SITE_CALENDARS
from sync.server.store.schema_candidate_templates import SCHEMA_CANDIDATE_TEMPLATES
from sync.server.store.schema_review import (
    SCHEMA_V6_INTERVIEW_REVIEW,
    SCHEMA_V6_TOKEN_ROLES,
    SCHEMA_V10_BOOTH_RETENTION,
)
from sync.server.store.schema_rollouts import SCHEMA_ROLLOUTS
from sync.server.store.schema_self_service import SCHEMA_SELF_SERVICE
from sync.server.store.schema_sync_marks import SCHEMA_SYNC_MARKS
from sync.server.store.schema_users import SCHEMA_USERS

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

# Enrolment as the devices report it (who, when, how many templates, model, consent version; never a
# template), each device's latest state per employee, and HR's consent record: given at HR, withdrawn at a
# device. The newest consent row not superseded is the employee's status (sync/server/store/consents.py).
SCHEMA_V4_ENROLMENT_CONSENT = """
CREATE TABLE enrolment_events (
    device_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    employee_no TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('enrolled', 'updated', 'removed')),
    withdrawal INTEGER NOT NULL,
    admin TEXT NOT NULL,
    consent_ref TEXT,
    model TEXT,
    template_count INTEGER,
    device_time_ms BIGINT NOT NULL,
    clock_synced INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX enrolment_events_employee ON enrolment_events (employee_no);
CREATE TABLE device_enrolments (
    employee_no TEXT NOT NULL,
    device_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('enrolled', 'removed', 'withdrawn', 'erased')),
    template_count INTEGER,
    model TEXT,
    consent_ref TEXT,
    seq BIGINT NOT NULL,
    device_time_ms BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (employee_no, device_id)
);
CREATE TABLE consent_events (
    id {pk},
    employee_no TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('given', 'withdrawn')),
    text_version TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    device_id TEXT,
    seq BIGINT,
    clock_synced INTEGER,
    superseded INTEGER NOT NULL DEFAULT 0,
    UNIQUE (device_id, seq)
);
CREATE INDEX consent_events_employee ON consent_events (employee_no, id);
"""

# Interviews from booths (PROTOCOL.md section 8, "interview-result"): one session per session_id, kept with
# the (device, seq) of the record that brought it and that record's digest (a resend under another seq is
# told from a conflicting one by it), its answers (transcripts: personal data, HR and admin only) and its
# rubric scores with their evidence sentences. A record naming a stored session with other content is
# kept in interview_conflicts for an operator (the first session stays). An erased session keeps its row
# (ids, device, seq, digest: no words of the candidate) so a late resend cannot bring it back. Candidates are
# HR's list of who is expected at which booth and when; a booth receives its whole list as a "candidates"
# downlink command.
SCHEMA_V5_INTERVIEWS = """
CREATE TABLE interview_sessions (
    session_id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    digest TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    role_id TEXT NOT NULL,
    consent_id TEXT NOT NULL,
    completed_ms BIGINT NOT NULL,
    completed_day TEXT NOT NULL,
    clock_synced INTEGER NOT NULL,
    integrity_flags TEXT NOT NULL DEFAULT '[]',
    delivery TEXT NOT NULL DEFAULT '{}',
    received_at TEXT NOT NULL,
    erased_at TEXT,
    UNIQUE (device_id, seq)
);
CREATE INDEX interview_sessions_day ON interview_sessions (completed_day, role_id);
CREATE INDEX interview_sessions_candidate ON interview_sessions (candidate_id);
CREATE TABLE interview_answers (
    session_id TEXT NOT NULL REFERENCES interview_sessions (session_id),
    position INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    transcript TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    typed INTEGER NOT NULL,
    PRIMARY KEY (session_id, position)
);
CREATE TABLE interview_scores (
    session_id TEXT NOT NULL REFERENCES interview_sessions (session_id),
    position INTEGER NOT NULL,
    competency TEXT NOT NULL,
    score {real} NOT NULL,
    scale_max INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    PRIMARY KEY (session_id, position)
);
CREATE TABLE interview_conflicts (
    device_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    session_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX interview_conflicts_session ON interview_conflicts (session_id);
CREATE TABLE candidates (
    candidate_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role_id TEXT NOT NULL,
    question_bank_id TEXT NOT NULL,
    window_start_ms BIGINT NOT NULL,
    window_end_ms BIGINT NOT NULL,
    device_id TEXT REFERENCES devices (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX candidates_device ON candidates (device_id, window_start_ms);
"""

# Messages an ingest worker could not process, and records refused as a sequence reuse (PROTOCOL.md
# section 11): kept for an operator to inspect, never acknowledged to the device. Only authenticated
# messages land here (a stranger's junk is only counted). One row per distinct message or conflicting
# record (dedupe_key), counted again when it comes back; bounded (sync/server/store/dead_letters.py).
# A device whose record counter went backwards is flagged for HR (sequence_flag) and told where to go on.
SCHEMA_V6_DEAD_LETTERS = """
CREATE TABLE dead_letters (
    id {pk},
    device_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    error TEXT NOT NULL,
    record_seq BIGINT,
    digest TEXT,
    body TEXT NOT NULL,
    size BIGINT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    count INTEGER NOT NULL DEFAULT 1,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL
);
CREATE INDEX dead_letters_device ON dead_letters (device_id, last_at);
ALTER TABLE devices ADD COLUMN sequence_flag TEXT;
ALTER TABLE devices ADD COLUMN sequence_flag_at TEXT;
ALTER TABLE devices ADD COLUMN sequence_flag_detail TEXT;
"""

#: (version, name, SQL script). Versions are consecutive from 1.
MIGRATIONS: list[Migration] = [
    (1, "HR store: devices, employees, records, punches, timesheet inputs, webhooks, tokens, downlinks", SCHEMA_V1),
    (2, "HR store: face templates from server-side enrolment, encrypted at rest", SCHEMA_V2_FACE_TEMPLATES),
    (3, "HR store: device keys kept across a rotation until the new ones are in use", SCHEMA_V3_DEVICE_KEY_ROTATION),
    (4, "HR store: devices' enrolment events and state, employees' consent", SCHEMA_V4_ENROLMENT_CONSENT),
    (5, "HR store: interview sessions, answers, scores and conflicts from booths; candidates", SCHEMA_V5_INTERVIEWS),
    (6, "HR store: score overrides, shortlist decisions, demographics, retention, candidate erasures",
     SCHEMA_V6_INTERVIEW_REVIEW + SCHEMA_V6_TOKEN_ROLES),
    (7, "HR store: dead letters (messages and records ingest refused), devices' sequence flag", SCHEMA_V6_DEAD_LETTERS),
    (8, "HR store: shift rules, assignment ends, holiday calendars, manual attendance, HR-suite pushes",
     SCHEMA_ATTENDANCE_RULES),
    (9, "HR store: user accounts (scrypt passwords) and their sessions", SCHEMA_USERS),
    (10, "HR store: booths' retention runs (counts)", SCHEMA_V10_BOOTH_RETENTION),
    (11, "HR store: devices' synced-through watermarks (timesheet days final from sync proof)", SCHEMA_SYNC_MARKS),
    (12, "HR store: holiday calendars per site", SCHEMA_SITE_CALENDARS),
    (13, "HR store: employee accounts linked to an employee number; employees' correction requests",
     SCHEMA_SELF_SERVICE),
    (14, "HR store: signed releases, device groups and staged rollouts", SCHEMA_ROLLOUTS),
    (15, "HR store: candidates' face templates from their registered photo, encrypted", SCHEMA_CANDIDATE_TEMPLATES),
]

_ADVISORY_LOCK_KEY = 0x6564676568720001  # "edgehr" + 1: one key for every server migration


def migrate(db: Database) -> int:
    """Apply every migration newer than the database's version; return the resulting version."""
    return run_migrations(MIGRATIONS, db.transaction, lock=lambda tx: _lock_against_other_workers(db, tx), ddl=db.ddl)


def _lock_against_other_workers(db: Database, tx: Tx) -> None:
    # SQLite's BEGIN IMMEDIATE already excludes other writers; PostgreSQL needs an explicit lock.
    if db.dialect == "postgresql":
        tx.execute("SELECT pg_advisory_xact_lock(?)", (_ADVISORY_LOCK_KEY,))
