"""The PostgreSQL failover drill (issue 20): a primary and a synchronous streaming replica, ingest workers on
a libpq multi-host URL with target_session_attrs=read-write; the primary is killed mid-run and the replica
promoted; every punch of both terminals is stored exactly once (drills/pg_failover.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drills.pg_failover import PG_BIN, Plan, run_failover


@pytest.mark.slow
def test_a_killed_primary_and_a_promoted_replica_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL binaries not found in {PG_BIN}: ops/setup.sh installs Debian's 'postgresql'",
                    pytrace=False)
    result = run_failover(Plan(), tmp_path, progress=print)
    print(result["events"], result["seconds"], "s", result["worker_restarts"], result["devices"])
    for device, counts in result["devices"].items():
        assert counts["records"] == Plan().records, (device, counts)
        assert counts["lost"] == 0 and counts["duplicates"] == 0, (device, counts)
        assert counts["mismatched"] == 0 and counts["unexpected_on_server"] == 0, (device, counts)
        assert counts["device_backlog"] == 0, (device, counts)
    assert result["events"][:2] == [result["events"][0], "replica promoted"]
    # The workers met the dead primary: at least one exited and found the new one through the same URL.
    assert sum(result["worker_restarts"].values()) >= 1, result
