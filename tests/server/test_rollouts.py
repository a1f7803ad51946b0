"""Staged rollouts on the HR store (SQLite and PostgreSQL): a first stage of a group or a percentage, widened
only while every report is ok, halted by the first other result; reports arrive as ``update-status``
records through the same ingest as punches; the API is for operations roles only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from sync.protocol import UpdateBody, UpdateStatusBody, UpdateStatusRecord
from sync.server.ingest_downlinks import command_body
from sync.server.store import HRStore, downlinks, records, rollouts
from tests.server.builders import bearer, register

DIGEST = "ab" * 32
DEVICES = ("gate-1", "gate-2", "gate-3", "gate-4")


def report(store: HRStore, device: dict[str, Any], rollout: dict[str, Any], result: str, seq: int) -> None:
    """The device's update-status record, stored by ingest as it stores every record."""
    body = UpdateStatusBody(rollout_id=rollout["id"], command_seq=device["command_seq"],
                            release_version=rollout["version"], result=result,  # type: ignore[arg-type]
                            running_version="1.0.0", detail="health check")
    record = UpdateStatusRecord(seq=seq, ref=f"update-{device['command_seq']}", created_at_ms=1, clock_synced=True,
                                type="update-status", body=body)
    with store.db.transaction():
        records.ingest(store, device["device_id"], [record])


def test_a_percentage_widens_on_ok_and_halts_on_a_rollback(store: HRStore) -> None:
    register(store, *DEVICES)
    rollouts.define_release(store, "1.1.0", DIGEST, "file:///srv/releases/1.1.0", "", "it")
    started = rollouts.create(store, "1.1.0", group=None, percent=50, widen=[100], actor="it")
    first = started["devices"]
    assert len(first) == 2 and started["state"] == "running"
    # Each device of the stage got one update command, as the worker seals it.
    for device in first:
        (row,) = [r for r in downlinks.pending(store, device["device_id"]) if r["type"] == "update"]
        body = command_body(row)
        assert isinstance(body, UpdateBody)
        assert (body.release_version, body.manifest_sha256, body.rollout_id) == ("1.1.0", DIGEST, started["id"])
    report(store, first[0], started, "ok", 1)
    assert len(rollouts.get(store, started["id"])["devices"]) == 2  # waits for the other one
    report(store, first[1], started, "ok", 1)
    widened = rollouts.get(store, started["id"])
    assert len(widened["devices"]) == 4 and widened["stage"] == 1
    later = [d for d in widened["devices"] if d["stage"] == 1]
    report(store, later[0], started, "rolled-back", 1)
    halted = rollouts.get(store, started["id"])
    assert halted["state"] == "halted" and halted["halted_reason"].startswith(f"{later[0]['device_id']}: rolled-back")
    report(store, later[1], started, "ok", 1)  # a late ok changes nothing
    assert rollouts.get(store, started["id"])["state"] == "halted"
    # The device order is fixed per rollout: a second rollout may start elsewhere, and only one runs at a time.
    rollouts.define_release(store, "1.1.1", DIGEST, "https://releases.site.internal/1.1.1/", "", "it")
    again = rollouts.create(store, "1.1.1", group=None, percent=100, widen=[], actor="it")
    assert len(again["devices"]) == 4
    try:
        rollouts.create(store, "1.1.1", group=None, percent=10, widen=[100], actor="it")
    except rollouts.Conflict:
        pass
    else:
        raise AssertionError("a second running rollout was allowed")


def test_a_group_goes_first_and_later_percentages_include_it(store: HRStore) -> None:
    register(store, *DEVICES)
    rollouts.define_release(store, "2.0.0", DIGEST, "file:///srv/releases/2.0.0", "", "it")
    rollouts.set_group(store, "pilot", ["gate-3"], "it")
    started = rollouts.create(store, "2.0.0", group="pilot", percent=None, widen=[50, 100], actor="it")
    assert [d["device_id"] for d in started["devices"]] == ["gate-3"]
    report(store, started["devices"][0], started, "ok", 1)
    half = rollouts.get(store, started["id"])
    assert len(half["devices"]) == 2 and "gate-3" in {d["device_id"] for d in half["devices"]}
    for device in [d for d in half["devices"] if d["stage"] == 1]:
        report(store, device, started, "ok", 1)
    full = rollouts.get(store, started["id"])
    for device in [d for d in full["devices"] if d["stage"] == 2]:
        report(store, device, started, "ok", 1)
    done = rollouts.get(store, started["id"])
    assert done["state"] == "completed" and {d["result"] for d in done["devices"]} == {"ok"}


def test_the_api_is_for_operations_roles(client: TestClient, store: HRStore) -> None:
    register(store, *DEVICES)
    release = {"version": "3.0.0", "manifest_sha256": DIGEST, "source": "file:///srv/releases/3.0.0"}
    assert client.post("/api/releases", json=release, headers=bearer(store, "hr")).status_code == 403
    assert client.post("/api/releases", json=release).status_code == 401
    it = bearer(store, "it")
    assert client.post("/api/releases", json=release, headers=it).status_code == 201
    assert client.post("/api/releases", json=release, headers=it).status_code == 409
    bad = {**release, "version": "3.0.1", "source": "ftp://somewhere/"}
    assert client.post("/api/releases", json=bad, headers=it).status_code == 400
    assert client.put("/api/device-groups/pilot", json={"device_ids": ["gate-1"]}, headers=it).status_code == 200
    assert client.get("/api/device-groups", headers=it).json() == {"groups": {"pilot": ["gate-1"]}}
    both = client.post("/api/rollouts", json={"version": "3.0.0", "group": "pilot", "percent": 10}, headers=it)
    assert both.status_code == 400
    started = client.post("/api/rollouts", json={"version": "3.0.0", "percent": 25}, headers=it)
    assert started.status_code == 201 and len(started.json()["devices"]) == 1
    rollout_id = started.json()["id"]
    halted = client.post(f"/api/rollouts/{rollout_id}/halt", json={"reason": "wrong build"}, headers=it)
    assert halted.status_code == 200 and halted.json()["state"] == "halted"
    assert [r["id"] for r in client.get("/api/rollouts", headers=it).json()["rollouts"]] == [rollout_id]
