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

import argparse
import os
import pwd
import shutil
import signal
import socket
import ssl
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from core.errors import EdgehrError
from core.paths import CHECKOUT
from core.supervisor import Supervisor
from fleet.dynsec import find_plugin, read_devices_file, render_dynsec
from fleet.pki import INGEST_IDENTITY, CertFiles, validate_client_cn

TEMPLATES = CHECKOUT / "ops" / "mosquitto"
MOSQUITTO = "/usr/sbin/mosquitto"
#: Enough for a site's multi-day backlog drill; by count, since envelopes vary in size.
MAX_QUEUED_MESSAGES = 100_000
CHILD_NAME = "mosquitto"
_RUNNING = " running\n"  # mosquitto logs "mosquitto version X running" once its listeners are open
_RELOADED = "Reloading config."  # logged on SIGHUP


def _error(what: str, fix: str) -> EdgehrError:
    return EdgehrError(what, fix, code="broker")


@dataclass(frozen=True)
class BrokerTls:
    """The broker's side of mutual TLS: the CA clients must come from, and the broker's own certificate."""

    ca_file: Path
    server: CertFiles
    #: The site CA's revocation list (``crl.pem``). mosquitto refuses to start if it is missing or unreadable,
    #: and refuses every client once it is past its next-update date; None checks no revocation at all.
    crl_file: Path | None = None


@dataclass(frozen=True)
class BrokerSettings:
    """Everything that varies between one rendered broker config and another."""

    port: int
    persistence_dir: Path
    #: The mosquitto ACL file (grants every SUBSCRIBE); at most one of it and ``dynsec_file``.
    acl_file: Path | None
    tls: BrokerTls | None
    bind: str = "127.0.0.1"
    log_dest: str = "stdout"
    max_queued_messages: int = MAX_QUEUED_MESSAGES
    autosave_interval: int = 60
    session_expiration: str = "14d"
    max_packet_size: int = 1_048_576
    #: Started as root, mosquitto switches to this user (Debian: "mosquitto"); None keeps that default.
    run_as: str | None = None
    #: The dynamic-security plugin's file (``fleet.dynsec``); needs TLS, since it names clients by certificate.
    dynsec_file: Path | None = None
    #: The plugin library; None looks for Debian's (``fleet.dynsec.find_plugin``).
    dynsec_plugin: Path | None = None


def _template(name: str) -> Template:
    path = TEMPLATES / name
    try:
        return Template(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _error(
            f"Broker template {path} is missing.", "Run from an edgehr checkout that has ops/mosquitto/."
        ) from None


def render_acl(ingest_identity: str = INGEST_IDENTITY) -> str:
    return _template("acl.template").substitute(ingest_identity=validate_client_cn(ingest_identity))


def render_config(settings: BrokerSettings) -> str:
    """The mosquitto.conf text for ``settings``."""
    crl = settings.tls.crl_file if settings.tls is not None else None
    plugin = None
    if settings.dynsec_file is not None:
        if settings.acl_file is not None:
            raise _error("Both an ACL file and a dynamic-security file were given.", "Give one of them.")
        if settings.tls is None:
            raise _error(
                "The dynamic-security plugin needs the TLS listener: it knows clients by their certificate.",
                "Give TLS settings, or use the ACL file on a plain test listener.",
            )
        plugin = settings.dynsec_plugin or find_plugin()
    for path in (settings.persistence_dir, settings.acl_file, crl, settings.dynsec_file, plugin):
        if path is not None and any(c in str(path) for c in "\n\r"):
            raise _error(f"Path {path!r} cannot go into a mosquitto config.", "Use a path without line breaks.")
    if settings.tls is None:
        listener = _template("listener-plain.template").substitute(port=settings.port, bind=settings.bind)
    else:
        listener = _template("listener-tls.template").substitute(
            port=settings.port,
            bind=settings.bind,
            cafile=settings.tls.ca_file,
            certfile=settings.tls.server.cert,
            keyfile=settings.tls.server.key,
            crl_line=f"crlfile {crl}" if crl is not None else "# no crlfile: revoked certificates still connect",
        )
    return _template("edgehr.conf.template").substitute(
        # Without TLS nothing identifies a client, so a plain listener must accept user names as claimed.
        user_line=f"user {settings.run_as}" if settings.run_as else "# started as root: runs as user mosquitto",
        allow_anonymous="false" if settings.tls is not None else "true",
        access_lines=_access_lines(settings, plugin),
        persistence_dir=settings.persistence_dir,
        autosave_interval=settings.autosave_interval,
        session_expiration=settings.session_expiration,
        max_queued_messages=settings.max_queued_messages,
        max_packet_size=settings.max_packet_size,
        log_dest=settings.log_dest,
        listener=listener,
    )


def _access_lines(settings: BrokerSettings, plugin: Path | None) -> str:
    if settings.dynsec_file is not None:
        return f"plugin {plugin}\nplugin_opt_config_file {settings.dynsec_file}"
    if settings.acl_file is not None:
        return f"acl_file {settings.acl_file}"
    return "# no ACL: every topic open"


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
    ) -> None:
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
        )

    def write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.persistence_dir.mkdir(exist_ok=True)
        if self.acl_path is not None:
            self.acl_path.write_text(render_acl(self._ingest_identity), encoding="utf-8")
        if self.dynsec_path is not None and self.devices is not None:
            # Rewritten on every start: the plugin reads it only then, and no client may change it ($CONTROL).
            self.dynsec_path.write_text(render_dynsec(self.devices, self._ingest_identity), encoding="utf-8")
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
        self.supervisor.start(CHILD_NAME, [self.executable, "-c", str(self.config_path)])

        # The log line proves that this process (not another on the same port) opened the listener.
        def ready() -> bool:
            return self.log_text().count(_RUNNING) > starts_before and accepts_connections(self.host, self.port)

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


