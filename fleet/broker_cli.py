"""``python -m fleet.broker render``: a production mosquitto config and its dynamic-security rules.

A site broker that bridges to a central one adds ``--bridge-name/--bridge-address/--bridge-cert-file/
--bridge-key-file`` (its devices: ``--devices-file``); the central broker lets each site's bridge in with
``--bridge-client NAME=DEVICES_FILE`` (once per site). See ops/mosquitto/README.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from core.errors import EdgehrError
from fleet.bridge import Bridge
from fleet.broker_config import MAX_QUEUED_MESSAGES, BrokerSettings, BrokerTls, render_config
from fleet.dynsec import read_devices_file, render_dynsec
from fleet.pki import INGEST_IDENTITY, CertFiles


def _parser() -> argparse.ArgumentParser:
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
    site = parser.add_argument_group("a site broker's bridge to the central broker")
    site.add_argument("--bridge-name", default=None, help="the bridge's certificate CN, e.g. bridge-site1")
    site.add_argument("--bridge-address", default=None, help="the central broker, HOST:PORT")
    site.add_argument("--bridge-cert-file", type=Path, default=None, help="the bridge's client certificate")
    site.add_argument("--bridge-key-file", type=Path, default=None, help="the bridge's private key")
    site.add_argument("--bridge-protocol", default="mqttv50", choices=("mqttv50", "mqttv311"))
    central = parser.add_argument_group("a central broker")
    central.add_argument("--bridge-client", action="append", default=[], metavar="NAME=DEVICES_FILE",
                         help="let the site bridge NAME in, carrying the devices listed in DEVICES_FILE (repeat)")
    return parser


def _bridge(args: argparse.Namespace, devices: list[str]) -> Bridge | None:
    wanted = (args.bridge_name, args.bridge_address, args.bridge_cert_file, args.bridge_key_file)
    if not any(wanted):
        return None
    if not all(wanted):
        raise EdgehrError("A bridge needs --bridge-name, --bridge-address, --bridge-cert-file and --bridge-key-file.",
                          "Give all four, or none.", code="broker")
    host, _, port = str(args.bridge_address).rpartition(":")
    if not host or not port.isdigit():
        raise EdgehrError(f"--bridge-address {args.bridge_address!r} is not HOST:PORT.", "E.g. hr.example:8883.",
                          code="broker")
    return Bridge(args.bridge_name, host, int(port), args.ca_file,
                  CertFiles(args.bridge_cert_file, args.bridge_key_file), tuple(devices), args.bridge_protocol)


def _bridge_clients(specs: Sequence[str]) -> dict[str, list[str]]:
    clients: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise EdgehrError(f"--bridge-client {spec!r} is not NAME=DEVICES_FILE.", "E.g. bridge-site1=site1-devices",
                              code="broker")
        clients[name] = read_devices_file(Path(path))
    return clients


def render_main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        devices = read_devices_file(args.devices_file)
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
            bridge=_bridge(args, devices),
        )
        config = render_config(settings)  # checks everything before writing anything
        dynsec = render_dynsec(devices, args.ingest_identity, _bridge_clients(args.bridge_client))
        args.dynsec_out.write_text(dynsec, encoding="utf-8")
        args.out.write_text(config, encoding="utf-8")
    except EdgehrError as exc:
        print(f"edgehr broker: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} and {args.dynsec_out}; check with: mosquitto -c {args.out} -v", file=sys.stderr)
    return 0
