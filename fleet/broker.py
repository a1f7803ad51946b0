"""A mosquitto broker run from ops/mosquitto's templates: for tests, fault drills and the demo site.

:class:`Mosquitto` renders the config and ACL into a folder it owns (persistence and the log live there
too), starts ``/usr/sbin/mosquitto`` under a :class:`~core.supervisor.Supervisor`, and waits until the
listener accepts connections. ``restart`` keeps the folder, the port and so the broker's persisted
sessions and queued QoS 1 messages; ``kill`` is a crash (SIGKILL: nothing saved since the last autosave).

Access control: with ``devices`` listed, mosquitto's dynamic-security plugin (``fleet.dynsec``), which also
refuses SUBSCRIBEs outside a client's topics (a device cannot join the ingest share group); without, the
``acl_file`` of ops/mosquitto/acl.template, which grants every SUBSCRIBE and filters on delivery.

``render_config`` is the same rendering for a production broker (see ops/mosquitto/README.md).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import ssl
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.errors import EdgehrError
from core.supervisor import Supervisor
from fleet.bridge import Bridge
from fleet.broker_config import (
    MAX_QUEUED_MESSAGES,
    MOSQUITTO,
    TEMPLATES,
    BrokerSettings,
    BrokerTls,
    render_acl,
    render_config,
)
from fleet.dynsec import render_dynsec
from fleet.pki import INGEST_IDENTITY

__all__ = ["MAX_QUEUED_MESSAGES", "MOSQUITTO", "TEMPLATES", "BrokerSettings", "BrokerTls", "Mosquitto",
           "accepts_connections", "client_tls_context", "free_port", "render_acl", "render_config"]

CHILD_NAME = "mosquitto"
_RUNNING = " running\n"  # mosquitto logs "mosquitto version X running" once its listeners are open
_RELOADED = "Reloading config."  # logged on SIGHUP


def _error(what: str, fix: str) -> EdgehrError:
    return EdgehrError(what, fix, code="broker")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def client_tls_context(ca_file: Path, cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """TLS settings of an MQTT client of this broker: verify it against the site CA, present our certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert_file), str(key_file))
    return context


