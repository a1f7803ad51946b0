"""HR store migration 9: HR user accounts (scrypt password hashes) and their server-side sessions."""


# HR user accounts beside API tokens (people sign in to the pages with a name and password; machines keep
# using tokens): scrypt hashes only, roles as the API's, and server-side sessions whose cookie holds a
# random value stored here only as its SHA-256, with an absolute expiry and the session's CSRF token.

SCHEMA_USERS = """
CREATE TABLE hr_users (
    id {pk},
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'hr', 'it', 'readonly', 'reviewer', 'auditor')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    disabled_at TEXT
);
CREATE TABLE hr_sessions (
    session_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES hr_users (id),
    csrf TEXT NOT NULL,
    client TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX hr_sessions_expiry ON hr_sessions (expires_at);
"""
