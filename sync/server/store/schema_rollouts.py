"""HR store migration 10: signed releases, named device groups and staged rollouts (the ``update`` downlink)."""

# A release is named by its version and the SHA-256 of its signed manifest.json, and says where the devices
# of a site fetch it from (a folder on the site network). A rollout sends it to a first stage (a named group
# or a percentage of the active devices) and widens through its stages only while every device reached so
# far reported ``ok``; one other result halts it. ``rollout_devices`` holds each device's command and result.

SCHEMA_ROLLOUTS = """
CREATE TABLE releases (
    version TEXT PRIMARY KEY,
    manifest_sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE device_groups (
    name TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices (id),
    PRIMARY KEY (name, device_id)
);
CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    version TEXT NOT NULL REFERENCES releases (version),
    first_group TEXT,
    stages TEXT NOT NULL,
    stage INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('running', 'halted', 'completed')),
    halted_reason TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE rollout_devices (
    rollout_id TEXT NOT NULL REFERENCES rollouts (id),
    device_id TEXT NOT NULL REFERENCES devices (id),
    stage INTEGER NOT NULL,
    command_seq BIGINT NOT NULL,
    sent_at TEXT NOT NULL,
    result TEXT CHECK (result IN ('ok', 'rolled-back', 'failed', 'refused')),
    running_version TEXT,
    detail TEXT,
    reported_at TEXT,
    PRIMARY KEY (rollout_id, device_id)
);
"""
