"""The multi-host drill: two sites with their own brokers bridged (mutual TLS, MQTT 5) to a central broker,
ingest workers on two "worker hosts" sharing one MQTT 5 subscription, one PostgreSQL; a worker host and a
site bridge fail mid-run; every punch is stored once.

Each host is a network namespace (``drills.netns``): "central" (the central mosquitto and PostgreSQL, the
hub), "site1" and "site2" (a mosquitto each, bridged to central, and one terminal's punch generator and
courier), "w1" and "w2" (two ingest workers each). A spoke reaches only the hub, over its own veth link:
a site's devices cannot reach the central broker except through their site's bridge, and the workers reach
the broker and the database over the network. The drill itself reads PostgreSQL through its Unix socket
(a file, not a network address), so it needs no link of its own.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import EdgehrError
from core.supervisor import Supervisor
from device.courier.settings_file import render_toml
from drills.chaos import compare, device_backlog, device_punches
from drills.chaos_site import Site, build_site, python_argv, python_env, wait_for
from drills.netns import Star, run
from fleet.bridge import Bridge
from fleet.broker import BrokerTls, Mosquitto
from fleet.pki import issue_server_cert
from fleet.revocation import ensure_crl
from sync.keyfiles import write_atomic

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SITES = {"site1": "site1-gate-a", "site2": "site2-gate-a"}
WORKER_HOSTS = {"w1": ("w1a", "w1b"), "w2": ("w2a", "w2b")}
BROKER_PORT = 8883
PG_PORT = 5432


@dataclass(frozen=True)
class Plan:
    records: int = 600  # per device
    rate: float = 40.0  # punches per second per device
    ack_timeout_seconds: float = 2.0
    drain_timeout_seconds: float = 240.0


def _checked(argv: list[str], timeout: float) -> None:
    result = run(argv, timeout)
    if result.returncode != 0:
        raise EdgehrError(f"{argv[-1]} failed: {(result.stdout + result.stderr).strip()[-800:]}",
                          "Read the message above; the drill needs root, iproute2 and Debian's postgresql.",
                          code="drill")


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster listening on every address of the hub namespace and on a Unix socket."""

    star: Star
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="edgehr-pg-net-")))

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        data = self.base / "data"
        _checked(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E",
                               "UTF8"]), timeout=120)
        with open(data / "pg_hba.conf", "a", encoding="utf-8") as hba:  # the drill's links only
            hba.write("host all all 10.251.0.0/16 trust\n")
        options = f"-k {self.base} -p {PG_PORT} -c listen_addresses=* -c fsync=off -c max_connections=50"
        _checked([*self.star.exec_prefix(self.star.hub), *_as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.base / "log"), "-w", "-t", "60",
             "start"])], timeout=90)
        import psycopg

        with psycopg.connect(self.socket_url("postgres"), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "drill"')

    def socket_url(self, database: str = "drill") -> str:
        return f"postgresql://postgres@/{database}?host={self.base}&port={PG_PORT}"

    def tcp_url(self, address: str) -> str:
        return f"postgresql://postgres@{address}:{PG_PORT}/drill"

    def stop(self) -> None:
        run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.base / "data"), "-m", "immediate", "-w", "stop"]),
            timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)


@dataclass
class MultiHost:
    star: Star
    folder: Path
    plan: Plan
    site: Site
    central: Mosquitto
    brokers: dict[str, Mosquitto]
    supervisor: Supervisor
    events: list[str] = field(default_factory=list)

    def worker_config(self, host: str, postgres: Postgres) -> Path:
        """The server config of a worker host: the central broker and PostgreSQL at the hub's address it sees."""
        config: dict[str, Any] = tomllib.loads(self.site.server_config_path.read_text())
        hub = self.star.hub_address(host)
        config["broker"].update({"host": hub, "port": BROKER_PORT})
        config["server"]["database_url"] = postgres.tcp_url(hub)
        path = self.folder / f"server-{host}.toml"
        write_atomic(path, render_toml(config).encode())
        return path

    def start_worker_host(self, host: str, config: Path) -> None:
        for worker in WORKER_HOSTS[host]:
            argv = python_argv("sync.server.ingest", "--config", str(config), "--worker-id", worker)
            self.supervisor.start(worker, [*self.star.exec_prefix(host), *argv], env=python_env())

    def start_device(self, site: str) -> None:
        device = self.site.devices[SITES[site]]
        prefix = self.star.exec_prefix(site)
        self.supervisor.start(f"punchgen-{site}", [*prefix, *python_argv(
            "drills.punchgen", "--database", str(device.database), "--device-id", device.device_id,
            "--count", str(self.plan.records), "--rate", str(self.plan.rate))], env=python_env())
        self.supervisor.start(f"courier-{site}", [*prefix, *python_argv(
            "device.courier.courier", "--config", str(device.config_path), "--ack-timeout",
            str(self.plan.ack_timeout_seconds))], env=python_env())

    def stored(self) -> dict[str, int]:
        """Records of each site's device stored on the server (0 until the device's database has its tables)."""
        counts = {}
        for site, device in SITES.items():
            try:
                counts[site] = compare(self.site, device)["stored"]
            except sqlite3.OperationalError:  # the generator is still creating the database
                counts[site] = 0
        return counts

    def kill_worker_host(self, host: str) -> None:
        killed = self.star.kill_all(host)  # every process on that "host", as if it lost power
        for worker in WORKER_HOSTS[host]:
            self.supervisor.children[worker].process.wait()  # type: ignore[union-attr]
        self.events.append(f"worker host {host} killed ({killed} processes)")

    def kill_site_bridge(self, site: str, down_seconds: float = 2.0) -> None:
        broker = self.brokers[site]
        broker.kill()  # the site's broker and with it its bridge: a crash, nothing saved since the last autosave
        time.sleep(down_seconds)
        broker.start(timeout=30)
        self.events.append(f"site {site} broker and bridge killed, restarted after {down_seconds:.0f} s")

    def drained(self) -> bool:
        return all(device_punches(self.site.devices[d].database) >= self.plan.records
                   and device_backlog(self.site.devices[d].database) == 0 for d in SITES.values())


