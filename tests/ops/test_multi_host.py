"""The multi-host drill (issue 20): two sites' brokers bridged with TLS to a central broker, ingest workers
on two worker hosts sharing one MQTT 5 subscription, one PostgreSQL, each host a network namespace; a
worker host and a site bridge killed mid-run; every punch stored once (drills/multi_host.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from drills import netns
from drills.multi_host import PG_BIN, Plan, run_multi_host


@pytest.mark.slow
def test_two_sites_two_worker_hosts_one_postgres_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    why = netns.available()
    if why is not None:
        pytest.skip(f"network namespaces cannot be made here: {why} (tests/sync/test_bridge.py runs the bridge "
                    "on loopback)")
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN}: run ops/setup.sh (installs 'postgresql')")
    result = run_multi_host(Plan(), tmp_path, progress=print)
    print(result["events"], result["seconds"], "s", result["devices"])
    for device, counts in result["devices"].items():
        assert counts["records"] == Plan().records, (device, counts)
        assert counts["lost"] == 0 and counts["duplicates"] == 0, (device, counts)
        assert counts["mismatched"] == 0 and counts["unexpected_on_server"] == 0, (device, counts)
        assert counts["device_backlog"] == 0, (device, counts)
    central = result["central_log"]
    # Both worker hosts and both bridges reached the central broker over their own links...
    for peer, client in (("10.251.3.2", "ingest-w1a"), ("10.251.4.2", "ingest-w2a"), ("10.251.1.2", "bridge-site1"),
                         ("10.251.2.2", "bridge-site2")):
        assert f"from {peer}" in central and f"as {client} (p5, c0" in central, (peer, client)
    # ...and site1's bridge came back after its broker was killed.
    assert central.count("as bridge-site1 (p5") >= 2
    assert len(result["events"]) == 2
