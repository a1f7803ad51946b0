"""The PostgreSQL failover drill: a primary and a streaming replica (Debian's PostgreSQL 15, the replica made
with ``pg_basebackup -R``, synchronous so that every commit the server acknowledges is on both), ingest
workers writing to the primary through one libpq multi-host URL with ``target_session_attrs=read-write``;
mid-run the primary is killed (SIGKILL of its postmaster: a crash, not a shutdown) and the replica promoted
(``pg_ctl promote``). A worker whose connection breaks exits, is restarted (as systemd's ``Restart=`` or
``edgehr server run`` would), and the same URL finds the new primary; the devices resend whatever was not
acknowledged. Every punch of both terminals is then stored exactly once.

Everything listens on 127.0.0.1 (free ports): the clusters, the site broker (mutual TLS), the workers and
devices are processes of this machine. Failover itself is done by hand here (``promote``), as Patroni or
pg_auto_failover would do it; the drill checks what edgehr has to get right around it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import EdgehrError
from core.supervisor import Supervisor
from drills.chaos import compare, device_backlog, device_punches
from drills.chaos_site import Site, build_site, python_argv, python_env, wait_for
from drills.netns import run

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DEVICES = ("site1-gate-a", "site1-gate-b")
WORKERS = ("w1", "w2")


@dataclass(frozen=True)
class Plan:
    records: int = 400  # per device
    rate: float = 30.0  # punches per second per device
    ack_timeout_seconds: float = 2.0
    drain_timeout_seconds: float = 240.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _checked(argv: list[str], timeout: float) -> None:
    result = run(argv, timeout)
    if result.returncode != 0:
        raise EdgehrError(f"{argv[-1]} failed: {(result.stdout + result.stderr).strip()[-800:]}",
                          "The drill needs Debian's postgresql (ops/setup.sh) and, as root, the postgres user.",
                          code="drill")


@dataclass
class Cluster:
    """One PostgreSQL cluster on 127.0.0.1:``port``, its data in ``base/data``."""

    base: Path
    port: int = field(default_factory=_free_port)

    @property
    def data(self) -> Path:
        return self.base / "data"

    def start(self) -> None:
        options = f"-k {self.base} -p {self.port} -c listen_addresses=127.0.0.1"
        _checked(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                               str(self.base / "log"), "-w", "-t", "60", "start"]), timeout=90)

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def kill(self) -> None:
        """SIGKILL the postmaster (its backends notice and exit): the primary's host dies."""
        pid = self.postmaster_pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.1)

    def stop(self) -> None:
        run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
            timeout=60)


@dataclass
class Pair:
    """A primary with one synchronous streaming replica, in a temporary folder the postgres user owns."""

    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="edgehr-pg-failover-")))
    primary: Cluster = field(init=False)
    replica: Cluster = field(init=False)

    def __post_init__(self) -> None:
        self.primary, self.replica = Cluster(self.base / "primary"), Cluster(self.base / "replica")

    def start(self) -> None:
        for folder in (self.primary.base, self.replica.base):
            folder.mkdir(parents=True)
        if os.geteuid() == 0:
            for folder in (self.base, self.primary.base, self.replica.base):
                shutil.chown(folder, "postgres", "postgres")
        _checked(_as_postgres([str(PG_BIN / "initdb"), "-D", str(self.primary.data), "--auth=trust", "-U",
                               "postgres", "-E", "UTF8"]), timeout=120)
        with open(self.primary.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            # Synchronous: a commit (and so the server's ack to a terminal) waits until the replica has it.
            conf.write("wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
                       "synchronous_standby_names = '*'\nsynchronous_commit = on\n")
        self.primary.start()
        _checked(_as_postgres([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port), "-U",
                               "postgres", "-D", str(self.replica.data), "-R", "-X", "stream"]), timeout=180)
        # The copied settings would make the promoted replica wait for a standby it does not have: every
        # commit would hang. After a real failover, Patroni (or the operator) sets this when it re-adds one.
        with open(self.replica.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("synchronous_standby_names = ''\n")
        self.replica.start()
        import psycopg

        with psycopg.connect(self.url("postgres", primary_only=True), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "drill"')
        wait_for(self.streaming, "the replica streaming synchronously", timeout=60, interval=0.3)

    def url(self, database: str = "drill", *, primary_only: bool = False) -> str:
        """The workers' URL: both hosts, and libpq keeps only the one that accepts writes."""
        if primary_only:
            return f"postgresql://postgres@127.0.0.1:{self.primary.port}/{database}"
        return (f"postgresql://postgres@127.0.0.1:{self.primary.port},127.0.0.1:{self.replica.port}/{database}"
                "?target_session_attrs=read-write")

    def streaming(self) -> bool:
        import psycopg

        with psycopg.connect(self.url("postgres", primary_only=True), autocommit=True) as conn:
            row = conn.execute("SELECT sync_state FROM pg_stat_replication").fetchone()
        return row is not None and row[0] == "sync"

    def promote(self) -> None:
        _checked(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.replica.data), "-w", "-t", "60", "promote"]),
                 timeout=90)

    def stop(self) -> None:
        for cluster in (self.replica, self.primary):
            if (cluster.data / "postmaster.pid").exists():
                cluster.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@dataclass
