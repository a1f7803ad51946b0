"""A site broker's bridge to the central broker (mosquitto's own bridge, over mutual TLS, MQTT 5).

Terminals connect to the mosquitto at their site; that broker forwards each listed device's uplink and
status to the central broker, where the ingest workers share one MQTT 5 subscription, and brings each
device's downlink (acks, commands) back. The bridge is one client of the central broker: its certificate
(from the same site CA) names it, and the central broker's dynamic-security rules (``fleet.dynsec``,
``bridges=``) let it write only its own devices' uplink and status and read only their downlink.

Delivery stays end to end: a device deletes a record only on the server's ack, so a bridge that drops
(broker restart, network cut) costs a resend, never a record. ``cleansession false`` with a persistent
local and remote session keeps what it can across a reconnect; the couriers' resends cover the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import EdgehrError
from fleet.pki import CertFiles, validate_client_cn

#: Topics a bridge carries for one device: (pattern, direction). Uplink and status out, downlink in.
DEVICE_TOPICS = (("edgehr/v1/{device_id}/up/#", "out"), ("edgehr/v1/{device_id}/status", "out"),
                 ("edgehr/v1/{device_id}/down/#", "in"))
PROTOCOLS = ("mqttv50", "mqttv311")


@dataclass(frozen=True)
class Bridge:
    """One site broker's connection to the central broker."""

    #: The bridge's name: its client id at the central broker and the CN of its certificate.
    name: str
    host: str
    port: int
    #: The CA the central broker's certificate must come from (the site CA).
    ca_file: Path
    #: The bridge's client certificate and key (CN = ``name``).
    client: CertFiles
    #: The devices of this site: only their topics cross the bridge.
    device_ids: tuple[str, ...]
    protocol: str = "mqttv50"
    #: Seconds between reconnect attempts: first, then backing off up to the second.
    restart_timeout: tuple[int, int] = (1, 30)
    keepalive_seconds: int = 15


def _error(what: str, fix: str) -> EdgehrError:
    return EdgehrError(what, fix, code="broker")


def render_bridge(bridge: Bridge) -> str:
    """The mosquitto.conf lines of ``bridge`` (they go last: every line after ``connection`` belongs to it)."""
    validate_client_cn(bridge.name)
    if bridge.protocol not in PROTOCOLS:
        raise _error(f"Bridge protocol {bridge.protocol!r} is not supported.", f"Use one of {', '.join(PROTOCOLS)}.")
    if not bridge.device_ids:
        raise _error(f"Bridge {bridge.name} carries no device.", "List the site's devices (--devices-file).")
    for value in (bridge.host, str(bridge.ca_file), str(bridge.client.cert), str(bridge.client.key)):
        if not value or any(c in value for c in "\n\r "):
            raise _error(f"{value!r} cannot go into a mosquitto bridge config.", "Use a value without spaces.")
    lines = [
        "# Bridge to the central broker: this site's devices' uplink and status out, their downlink in.",
        f"connection {bridge.name}",
        f"address {bridge.host}:{bridge.port}",
        # Its client id at the central broker (default: <hostname>.<name>): stable, so its session is kept.
        f"remote_clientid {bridge.name}",
        f"bridge_protocol_version {bridge.protocol}",
        f"bridge_cafile {bridge.ca_file}",
        f"bridge_certfile {bridge.client.cert}",
        f"bridge_keyfile {bridge.client.key}",
        "bridge_tls_version tlsv1.2",
        "bridge_insecure false",
        # Persistent sessions on both sides: subscriptions and queued QoS 1 messages survive a reconnect.
        "cleansession false",
        "local_cleansession false",
        f"keepalive_interval {bridge.keepalive_seconds}",
        f"restart_timeout {bridge.restart_timeout[0]} {bridge.restart_timeout[1]}",
        "start_type automatic",
        # The bridge's own up/down state stays on this broker ($SYS/broker/connection/<name>/state).
        "notifications true",
        "notifications_local_only true",
    ]
    for device_id in sorted(set(bridge.device_ids)):
        validate_client_cn(device_id)
        lines += [f"topic {pattern.format(device_id=device_id)} {direction} 1" for pattern, direction in DEVICE_TOPICS]
    return "\n".join(lines) + "\n"


def bridge_rules(device_ids: Sequence[str]) -> list[tuple[str, str]]:
    """The central broker's rules for a bridge carrying ``device_ids`` (dynamic-security ACL kinds)."""
    rules: list[tuple[str, str]] = []
    for device_id in sorted(set(device_ids)):
        validate_client_cn(device_id)
        rules += [
            ("publishClientSend", f"edgehr/v1/{device_id}/up/#"),
            ("publishClientSend", f"edgehr/v1/{device_id}/status"),
            ("subscribePattern", f"edgehr/v1/{device_id}/down/#"),
            ("publishClientReceive", f"edgehr/v1/{device_id}/down/#"),
        ]
    return rules
