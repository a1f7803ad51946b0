"""``edgehr bench sync``: a device backlog drained through TLS mosquitto into the server store.

N punches are written into the device database first (the backlog of a terminal that was offline).
Then one courier (a thread here, so its byte counters can be read) publishes them through mosquitto
(mutual TLS, ACL, persistence) to two ingest worker processes, which store them in the HR store and
acknowledge. The clock runs from the courier's start until the device's backlog is 0: every record
has been stored on the server and its acknowledgement recorded on the device (end to end).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from device.store import open_store
from device.supervisor import Supervisor
from sync.chaos_site import build_site, python_argv, python_env, running_courier, server_seqs
from sync.punchgen import prefill

DEVICE = "site1-gate-a"
WORKERS = ("ingest-1", "ingest-2")


def run_bench(
    records: int, folder: Path, *, batch_size: int = 100, database_url: str = "", timeout: float = 1800.0
) -> dict[str, Any]:
    site = build_site(folder / "site", (DEVICE,), workers=len(WORKERS), batch_size=batch_size,
                      database_url_override=database_url)
    device = site.devices[DEVICE]
    store = open_store(device.database)
    prefill(store, DEVICE, records)
    store.close()
    supervisor = Supervisor(folder / "logs")
    broker_supervisor = Supervisor(folder / "logs")
    broker = site.broker(broker_supervisor)
    try:
        broker.start()
        for name in WORKERS:
            supervisor.start(
                name,
                python_argv("sync.server.ingest", "--config", str(site.server_config_path), "--worker-id", name),
                env=python_env(),
            )
        for name in WORKERS:  # both shared-subscription sessions exist before the first record is sent
            log_path = supervisor.children[name].log_path
            deadline = time.monotonic() + 30
            while "MQTT link to" not in (log_path.read_text(errors="replace") if log_path.exists() else ""):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} did not connect; read {log_path}")
                time.sleep(0.05)
        watch = open_store(device.database)
        try:
            with running_courier(site, DEVICE, poll_seconds=0.01, ack_timeout_seconds=30.0) as courier:
                started = time.monotonic()
                deadline = started + timeout
                while courier.backlog() > 0 and time.monotonic() < deadline:
                    time.sleep(0.05)
                seconds = time.monotonic() - started
                stats = courier.stats
                backlog = courier.backlog()
        finally:
            watch.close()
    finally:
        supervisor.stop_all(grace=5.0)
        broker_supervisor.stop_all(grace=5.0)
    stored = len(server_seqs(site, DEVICE))
    sent = max(stats.records_sent, 1)
    return {
        "records": records,
        "stored": stored,
        "backlog_left": backlog,
        "seconds": round(seconds, 2),
        "records_per_second": round(records / seconds, 1) if seconds > 0 else None,
        "batch_size": batch_size,
        "ingest_workers": len(WORKERS),
        "server_database": "postgresql" if database_url.startswith("postgres") else "sqlite",
        "wire_bytes_per_record": round(stats.record_bytes_wire / sent, 1),
        "plaintext_json_bytes_per_record": round(stats.record_bytes_plain / sent, 1),
        "messages": stats.messages_sent,
        "resends": stats.resends,
        "mqtt_payload_bytes_total": courier.link.bytes_published,
    }


def handle(args: Any) -> int:
    """Handler of ``edgehr bench sync``."""
    folder = Path(tempfile.mkdtemp(prefix="edgehr-bench-sync-"))
    result = run_bench(args.records, folder, batch_size=args.batch_size, database_url=args.database_url or "")
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    return 0 if result["stored"] == result["records"] else 1