class Mosquitto:
    """One mosquitto process whose config, ACL, persistence and log live in ``folder``.

    ``tls=None`` gives a plain loopback listener; then ``acl=True`` still enforces the edgehr ACL with the
    CONNECT user name taken as the identity (unauthenticated: for tests only), ``acl=False`` opens every
    topic. With TLS access control always applies: ``devices`` (the device ids let in) selects the
    dynamic-security plugin, as production runs it, which refuses a SUBSCRIBE outside a client's topics;
    ``devices=None`` the ACL file, which grants every SUBSCRIBE (tests that make device certificates as they
    go). Pass ``supervisor`` to run it beside a site's other processes.
    """

    def __init__(
        self,
        folder: Path,
        *,
        tls: BrokerTls | None,
        port: int | None = None,
        acl: bool = True,
        ingest_identity: str = INGEST_IDENTITY,
        max_queued_messages: int = MAX_QUEUED_MESSAGES,
        autosave_interval: int = 60,
        supervisor: Supervisor | None = None,
        executable: str = MOSQUITTO,
        devices: Sequence[str] | None = None,
        bridge: Bridge | None = None,
        bridges: Mapping[str, Sequence[str]] | None = None,
        netns: str | None = None,
        bind: str = "127.0.0.1",
    ) -> None:
        """``bridge``: this (site) broker's bridge to a central one; ``bridges``: on a central broker, the bridges
        it lets in and the devices each carries. ``netns``: run inside that network namespace (``ip netns
        exec``), listening on ``bind`` there; readiness is then read from the log alone."""
        if tls is None and not acl and ingest_identity != INGEST_IDENTITY:
            raise _error("An ingest identity was given for a broker without ACL.", "Drop it, or set acl=True.")
        if tls is None and devices is not None:
            raise _error(
                "A device list was given for a broker without TLS.",
                "The dynamic-security plugin knows clients by certificate: give tls, or drop devices.",
            )
        if shutil.which(executable) is None:
            raise _error(f"mosquitto was not found at {executable}.", "Install it: ops/setup.sh (apt mosquitto).")
        self.folder = folder
        self.host = "127.0.0.1"
        self.netns = netns
        self.bridges = dict(bridges or {})
        self.port = port or free_port(self.host)
        self.tls = tls
        self.executable = executable
        self.config_path = folder / "mosquitto.conf"
        self.devices: tuple[str, ...] | None = tuple(devices) if devices is not None else None
        self.dynsec_path: Path | None = folder / "dynsec.json" if self.devices is not None else None
        self.acl_path: Path | None = folder / "acl" if self.dynsec_path is None and (tls is not None or acl) else None
        self.persistence_dir = folder / "data"
        self._own_supervisor = supervisor is None
        self.supervisor = supervisor or Supervisor(folder)
        self.log_path = self.supervisor.log_dir / f"{CHILD_NAME}.log"
        self._ingest_identity = ingest_identity
        self._settings = BrokerSettings(
            port=self.port,
            persistence_dir=self.persistence_dir,
            acl_file=self.acl_path,
            tls=tls,
            dynsec_file=self.dynsec_path,
            max_queued_messages=max_queued_messages,
            autosave_interval=autosave_interval,
            # Its own log file rather than stdout: stdout into a file is block-buffered, so lines would come
            # late (readiness) or never (SIGKILL). Startup errors still reach the same file through stderr.
            log_dest=f"file {self.log_path}",
            # Run as whoever runs us: as root, mosquitto would switch to user "mosquitto" and could not read
            # a folder private to this user (a test's tmp_path).
            run_as=pwd.getpwuid(os.geteuid()).pw_name,
            bridge=bridge,
            bind=bind,
        )

    def write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.persistence_dir.mkdir(exist_ok=True)
        if self.acl_path is not None:
            self.acl_path.write_text(render_acl(self._ingest_identity), encoding="utf-8")
        if self.dynsec_path is not None and self.devices is not None:
            # Rewritten on every start: the plugin reads it only then, and no client may change it ($CONTROL).
            self.dynsec_path.write_text(render_dynsec(self.devices, self._ingest_identity, self.bridges),
                                        encoding="utf-8")
        self.config_path.write_text(render_config(self._settings), encoding="utf-8")

    def add_devices(self, device_ids: Sequence[str]) -> None:
        """Let more devices in. mosquitto 2.0.11's plugin reads its file only at start: a running broker restarts
        (clients reconnect; persistent sessions and queued messages are kept)."""
        if self.devices is None:
            raise _error("This broker has no device list (it uses the ACL file).", "Create it with devices=[...].")
        self.devices = tuple(dict.fromkeys([*self.devices, *device_ids]))
        if self.running():
            self.restart()
        else:
            self.write_config()

    def running(self) -> bool:
        child = self.supervisor.children.get(CHILD_NAME)
        return child is not None and child.running()

    @property
    def pid(self) -> int | None:
        child = self.supervisor.children.get(CHILD_NAME)
        return child.pid if child is not None else None

    def start(self, timeout: float = 10.0) -> None:
        """Start mosquitto and return once its listener accepts connections (or raise, naming the log)."""
        self.write_config()
        starts_before = self.log_text().count(_RUNNING)
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.supervisor.start(CHILD_NAME, [*prefix, self.executable, "-c", str(self.config_path)])

        # The log line proves that this process (not another on the same port) opened the listener.
        def ready() -> bool:
            logged = self.log_text().count(_RUNNING) > starts_before
            return logged and (self.netns is not None or accepts_connections(self.host, self.port))

        self.supervisor.wait_until(ready, timeout, f"mosquitto to listen on port {self.port}")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM: mosquitto saves its database (sessions, queued messages, retained) and exits."""
        self.supervisor.stop(CHILD_NAME, grace)

    def kill(self) -> None:
        """SIGKILL: a crash or power cut; what changed since the last autosave is lost."""
        if CHILD_NAME in self.supervisor.children:
            self.supervisor.kill(CHILD_NAME)

    def restart(self, timeout: float = 10.0) -> None:
        self.stop()
        self.start(timeout)

    def reload(self, timeout: float = 10.0) -> None:
        """SIGHUP: mosquitto reads its config again, and with it the CRL (``crlfile``); returns once it has."""
        reloads_before = self.log_text().count(_RELOADED)
        self.supervisor.signal(CHILD_NAME, signal.SIGHUP)
        self.supervisor.wait_until(
            lambda: self.log_text().count(_RELOADED) > reloads_before, timeout, "mosquitto to reload its config"
        )

    def pause(self) -> None:
        """SIGSTOP: the broker hangs with its sockets open (a drill for clients' keepalive)."""
        self.supervisor.signal(CHILD_NAME, signal.SIGSTOP)

    def resume(self) -> None:
        self.supervisor.signal(CHILD_NAME, signal.SIGCONT)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.running():
            self.resume()  # a stopped process cannot handle SIGTERM
        self.stop()


if __name__ == "__main__":
    if sys.argv[1:2] != ["render"]:
        print("usage: python -m fleet.broker render --help", file=sys.stderr)
        sys.exit(2)
    from fleet.broker_cli import render_main

    sys.exit(render_main(sys.argv[2:]))
