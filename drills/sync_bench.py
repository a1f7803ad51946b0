"""``edgehr bench sync``: a device backlog drained through TLS mosquitto into the server store.

N punches are written into the device database first (the backlog of a terminal that was offline).
Then one courier (a thread here, so its byte counters can be read) publishes them through mosquitto
(mutual TLS, ACL, persistence) to the ingest worker processes (two by default), which store them in
the HR store and acknowledge. The clock runs from the courier's start until the device's backlog is 0:
every record has been stored on the server and its acknowledgement recorded on the device (end to end).

Every process is single-threaded Python (the courier is one thread; SQLite and the crypto run on the
calling thread), so the figures are per core. Wall-clock throughput depends on what else the machine
runs, so the CPU seconds each part spent during the drain are reported too (from /proc): they say
what a record costs whatever the load, and ``load_average_1min`` says how busy the machine was.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from core.supervisor import Supervisor
from device.store import open_store
from drills.chaos_site import build_site, python_argv, python_env, running_courier, server_seqs
from drills.punchgen import prefill

DEVICE = "site1-gate-a"
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a live process (0.0 when it is gone or unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of stat(5))


def run_bench(
    records: int,
    folder: Path,
    *,
    batch_size: int = 100,
    database_url: str = "",
    workers: int = 2,
    timeout: float = 1800.0,
) -> dict[str, Any]:
    names = [f"ingest-{n}" for n in range(1, workers + 1)]
    site = build_site(folder / "site", (DEVICE,), workers=workers, batch_size=batch_size,
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
        for name in names:
            supervisor.start(
                name,
                python_argv("sync.server.ingest", "--config", str(site.server_config_path), "--worker-id", name),
                env=python_env(),
            )
        for name in names:  # every shared-subscription session exists before the first record is sent
            log_path = supervisor.children[name].log_path
            deadline = time.monotonic() + 30
            while "MQTT link to" not in (log_path.read_text(errors="replace") if log_path.exists() else ""):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} did not connect; read {log_path}")
                time.sleep(0.05)
        pids = {name: supervisor.children[name].pid for name in names} | {"broker": broker.pid}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        with running_courier(site, DEVICE, poll_seconds=0.01, ack_timeout_seconds=30.0) as courier:
            started, courier_cpu = time.monotonic(), time.process_time()
            deadline = started + timeout
            # Watch the courier's count of rows marked delivered (after its commit), not backlog():
            # counting 100k outbox rows every few ms would tax the very thread being measured.
            while courier.stats.delivered < records and time.monotonic() < deadline:
                time.sleep(0.01)
            seconds = time.monotonic() - started
            courier_cpu = time.process_time() - courier_cpu  # the courier thread (+ this light polling loop)
            cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
            stats = courier.stats
            backlog = courier.backlog()
    finally:
        supervisor.stop_all(grace=5.0)
        broker_supervisor.stop_all(grace=5.0)
    stored = len(server_seqs(site, DEVICE))
    sent = max(stats.records_sent, 1)
    workers_cpu = sum(cpu[name] for name in names)
    total_cpu = workers_cpu + cpu["broker"] + courier_cpu
    return {
        "records": records,
        "stored": stored,
        "backlog_left": backlog,
        "seconds": round(seconds, 2),
        "records_per_second": round(records / seconds, 1) if seconds > 0 else None,
        "batch_size": batch_size,
        "ingest_workers": workers,
        "server_database": "postgresql" if database_url.startswith("postgres") else "sqlite",
        "cpu_seconds_courier": round(courier_cpu, 2),
        "cpu_seconds_ingest_workers": round(workers_cpu, 2),
        "cpu_seconds_broker": round(cpu["broker"], 2),
        "cpu_us_per_record": round(total_cpu / records * 1e6, 1),
        "records_per_cpu_second": round(records / total_cpu, 1) if total_cpu > 0 else None,
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "wire_bytes_per_record": round(stats.record_bytes_wire / sent, 1),
        "plaintext_json_bytes_per_record": round(stats.record_bytes_plain / sent, 1),
        "messages": stats.messages_sent,
        "resends": stats.resends,
        "mqtt_payload_bytes_total": courier.link.bytes_published,
    }


def handle(args: Any) -> int:
    """Handler of ``edgehr bench sync``."""
    folder = Path(tempfile.mkdtemp(prefix="edgehr-bench-sync-"))
    result = run_bench(
        args.records,
        folder,
        batch_size=args.batch_size,
        database_url=args.database_url or "",
        workers=getattr(args, "workers", 2),
    )
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    return 0 if result["stored"] == result["records"] else 1
