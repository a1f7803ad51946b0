"""A short chaos drill in the suite: every fault kind once, real processes, both databases compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from drills.chaos import ChaosPlan, run_chaos


@pytest.mark.slow
def test_short_drill_loses_nothing_and_counts_every_bad_message(tmp_path: Path) -> None:
    plan = ChaosPlan(
        records=300,
        device_kills=1,
        broker_restarts=2,  # one graceful restart, one crash (SIGKILL) of mosquitto
        worker_kills=1,
        server_down_seconds=3.0,
        rate=60.0,
        drain_timeout_seconds=90.0,
    )
    result = run_chaos(plan, tmp_path)

    assert result["records"] == 300
    assert result["device_backlog"] == 0
    assert result["lost"] == 0, result["lost_seqs"]
    assert result["duplicates"] == 0
    assert result["stored"] == 300
    assert result["mismatched"] == 0
    assert result["unexpected_on_server"] == 0
    assert result["faults"] == {"device-kill": 1, "broker-restart": 2, "worker-kill": 1, "server-down": 1}
    # Every bad message kind was injected, and each was refused or recognised and counted.
    assert result["injected"] == {"duplicate": 2, "replay": 1, "tampered": 1, "unknown-device": 1}
    assert result["rejected"].get("bad-signature", 0) >= 1
    assert result["rejected"].get("unknown-device", 0) >= 1
    # The replay injected after every fault was recognised as a duplicate and counted (the earlier copies
    # usually are too, but a crashed broker may lose them before delivery).
    assert result["replay_counted"] is True
    assert result["duplicate_deliveries"] >= 1
