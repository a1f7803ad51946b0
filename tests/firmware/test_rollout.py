"""A staged rollout end to end: HR defines signed releases and rollouts; the ingest worker sends ``update``
downlinks through a real mosquitto; each device's real courier stages the release (fetch, sha256, signature),
hands it across the privilege boundary (the request file, then ``edgehr-update apply-request`` run here as
the same user) and reports ``update-status`` records; the server widens or halts.

Four devices, each with its own A/B tree and "unit" (tests/firmware/fake_systemctl, as the update drill):
a good release at 50 % goes to 2 devices, then widens to all 4; a broken release at 50 % fails its health
check on the 2 devices it reaches, both roll back by themselves, the rollout halts, and the other 2 never
receive it.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from device.courier.updates import REQUEST, STATUS, request_file_applier
from drills.chaos_site import build_site, running_courier, running_worker, wait_for
from fleet import release_signing
from sync.server.store import open_hr_store, rollouts
from tests.firmware.test_update_drill import BROKEN_MAIN, FAKE_SYSTEMCTL, GOOD_MAIN, UPDATE, Drill, make_release

DEVICES = ("gate-a", "gate-b", "gate-c", "gate-d")


def applier_for(drill: Drill, updates: Path):  # type: ignore[no-untyped-def]
    """What the root path unit does, run here as the same user: the request file, then apply-request."""
    write_request = request_file_applier(updates)

    def apply(staged: Path, version: str) -> None:
        write_request(staged, version)
        argv = [str(UPDATE), "apply-request", "--request", str(updates / REQUEST), "--status-file",
                str(updates / STATUS), "--prefix", str(drill.prefix), "--signing-key", str(drill.public_key),
                "--python", drill.python, "--health-url", f"http://127.0.0.1:{drill.port}/api/health",
                "--health-timeout", "30", "--settle", "2", "--units", "edgehr-device.service"]
        subprocess.run(argv, env=drill.env, capture_output=True, text=True, timeout=300, check=False)

    return apply


@pytest.fixture
def drills(tmp_path: Path) -> Iterator[dict[str, Drill]]:
    made = {d: Drill(tmp_path / "devices-opt" / d) for d in DEVICES}
    try:
        yield made
    finally:
        for drill in made.values():
            drill.stop()


@pytest.mark.slow
def test_rollout_widens_on_ok_and_halts_when_a_release_rolls_back(tmp_path: Path, drills: dict[str, Drill]) -> None:
    key, public = release_signing.keygen(tmp_path / "operator-key")
    for drill in drills.values():
        drill.key, drill.public_key = key, public
    first = make_release(tmp_path / "r1", "1.0.0", GOOD_MAIN, key)
    good = make_release(tmp_path / "r2", "1.0.1", GOOD_MAIN, key)
    broken = make_release(tmp_path / "r3", "1.1.0", BROKEN_MAIN, key)
    installs = [threading.Thread(target=lambda d=d: d.update("apply", "--from", str(first))) for d in drills.values()]
    for t in installs:
        t.start()
    for t in installs:
        t.join(300)
    assert {d.link("current") for d in drills.values()} == {"releases/1.0.0"}

    site = build_site(tmp_path / "site", DEVICES, workers=1)
    hr = open_hr_store(site.server_database_url(), "Asia/Shanghai")
    with ExitStack() as stack:
        stack.enter_context(site.broker())
        stack.enter_context(running_worker(site))
        for device_id, drill in drills.items():
            updates = site.devices[device_id].state_dir / "updates"
            stack.enter_context(running_courier(site, device_id, release_key=public,
                                                update_applier=applier_for(drill, updates)))
        for release in (good, broken):
            rollouts.define_release(hr, (release / "VERSION").read_text().strip(),
                                    release_signing.manifest_digest(release), release.as_uri(), "", "it")

        # A good release: 2 of 4 first; widened to all once both report ok.
        started = rollouts.create(hr, "1.0.1", group=None, percent=50, widen=[100], actor="it")
        assert len(started["devices"]) == 2
        wait_for(lambda: rollouts.get(hr, started["id"])["state"] != "running", "the good rollout", timeout=240)
        done = rollouts.get(hr, started["id"])
        assert done["state"] == "completed", done
        assert sorted(d["stage"] for d in done["devices"]) == [0, 0, 1, 1]
        assert {d["result"] for d in done["devices"]} == {"ok"}
        assert {d.link("current") for d in drills.values()} == {"releases/1.0.1"}

        # A broken release: the 2 devices it reaches roll back by themselves, and it goes no further.
        halted = rollouts.create(hr, "1.1.0", group=None, percent=50, widen=[100], actor="it")
        reached = {d["device_id"] for d in halted["devices"]}
        assert len(reached) == 2
        wait_for(lambda: all(d["result"] for d in rollouts.get(hr, halted["id"])["devices"]),
                 "both reports of the broken release", timeout=240)
        after = rollouts.get(hr, halted["id"])
        assert after["state"] == "halted" and "rolled-back" in after["halted_reason"]
        assert {d["result"] for d in after["devices"]} == {"rolled-back"}
        assert {d["running_version"] for d in after["devices"]} == {"1.0.1"}
        assert {d["device_id"] for d in after["devices"]} == reached  # nobody else was sent it
        for device_id, drill in drills.items():
            assert drill.link("current") == "releases/1.0.1"
            assert drill.answering_version() == "1.0.1"
            assert ((drill.prefix / "releases" / "1.1.0" / ".failed").exists()) == (device_id in reached)
        with hr.db.read() as tx:
            sent = {str(r[0]) for r in tx.execute("SELECT device_id FROM downlinks WHERE type = 'update'"
                                                  " AND body LIKE '%1.1.0%'").all()}
        assert sent == reached
    hr.close()
    assert FAKE_SYSTEMCTL.exists()
