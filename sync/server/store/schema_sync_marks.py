"""HR store migration 10: each device's "synced through" watermark, which finalises timesheet days.

``synced_through_ms`` is a time on the device's own clock such that every record the device had made by
then is stored here; ``floor_seq`` the record sequence below which all are known stored (so each check
counts only the records since the last one); ``claim_*`` the newest hello not yet satisfied (its
``next_record_seq`` and envelope time), waiting for the records below it (PROTOCOL.md section 9, "Synced
through")."""

SCHEMA_SYNC_MARKS = """
CREATE TABLE device_sync (
    device_id TEXT PRIMARY KEY REFERENCES devices (id),
    floor_seq BIGINT NOT NULL DEFAULT 0,
    synced_through_ms BIGINT,
    synced_at TEXT,
    claim_next_seq BIGINT,
    claim_ms BIGINT,
    claim_at TEXT
);
"""
