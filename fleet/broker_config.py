"""mosquitto's configuration rendered from ops/mosquitto's templates: the listener (mutual TLS or a plain test
listener), the access rules (dynamic-security plugin or ACL file), persistence, limits, and a site broker's
bridge (``fleet.bridge``). Used by :class:`fleet.broker.Mosquitto` and ``python -m fleet.broker render``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

from core.errors import EdgehrError
from core.paths import CHECKOUT
from fleet.bridge import Bridge, render_bridge
from fleet.dynsec import find_plugin
from fleet.pki import INGEST_IDENTITY, CertFiles, validate_client_cn

TEMPLATES = CHECKOUT / "ops" / "mosquitto"
MOSQUITTO = "/usr/sbin/mosquitto"
#: Enough for a site's multi-day backlog drill; by count, since envelopes vary in size.
MAX_QUEUED_MESSAGES = 100_000

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
    #: A site broker's bridge to the central broker (``fleet.bridge``).
    bridge: Bridge | None = None


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
        bridge=render_bridge(settings.bridge) if settings.bridge is not None else "# no bridge",
    )


def _access_lines(settings: BrokerSettings, plugin: Path | None) -> str:
    if settings.dynsec_file is not None:
        return f"plugin {plugin}\nplugin_opt_config_file {settings.dynsec_file}"
    if settings.acl_file is not None:
        return f"acl_file {settings.acl_file}"
    return "# no ACL: every topic open"
