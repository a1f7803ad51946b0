"""The device schema as an ordered list of migrations (run by ``core.migrations``).

Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

from core.migrations import Migration

SCHEMA_V1 = """
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE employees (
    id INTEGER PRIMARY KEY,
    employee_no TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- Consent is recorded before any biometric data of the person is kept (PIPL, GDPR Art. 9, BIPA).
CREATE TABLE consents (
    id INTEGER PRIMARY KEY,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('employee', 'candidate')),
    subject_ref TEXT NOT NULL,
    purpose TEXT NOT NULL,
    text_version TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    demo INTEGER NOT NULL DEFAULT 0,
    withdrawn_at TEXT
);
CREATE INDEX consents_subject ON consents (subject_kind, subject_ref);
-- Templates only, encrypted with the device data key; photos are never kept here.
CREATE TABLE face_templates (
    id INTEGER PRIMARY KEY,
    employee_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    key_id TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    quality REAL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX face_templates_employee ON face_templates (employee_id);
CREATE TABLE punches (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    employee_id INTEGER REFERENCES employees (id) ON DELETE SET NULL,
    employee_no TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    work_day TEXT NOT NULL,
    device_time TEXT NOT NULL,
    device_time_ms INTEGER NOT NULL,
    monotonic_ns INTEGER NOT NULL,
    clock_synced INTEGER NOT NULL,
    source TEXT NOT NULL,
    match_score REAL,
    liveness_score REAL,
    models TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX punches_employee_day ON punches (employee_no, work_day);
CREATE TABLE punch_snapshots (
    punch_id INTEGER PRIMARY KEY REFERENCES punches (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE interview_sessions (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    candidate_ref TEXT NOT NULL,
    role_ref TEXT NOT NULL,
    consent_id INTEGER REFERENCES consents (id),
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    delete_requested_at TEXT
);
CREATE TABLE interview_answers (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES interview_sessions (id) ON DELETE CASCADE,
    question_ref TEXT NOT NULL,
    transcript TEXT NOT NULL DEFAULT '',
    audio_path TEXT,
    started_at TEXT NOT NULL,
    duration_ms INTEGER,
    scores TEXT NOT NULL DEFAULT '{}'
);
-- Every record that must reach the server. seq is the per-device sequence number of the sync protocol:
-- AUTOINCREMENT guarantees a number is never reused, even after the newest rows are deleted.
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    ref TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    clock_synced INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at_ms INTEGER
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE delivered_at_ms IS NULL;
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
"""

# Downlink commands (gallery, erase, config, ...) the device has applied or refused, by the server's
# command sequence: a command is applied once, and its confirmation (ack-downlink) is resent until the
# server acknowledges it (confirmed_at_ms). Kept apart from the outbox so record sequences have no gaps.
SCHEMA_V2_DOWNLINKS = """
CREATE TABLE downlink_commands (
    command_seq INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'refused')),
    detail TEXT NOT NULL DEFAULT '{}',
    applied_at_ms INTEGER NOT NULL,
    confirmed_at_ms INTEGER
);
CREATE INDEX downlink_commands_unconfirmed ON downlink_commands (command_seq) WHERE confirmed_at_ms IS NULL;
"""

# Punch snapshots (off by default): the deciding frame's face crop, encrypted with the device data key, in a
# file named by ``path`` (so the erasure downlink, which deletes rows and unlinks paths, keeps working).
# The nonce and key id live in the row: the file alone is ciphertext without its nonce. Purged by age.
SCHEMA_V3_SNAPSHOTS = """
ALTER TABLE punch_snapshots ADD COLUMN key_id TEXT;
ALTER TABLE punch_snapshots ADD COLUMN nonce BLOB;
ALTER TABLE punch_snapshots ADD COLUMN created_at TEXT;
CREATE INDEX punch_snapshots_expiry ON punch_snapshots (expires_at);
"""

# 1:1 mode: an employee's kiosk PIN, only as a salted scrypt hash with the cost it was made with (so the
# cost can be raised later without breaking stored PINs). Number 4: number 3 is the punch snapshots table.
SCHEMA_V4_PINS = """
CREATE TABLE employee_pins (
    employee_id INTEGER PRIMARY KEY REFERENCES employees (id) ON DELETE CASCADE,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    cost_n INTEGER NOT NULL,
    cost_r INTEGER NOT NULL,
    cost_p INTEGER NOT NULL,
    set_at TEXT NOT NULL
);
"""

# Downlink commands that arrived ahead of their turn (command_seq above floor + 1), and the pages of a
# gallery command still missing some: held until the gap fills, then applied in order and deleted. The
# body is sealed with the data key (it may carry face templates).
SCHEMA_V5_DOWNLINK_HELD = """
CREATE TABLE downlink_held (
    command_seq INTEGER NOT NULL,
    page INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    type TEXT NOT NULL,
    key_id TEXT,
    nonce BLOB,
    body BLOB NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (command_seq, page)
);
"""

# Consent withdrawal: who withdrew it (withdrawn_at is in the initial schema). A withdrawn consent row stays
# as the record of what was signed and when it ended; the person's face data goes with the withdrawal.
SCHEMA_V6_CONSENT_WITHDRAWAL = """
ALTER TABLE consents ADD COLUMN withdrawn_by TEXT;
"""

# A booth's candidate list as the server last sent it (a "candidates" downlink command replaces it whole):
# who may start an interview here, for which role and question bank, until when. The booth reads it.
SCHEMA_V7_BOOTH_CANDIDATES = """
CREATE TABLE booth_candidates (
    candidate_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role_id TEXT NOT NULL,
    question_bank_id TEXT NOT NULL,
    valid_until_ms INTEGER NOT NULL,
    command_seq INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL
);
"""

# Interview booth sessions (issue 16). A session row exists only once the candidate consented: it carries
# the consent (id, notice text version, language, time). Each answer attempt is a row (its audio is a file
# in the booth's state folder, appended and fsync'd while recording); partial transcripts are rows as they
# arrive. A finished session is marked completed in the transaction that queues its interview-result.
SCHEMA_V8_BOOTH_SESSIONS = """
CREATE TABLE booth_sessions (
    session_id TEXT PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    candidate_name TEXT NOT NULL,
    role_id TEXT NOT NULL,
    bank_id TEXT NOT NULL,
    lang TEXT NOT NULL,
    walk_in INTEGER NOT NULL DEFAULT 0,
    consent_id TEXT NOT NULL,
    consent_text_version TEXT NOT NULL,
    consent_language TEXT NOT NULL,
    consented_at_ms INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'completed')),
    question_index INTEGER NOT NULL DEFAULT 0,
    started_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    completed_at_ms INTEGER,
    close_reason TEXT,
    integrity TEXT NOT NULL DEFAULT '{}',
    outbox_seq INTEGER,
    audio_purged_at_ms INTEGER
);
CREATE INDEX booth_sessions_candidate ON booth_sessions (candidate_id);
CREATE TABLE booth_answers (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES booth_sessions (session_id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('recording', 'done', 'refused', 'lost')),
    typed INTEGER NOT NULL DEFAULT 0,
    audio_path TEXT,
    audio_bytes INTEGER NOT NULL DEFAULT 0,
    source_rate INTEGER,
    transcript TEXT NOT NULL DEFAULT '',
    duration_ms INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    warnings TEXT NOT NULL DEFAULT '[]',
    started_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER,
    UNIQUE (session_id, question_id, attempt)
);
CREATE TABLE booth_transcript (
    id INTEGER PRIMARY KEY,
    answer_id INTEGER NOT NULL REFERENCES booth_answers (id) ON DELETE CASCADE,
    at_ms INTEGER NOT NULL,
    audio_ms INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX booth_transcript_answer ON booth_transcript (answer_id);
"""

# The site's retention policy as the server last sent it (a "retention-policy" downlink command replaces it):
# one row; without it a booth follows its config. Applied in the transaction that records the command.
SCHEMA_V9_RETENTION_POLICY = """
CREATE TABLE retention_policy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    audio_days INTEGER NOT NULL,
    transcript_days INTEGER NOT NULL,
    command_seq INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL
);
"""

#: (version, name, SQL script). Versions are consecutive from 1.
# Candidates' face templates from their registered photo (a "candidate-templates" downlink command), sealed
# with the device's data key and bound to candidate and model; used only after the candidate's consent, for
# the booth's optional identity check. Deleted by the command's removals and by the candidate's erasure.
SCHEMA_V10_CANDIDATE_TEMPLATES = """
CREATE TABLE booth_candidate_templates (
    id INTEGER PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    model TEXT NOT NULL,
    key_id TEXT NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    command_seq INTEGER NOT NULL,
    received_at_ms INTEGER NOT NULL
);
CREATE INDEX booth_candidate_templates_candidate ON booth_candidate_templates (candidate_id);
"""

MIGRATIONS: list[Migration] = [
    (1, "initial schema", SCHEMA_V1),
    (2, "downlink commands applied by the courier", SCHEMA_V2_DOWNLINKS),
    (3, "encrypted punch snapshots", SCHEMA_V3_SNAPSHOTS),
    (4, "employee kiosk PINs (salted scrypt hashes) for 1:1 mode", SCHEMA_V4_PINS),
    (5, "downlink commands held until their turn", SCHEMA_V5_DOWNLINK_HELD),
    (6, "consent withdrawal: who withdrew it", SCHEMA_V6_CONSENT_WITHDRAWAL),
    (7, "a booth's candidate list from the server", SCHEMA_V7_BOOTH_CANDIDATES),
    (8, "interview booth sessions, answers and transcripts", SCHEMA_V8_BOOTH_SESSIONS),
    (9, "the site's retention policy from the server", SCHEMA_V9_RETENTION_POLICY),
    (10, "candidates' registered-photo templates for the booth's identity check", SCHEMA_V10_CANDIDATE_TEMPLATES),
]