def _render_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fleet.broker render",
        description="Write a production mosquitto config and its dynamic-security rules for edgehr.",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="config file to write, e.g. /etc/mosquitto/mosquitto.conf"
    )
    parser.add_argument(
        "--dynsec-out", type=Path, required=True,
        help="dynamic-security file to write, e.g. /etc/mosquitto/edgehr-dynsec.json",
    )  # fmt: skip
    parser.add_argument(
        "--devices-file", type=Path, required=True,
        help="device ids the broker lets in, one a line (e.g. /etc/mosquitto/edgehr-devices)",
    )  # fmt: skip
    parser.add_argument("--plugin", type=Path, default=None, help="mosquitto_dynamic_security.so (default: Debian's)")
    parser.add_argument("--port", type=int, default=8883)
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on (default all)")  # noqa: S104
    parser.add_argument("--ca-file", type=Path, required=True, help="site CA certificate (ca.crt)")
    parser.add_argument("--cert-file", type=Path, required=True, help="broker certificate")
    parser.add_argument("--key-file", type=Path, required=True, help="broker private key")
    parser.add_argument(
        "--crl-file", type=Path, default=None, help="copy of the site CA's crl.pem (revoked device certificates)"
    )
    parser.add_argument("--persistence-dir", type=Path, default=Path("/var/lib/mosquitto"))
    parser.add_argument("--log-dest", default="syslog", help="mosquitto log_dest value (default syslog)")
    parser.add_argument("--ingest-identity", default=INGEST_IDENTITY)
    parser.add_argument("--max-queued-messages", type=int, default=MAX_QUEUED_MESSAGES)
    parser.add_argument("--user", default=None, help="user mosquitto runs as when started as root (default mosquitto)")
    args = parser.parse_args(argv)
    try:
        settings = BrokerSettings(
            port=args.port,
            persistence_dir=args.persistence_dir,
            acl_file=None,
            tls=BrokerTls(args.ca_file, CertFiles(args.cert_file, args.key_file), args.crl_file),
            dynsec_file=args.dynsec_out,
            dynsec_plugin=args.plugin,
            bind=args.bind,
            log_dest=args.log_dest,
            max_queued_messages=args.max_queued_messages,
            run_as=args.user,
        )
        config = render_config(settings)  # checks everything before writing anything
        dynsec = render_dynsec(read_devices_file(args.devices_file), args.ingest_identity)
        args.dynsec_out.write_text(dynsec, encoding="utf-8")
        args.out.write_text(config, encoding="utf-8")
    except EdgehrError as exc:
        print(f"edgehr broker: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} and {args.dynsec_out}; check with: mosquitto -c {args.out} -v", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] != ["render"]:
        print("usage: python -m fleet.broker render --help", file=sys.stderr)
        sys.exit(2)
    sys.exit(_render_main(sys.argv[2:]))
