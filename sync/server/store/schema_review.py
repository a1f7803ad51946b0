"""Migration 6 of the HR store: the tables of HR's review of interviews, the bias audit and retention."""

# HR's side of interviews (issue 17). Overrides keep every change of a score (the booth's original stays in
# interview_scores; the newest override is the current score). Shortlist decisions are per candidate and role,
# newest first, always a person's. Demographics are candidates' optional self-reports, kept in their own table
# that nothing of the scoring or review reads (auditor only). Retention: a policy per site (audio days for the
# booths, transcript and score days for the server) and one row of counts per run of the retention job (never
# content). Candidate erasures: the request, what it erased (counts) and the booth commands that carry it.
SCHEMA_V6_INTERVIEW_REVIEW = """
CREATE TABLE score_overrides (
    id {pk},
    session_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    competency TEXT NOT NULL,
    before_score {real} NOT NULL,
    after_score {real} NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX score_overrides_session ON score_overrides (session_id, position, id);
CREATE TABLE shortlist_decisions (
    id {pk},
    candidate_id TEXT NOT NULL,
    role_id TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('advance', 'hold', 'reject')),
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX shortlist_decisions_candidate ON shortlist_decisions (candidate_id, role_id, id);
CREATE TABLE candidate_demographics (
    candidate_id TEXT NOT NULL,
    dimension TEXT NOT NULL,
    value TEXT NOT NULL,
    source TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (candidate_id, dimension)
);
CREATE TABLE retention_policies (
    site TEXT PRIMARY KEY,
    audio_days INTEGER NOT NULL,
    transcript_days INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE retention_runs (
    id {pk},
    at TEXT NOT NULL,
    started_by TEXT NOT NULL,
    sessions INTEGER NOT NULL,
    answers INTEGER NOT NULL,
    scores INTEGER NOT NULL,
    overrides INTEGER NOT NULL,
    records INTEGER NOT NULL
);
CREATE TABLE candidate_erasures (
    erasure_id TEXT PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    counts TEXT NOT NULL
);
CREATE TABLE candidate_erasure_commands (
    erasure_id TEXT NOT NULL REFERENCES candidate_erasures (erasure_id),
    device_id TEXT NOT NULL,
    command_seq BIGINT NOT NULL,
    PRIMARY KEY (erasure_id, device_id)
);
"""

_ROLES = "'admin', 'hr', 'it', 'readonly', 'reviewer', 'auditor'"
_COPIED = "id, token_hash, role, label, created_at, revoked_at"
# Two roles more for API tokens (reviewer, auditor): SQLite cannot change a CHECK constraint, so it rebuilds
# the table (ids kept, nothing references it); PostgreSQL replaces the constraint. One line per statement.
SCHEMA_V6_TOKEN_ROLES = "\n".join(
    [
        "{postgresql}ALTER TABLE api_tokens DROP CONSTRAINT IF EXISTS api_tokens_role_check;",
        f"{{postgresql}}ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ({_ROLES}));",
        "{sqlite}CREATE TABLE api_tokens_v6 (id INTEGER PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,"
        f" role TEXT NOT NULL CHECK (role IN ({_ROLES})), label TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,"
        " revoked_at TEXT);",
        f"{{sqlite}}INSERT INTO api_tokens_v6 ({_COPIED}) SELECT {_COPIED} FROM api_tokens;",  # noqa: S608
        "{sqlite}DROP TABLE api_tokens;",
        "{sqlite}ALTER TABLE api_tokens_v6 RENAME TO api_tokens;",
    ]
)

# Booths' retention runs (issue 17): what each booth's retention job deleted, counts only, one row per
# ``retention-run`` record (device, seq), shown beside the server's own runs on the retention page.
SCHEMA_V10_BOOTH_RETENTION = """
CREATE TABLE booth_retention_runs (
    device_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    ran_at_ms BIGINT NOT NULL,
    policy TEXT NOT NULL,
    audio_days INTEGER NOT NULL,
    transcript_days INTEGER NOT NULL,
    audio_sessions BIGINT NOT NULL,
    audio_files BIGINT NOT NULL,
    audio_bytes BIGINT NOT NULL,
    transcript_sessions BIGINT NOT NULL,
    answers BIGINT NOT NULL,
    held_unsent BIGINT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX booth_retention_runs_at ON booth_retention_runs (ran_at_ms);
"""