class Failover:
    site: Site
    plan: Plan
    pair: Pair
    supervisor: Supervisor
    restarts: dict[str, int] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)

    def start_workers(self) -> None:
        for worker in WORKERS:
            config = str(self.site.server_config_path)
            argv = python_argv("sync.server.ingest", "--config", config, "--worker-id", worker)
            self.supervisor.start(worker, argv, env=python_env())

    def restart_dead_workers(self) -> None:
        """What ``Restart=always`` does for edgehr-ingest@.service: a worker that exited starts again."""
        for worker in WORKERS:
            child = self.supervisor.children[worker]
            if not child.running():
                self.restarts[worker] = self.restarts.get(worker, 0) + 1
                self.supervisor.start(worker, child.argv, env=python_env())

    def start_devices(self) -> None:
        for device_id in DEVICES:
            device = self.site.devices[device_id]
            self.supervisor.start(f"punchgen-{device_id}", python_argv(
                "drills.punchgen", "--database", str(device.database), "--device-id", device_id,
                "--count", str(self.plan.records), "--rate", str(self.plan.rate)), env=python_env())
            self.supervisor.start(f"courier-{device_id}", python_argv(
                "device.courier.courier", "--config", str(device.config_path), "--ack-timeout",
                str(self.plan.ack_timeout_seconds)), env=python_env())

    def stored(self) -> int:
        """Fewest records of one device on the server (0 while a device's database is being made)."""
        try:
            return min(int(compare(self.site, d)["stored"]) for d in DEVICES)
        except (sqlite3.OperationalError, EdgehrError):  # a database being made, or no primary right now
            return 0

    def drained(self) -> bool:
        self.restart_dead_workers()
        return all(device_punches(self.site.devices[d].database) >= self.plan.records
                   and device_backlog(self.site.devices[d].database) == 0 for d in DEVICES)


def run_failover(plan: Plan, folder: Path, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Start the pair, the site and its workers and devices; kill the primary mid-run and promote the replica;
    wait until every punch is acknowledged; compare both stores."""
    started = time.monotonic()
    pair = Pair()
    drill: Failover | None = None
    try:
        pair.start()
        site = build_site(folder / "site", DEVICES, database_url_override=pair.url())  # migrated on the primary
        drill = Failover(site, plan, pair, Supervisor(folder / "logs"))
        with site.broker():
            drill.start_workers()
            drill.start_devices()
            wait_for(lambda: drill is not None and drill.stored() >= plan.records // 4, "records on the primary",
                     timeout=120, interval=0.3)
            before = drill.stored()
            progress(f"stored so far (fewest of one device): {before}; killing the primary")
            pair.primary.kill()
            drill.events.append(f"primary killed with {before}+ records of each device stored")
            time.sleep(1.0)  # the workers meet the broken connection with no primary anywhere
            pair.promote()
            drill.events.append("replica promoted")
            progress("replica promoted; waiting for every punch to be acknowledged")
            wait_for(drill.drained, "every punch written and acknowledged", timeout=plan.drain_timeout_seconds,
                     interval=0.5)
            result = {device: compare(site, device) for device in DEVICES}
            drill.supervisor.stop_all(grace=5.0)
    finally:
        if drill is not None:
            drill.supervisor.stop_all(grace=5.0)
        pair.stop()
    assert drill is not None
    return {"devices": result, "events": drill.events, "worker_restarts": drill.restarts,
            "seconds": round(time.monotonic() - started, 1), "logs": str(folder / "logs")}
