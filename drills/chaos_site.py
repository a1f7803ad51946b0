"""A complete loopback site in one folder, for the chaos drill, the sync benchmark and the tests.

It holds a site CA with the broker's, the ingest workers' and each device's certificates, the
server's state (keys, HR database with the devices registered) and config, and each device's state
(protocol keys, database) and config. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from core.clock import SystemClock
from core.config.loader import load_toml_model
from core.paths import CHECKOUT
from core.supervisor import Supervisor
from device.config.device import DeviceConfig
from device.config.loader import load_device_config
from device.courier.courier import Courier, CourierOptions, build
from device.courier.settings_file import render_toml
from device.courier.updates import Applier
from device.store import open_store
from fleet.broker import BrokerTls, Mosquitto, free_port
from fleet.pki import (
    INGEST_IDENTITY,
    CertFiles,
    CertificateAuthority,
    create_ca,
    issue_client_cert,
    issue_server_cert,
    sign_csr,
)
from fleet.provision import TLS_KEY, provision
from fleet.revocation import ensure_crl
from sync.keyfiles import write_atomic
from sync.protocol import Identity, key_id
from sync.server.config import ServerConfig
from sync.server.ingest import IngestWorker
from sync.server.ingest_keys import load_server_identity, server_keys_path
from sync.server.store import devices, open_hr_store, templates
from sync.server.store.hr_store import database_url


@dataclass
class DeviceSite:
    device_id: str
    state_dir: Path
    config_path: Path
    certs: CertFiles
    identity: Identity

    @property
    def database(self) -> Path:
        return self.state_dir / "device.db"

    def config(self) -> DeviceConfig:
        return load_device_config(self.config_path)


@dataclass
class Site:
    folder: Path
    ca: CertificateAuthority
    broker_certs: CertFiles
    ingest_certs: CertFiles
    broker_port: int
    server_state: Path
    server_config_path: Path
    devices: dict[str, DeviceSite] = field(default_factory=dict)
    #: Certificate names the broker lets in as devices although the HR server does not know them (a drill's
    #: rogue device: its messages must reach the server to be refused there as unknown-device).
    broker_only: list[str] = field(default_factory=list)

    @property
    def broker_tls(self) -> BrokerTls:
        return BrokerTls(self.ca.cert_path, self.broker_certs, ensure_crl(self.ca))

    def server_config(self) -> ServerConfig:
        return load_toml_model(self.server_config_path, ServerConfig)

    def server_database_url(self) -> str:
        config = self.server_config()
        return database_url(config.server.database_url, config.server.state_dir)

    def client_certs(self, common_name: str) -> CertFiles:
        return issue_client_cert(self.ca, common_name, self.folder / "pki" / "clients")

    def broker(self, supervisor: Supervisor | None = None) -> Mosquitto:
        """mosquitto with mutual TLS, persistence, and the dynamic-security rules letting in the site's devices."""
        return Mosquitto(
            self.folder / "broker", tls=self.broker_tls, port=self.broker_port, supervisor=supervisor,
            devices=[*self.devices, *self.broker_only],
        )  # fmt: skip


def new_share_group() -> str:
    """An unguessable ingest share-group name (96 random bits), as provisioning a server should choose it."""
    return "ingest-" + secrets.token_hex(12)


