"""``edgehr-ca`` (ops/ca/edgehr-ca): the site CA's commands, for the operator of the HR server.

edgehr-ca init CA_DIR                                  make the CA (once per site)
edgehr-ca server CA_DIR --out DIR --hostname hr.example.internal    the broker's certificate
edgehr-ca client CA_DIR edgehr-ingest --out DIR        the ingest workers' certificate
edgehr-ca sign CA_DIR --enrolment enrolment.json --device-id ID --out ID.crt    a device's certificate
edgehr-ca revoke CA_DIR --device-id ID [--reason R]    revoke a device's certificates, rewrite crl.pem
edgehr-ca revoke CA_DIR --cert FILE                    revoke one certificate (also one issued before the index)
edgehr-ca crl CA_DIR                                   rewrite crl.pem (renews its validity)
edgehr-ca list CA_DIR                                  every certificate issued, and which are revoked
edgehr-ca devices CA_DIR [--out FILE]                  device ids with a live certificate: the broker's device list
edgehr-ca show CERT                                    who a certificate is for, who issued it, until when
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from core.errors import EdgehrError
from fleet import pki, revocation


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgehr-ca", description="The edgehr site certificate authority.")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = sub.add_parser("init", help="make a new CA in CA_DIR (refuses to replace one)")
    init.add_argument("ca_dir", type=Path, metavar="CA_DIR")
    init.add_argument("--name", default="edgehr site CA", help="the CA's common name")
    server = sub.add_parser("server", help="issue the broker's server certificate")
    server.add_argument("ca_dir", type=Path, metavar="CA_DIR")
    server.add_argument("--out", type=Path, required=True, help="folder for broker.crt and broker.key")
    server.add_argument("--hostname", action="append", default=[], help="DNS name clients connect to (repeat)")
    server.add_argument("--ip", action="append", default=[], help="IP address clients connect to (repeat)")
    client = sub.add_parser("client", help="issue a client key and certificate made here (the ingest identity)")
    client.add_argument("ca_dir", type=Path, metavar="CA_DIR")
    client.add_argument("common_name", metavar="NAME", help=f"identity, e.g. {pki.INGEST_IDENTITY}")
    client.add_argument("--out", type=Path, required=True, help="folder for NAME.crt and NAME.key")
    sign = sub.add_parser("sign", help="issue a device's certificate from its request")
    sign.add_argument("ca_dir", type=Path, metavar="CA_DIR")
    source = sign.add_mutually_exclusive_group(required=True)
    source.add_argument("--enrolment", type=Path, help="enrolment.json made by `edgehr device provision`")
    source.add_argument("--csr", type=Path, help="a PEM certificate request (tls.csr)")
    sign.add_argument("--device-id", required=True, help="the device id you registered; the request must match")
    sign.add_argument("--out", type=Path, required=True, help="certificate file to write")
    revoke = sub.add_parser("revoke", help="revoke a device's certificates and rewrite the CRL (crl.pem)")
    revoke.add_argument("ca_dir", type=Path, metavar="CA_DIR")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--device-id", help="revoke every certificate the CA issued to this device id")
    which.add_argument("--cert", type=Path, help="revoke the certificate in this file")
    revoke.add_argument("--reason", choices=revocation.REASONS, default="retired")
    crl = sub.add_parser("crl", help="rewrite the CRL from the CA's index (renews its validity)")
    crl.add_argument("ca_dir", type=Path, metavar="CA_DIR")
    listing = sub.add_parser("list", help="list issued certificates and their revocations")
    listing.add_argument("ca_dir", type=Path, metavar="CA_DIR")
    devices = sub.add_parser(
        "devices", help="device ids holding a certificate neither revoked nor expired (the broker's device list)"
    )
    devices.add_argument("ca_dir", type=Path, metavar="CA_DIR")
    devices.add_argument("--out", type=Path, help="write the list to this file (replaced whole) instead of printing")
    show = sub.add_parser("show", help="print a certificate's subject, issuer and validity")
    show.add_argument("cert", type=Path, metavar="CERT")
    return parser


def _request(args: argparse.Namespace) -> tuple[bytes, str]:
    if args.csr is not None:
        return args.csr.read_bytes(), str(args.csr)
    try:
        enrolment = json.loads(args.enrolment.read_text(encoding="utf-8"))
        return str(enrolment["csr"]).encode(), f"{args.enrolment} (csr)"
    except (ValueError, KeyError, TypeError) as exc:
        raise EdgehrError(
            f"{args.enrolment} is not an enrolment file: {exc!r}.",
            "Send the enrolment.json that `edgehr device provision` wrote.",
            code="pki",
        ) from None


def run(args: argparse.Namespace) -> str:
    if args.action == "init":
        ca = pki.create_ca(args.ca_dir, args.name)
        return (
            f"CA made: {ca.cert_path} (give to the broker and every device); keep {args.ca_dir / pki.CA_KEY} offline."
        )
    if args.action == "show":
        cert = x509.load_pem_x509_certificate(args.cert.read_bytes())
        return (
            f"subject: {cert.subject.rfc4514_string()}\nissuer:  {cert.issuer.rfc4514_string()}\n"
            f"valid:   {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}"
        )
    ca = pki.load_ca(args.ca_dir)
    if args.action == "server":
        files = pki.issue_server_cert(ca, args.out, args.hostname, args.ip)
        return f"broker certificate: {files.cert}\nbroker key:         {files.key}"
    if args.action == "client":
        files = pki.issue_client_cert(ca, args.common_name, args.out)
        return f"client certificate: {files.cert}\nclient key:         {files.key}"
    if args.action in ("revoke", "crl"):
        return _revoke(ca, args)
    if args.action == "list":
        rows = revocation.read_index(ca.folder)
        return "\n".join(
            f"{r.serial:>40}  {r.common_name:<24} until {r.not_after[:10]}"
            + (f"  REVOKED {r.revoked_at[:19]} ({r.reason})" if r.revoked_at else "")
            for r in rows
        ) or f"{ca.folder / revocation.INDEX_FILE}: no certificates recorded"
    if args.action == "devices":
        return _devices(ca, args.out)
    data, source = _request(args)
    name = pki.sign_csr(ca, data, args.out, expected_cn=args.device_id, source=source)
    return f"certificate for {name}: {args.out}; install it on the device with {ca.cert_path}."


def _devices(ca: pki.CertificateAuthority, out: Path | None) -> str:
    ids = revocation.admitted_devices(ca.folder)
    text = "".join(f"{device_id}\n" for device_id in ids)
    if out is None:
        return text.rstrip("\n") or "# no device certificates"
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(f"# written by edgehr-ca devices {ca.folder}\n{text}", encoding="utf-8")
    os.replace(tmp, out)  # the broker's render never reads half a list
    return f"{len(ids)} device(s) in {out}; render the broker's rules again and restart mosquitto."


def reload_hint(crl_path: Path) -> str:
    """What the operator does next: the broker reads its CRL copy again on SIGHUP."""
    return (
        f"Copy {crl_path} to the broker's crlfile (e.g. /etc/mosquitto/certs/crl.pem) and reload it: "
        "`systemctl reload mosquitto` (or `kill -HUP <mosquitto pid>`); connected clients keep their "
        "session until they reconnect, so restart the broker (`systemctl restart mosquitto`) to drop them now."
    )


def _revoke(ca: pki.CertificateAuthority, args: argparse.Namespace) -> str:
    if args.action == "crl":
        path = revocation.write_crl(ca)
        return f"CRL written: {path}\n{reload_hint(path)}"
    done = revocation.revoke(ca, common_name=args.device_id, cert_path=args.cert, reason=args.reason)
    path = ca.folder / revocation.CRL_FILE
    lines = [f"revoked {r.common_name} serial {r.serial}" for r in done] or ["already revoked; CRL rewritten"]
    return "\n".join([*lines, f"CRL written: {path}", reload_hint(path)])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        print(run(args))
    except EdgehrError as exc:
        print(f"edgehr-ca: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"edgehr-ca: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