def _build(star: Star, folder: Path, plan: Plan, postgres: Postgres) -> MultiHost:
    site = build_site(folder / "site", tuple(SITES.values()), database_url_override=postgres.socket_url())
    crl = ensure_crl(site.ca)
    central_certs = issue_server_cert(site.ca, folder / "pki" / "central", addresses=star.hub_addresses())
    central = Mosquitto(folder / "central-broker", tls=BrokerTls(site.ca.cert_path, central_certs, crl),
                        port=BROKER_PORT, devices=[], netns=star.ns(star.hub), bind="0.0.0.0",  # noqa: S104
                        bridges={f"bridge-{name}": [device] for name, device in SITES.items()})
    brokers = {}
    for name, device in SITES.items():
        bridge = Bridge(f"bridge-{name}", star.hub_address(name), BROKER_PORT, site.ca.cert_path,
                        site.client_certs(f"bridge-{name}"), (device,), restart_timeout=(1, 2))
        brokers[name] = Mosquitto(folder / f"{name}-broker", tls=site.broker_tls, port=site.broker_port,
                                  devices=[device], bridge=bridge, netns=star.ns(name))
    return MultiHost(star, folder, plan, site, central, brokers, Supervisor(folder / "logs"))


def run_multi_host(plan: Plan, folder: Path, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Build the hosts, run the devices, fail a worker host and a site bridge mid-run, count both stores."""
    started = time.monotonic()
    star = Star(f"ehr{os.getpid() % 100000}", "central", [*SITES, *WORKER_HOSTS])
    postgres = Postgres(star)
    drill: MultiHost | None = None
    with star:
        try:
            postgres.start()
            drill = _build(star, folder, plan, postgres)
            drill.central.start(timeout=30)
            for broker in drill.brokers.values():
                broker.start(timeout=30)
            for host in WORKER_HOSTS:
                drill.start_worker_host(host, drill.worker_config(host, postgres))
            for name in SITES:
                drill.start_device(name)
            _faults(drill, progress)
            wait_for(drill.drained, "every punch written and acknowledged", timeout=plan.drain_timeout_seconds,
                     interval=0.5)
            result = {device: compare(drill.site, device) for device in SITES.values()}
            central_log = drill.central.log_text()
        finally:
            if drill is not None:
                drill.supervisor.stop_all(grace=5.0)
                for broker in (*drill.brokers.values(), drill.central):
                    broker.supervisor.stop_all(grace=5.0)
            postgres.stop()
    assert drill is not None
    return {"devices": result, "events": drill.events, "seconds": round(time.monotonic() - started, 1),
            "central_log": central_log, "logs": str(folder / "logs")}


def _faults(drill: MultiHost, progress: Callable[[str], None]) -> None:
    """Once both sites' records flow: kill worker host w1, then site1's broker (and bridge)."""
    wait_for(lambda: min(drill.stored().values()) >= 50, "records from both sites", timeout=90, interval=0.3)
    progress(f"stored so far: {drill.stored()}; killing worker host w1")
    drill.kill_worker_host("w1")
    before = drill.stored()
    wait_for(lambda: all(n >= before[s] + 50 for s, n in drill.stored().items() if s == "site2"),
             "site2's records after the worker host died", timeout=90, interval=0.3)
    progress(f"stored so far: {drill.stored()}; killing site1's broker and bridge")
    drill.kill_site_bridge("site1")