def build_site(
    folder: Path,
    device_ids: tuple[str, ...] = ("site1-gate-a",),
    *,
    workers: int = 2,
    database_url_override: str = "",
    batch_size: int = 50,
    api_port: int | None = None,
) -> Site:
    """Create the site's keys, certificates, configs and HR database under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = create_ca(folder / "pki" / "ca")
    broker_certs = issue_server_cert(ca, folder / "pki" / "broker")
    ingest_certs = issue_client_cert(ca, INGEST_IDENTITY, folder / "pki" / "clients")
    port = free_port()
    server_state = folder / "server"
    server_config = {
        "schema_version": 1,
        "role": "server",
        "server": {"name": "drill", "state_dir": str(server_state), "database_url": database_url_override},
        "broker": {
            "host": "127.0.0.1",
            "port": port,
            "tls": True,
            "ca_file": str(ca.cert_path),
            "cert_file": str(ingest_certs.cert),
            "key_file": str(ingest_certs.key),
        },
        # The site broker refuses a device's SUBSCRIBE to the group (dynamic-security rules); the name is still
        # a secret, for brokers run with the ACL file, which grants every SUBSCRIBE.
        "ingest": {"workers": workers, "share_group": new_share_group()},
        "api": {"host": "127.0.0.1", "port": api_port or free_port()},
        "logging": {"level": "INFO", "json_lines": False},
    }
    server_config_path = folder / "server.toml"
    write_atomic(server_config_path, render_toml(server_config).encode())
    load_server_identity(server_state)  # creates the server's keys and exports the public half
    site = Site(folder, ca, broker_certs, ingest_certs, port, server_state, server_config_path)
    store = open_hr_store(site.server_database_url(), "Asia/Shanghai")
    try:
        for device_id in device_ids:
            site.devices[device_id] = _device(site, device_id, batch_size)
            public = site.devices[device_id].identity.public
            devices.register(
                store,
                device_id=device_id,
                name=device_id,
                site="drill",
                sign_public_key=base64.b64encode(public.sign_raw).decode(),
                sign_key_id=key_id(public.sign_raw).hex(),
                box_public_key=base64.b64encode(public.box_raw).decode(),
                box_key_id=key_id(public.box_raw).hex(),
                actor="drill",
            )
    finally:
        store.close()
    return site


def _device(site: Site, device_id: str, batch_size: int) -> DeviceSite:
    state = site.folder / "devices" / device_id
    made = provision(device_id, state)  # the device's own keys, as `edgehr device provision` makes them
    assert made.keys is not None
    certs = CertFiles(made.cert, made.keys_dir / TLS_KEY)
    sign_csr(site.ca, made.csr.read_bytes(), certs.cert, expected_cn=device_id)
    identity = Identity(made.keys.identity, made.keys.box)
    config = {
        "schema_version": 1,
        "role": "device",
        "device": {"id": device_id, "name": device_id, "state_dir": str(state)},
        "camera": {"source": "fake"},
        "microphone": {"source": "fake"},
        "sync": {
            "enabled": True,
            "broker_host": "127.0.0.1",
            "broker_port": site.broker_port,
            "tls": True,
            "ca_file": str(site.ca.cert_path),
            "cert_file": str(certs.cert),
            "key_file": str(certs.key),
            "server_key_file": str(server_keys_path(site.server_state)),
            "batch_size": batch_size,
            "backoff_min_seconds": 0.2,
            "backoff_max_seconds": 2.0,
        },
        "logging": {"level": "INFO", "json_lines": False},
    }
    config_path = state / "device.toml"
    write_atomic(config_path, render_toml(config).encode())
    return DeviceSite(device_id, state, config_path, certs, identity)


def python_argv(module: str, *args: str) -> list[str]:
    """A child process running ``python -m module`` from this checkout with this interpreter."""
    return [sys.executable, "-m", module, *args]


def python_env() -> dict[str, str]:
    """Children import this checkout first (a worktree runs its own code, not an installed copy)."""
    return {"PYTHONPATH": str(CHECKOUT)}


# -- in-process runners (tests, the benchmark's device side) ----------------------------------------


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0, interval: float = 0.05) -> None:
    """Poll ``check()`` until true; raise TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@contextmanager
def running_courier(
    site: Site, device_id: str, *, release_key: Path | None = None, update_applier: Applier | None = None,
    **options: float,
) -> Iterator[Courier]:
    """A courier thread for one of the site's devices, on its own database connection; with ``release_key``
    it takes ``update`` commands and hands staged releases to ``update_applier``."""
    device = site.devices[device_id]
    store = open_store(device.database, check_same_thread=False)
    stop = threading.Event()
    config = device.config()
    courier = build(
        config,
        store,
        stop=stop,
        config_path=device.config_path,
        clock=SystemClock(assume_synced=True),
        options=CourierOptions.of(config, **options),
        release_key=release_key,
        update_applier=update_applier,
    )
    thread = courier.start_thread()
    try:
        yield courier
    finally:
        stop.set()
        thread.join(15)
        store.close()


@contextmanager
def running_worker(site: Site, worker_id: str = "1") -> Iterator[IngestWorker]:
    """An ingest worker thread with its own HR store connection."""
    config = site.server_config()
    store = open_hr_store(site.server_database_url(), "Asia/Shanghai")
    stop = threading.Event()
    worker = IngestWorker(
        store=store,
        keys=load_server_identity(config.server.state_dir),
        endpoint=config.broker.endpoint(),
        worker_id=worker_id,
        share_group=config.ingest.share_group,
        stop=stop,
        data_key=templates.load_data_key(config.server.state_dir, store),  # gallery commands carry templates
    )
    thread = threading.Thread(target=worker.run, name=f"ingest-{worker_id}")
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(15)
        store.close()


def server_seqs(site: Site, device_id: str) -> list[int]:
    """Record sequences the HR store holds for ``device_id``, ascending."""
    store = open_hr_store(site.server_database_url(), "Asia/Shanghai")
    try:
        with store.db.read() as tx:
            rows = tx.execute("SELECT seq FROM records WHERE device_id = ? ORDER BY seq", (device_id,)).all()
    finally:
        store.close()
    return [int(r[0]) for r in rows]
