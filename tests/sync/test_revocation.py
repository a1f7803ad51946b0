"""Certificate revocation against the real mosquitto (ops/ config, mutual TLS, ``crlfile``): a revoked device
is refused at the TLS handshake once the broker reloads (SIGHUP); other devices and the server still connect."""

from __future__ import annotations

import socket
import ssl
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from drills.chaos_site import Site, build_site
from fleet import pki_cli, revocation
from fleet.broker import BrokerSettings, BrokerTls, Mosquitto, client_tls_context, render_config
from fleet.dynsec import read_devices_file, render_dynsec
from fleet.pki import INGEST_IDENTITY, CertFiles
from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.config import PkiSection
from sync.server.store import HRStore

GATE_A, GATE_B = "site1-gate-a", "site1-gate-b"


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """Two devices, so that one can be revoked and the other must still get in."""
    return build_site(tmp_path / "site", (GATE_A, GATE_B))


def mqtt_connect(site: Site, certs: CertFiles, client_id: str, *, tls12: bool = False) -> bytes:
    """Open a TLS connection with ``certs``, send an MQTT 3.1.1 CONNECT and return the broker's CONNACK.

    Raises ssl.SSLError (or OSError) when the broker refuses the handshake. With TLS 1.2 the broker checks
    the client certificate inside the handshake, so the refusal is always the alert naming the reason;
    with TLS 1.3 it comes after the client's side of the handshake, as that alert or a bare EOF."""
    context = client_tls_context(site.ca.cert_path, certs.cert, certs.key)
    if tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    name = client_id.encode()
    variable = b"\x00\x04MQTT\x04\x02\x00\x3c"  # protocol name, level 4, clean session, keepalive 60 s
    payload = len(name).to_bytes(2, "big") + name
    packet = bytes([0x10, len(variable) + len(payload)]) + variable + payload
    with (
        socket.create_connection(("127.0.0.1", site.broker_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(packet)
        reply = b""
        while len(reply) < 4:
            chunk = tls.recv(4 - len(reply))
            if not chunk:
                break
            reply += chunk
        return reply


CONNACK_ACCEPTED = b"\x20\x02\x00\x00"


def assert_refused_as_revoked(site: Site, certs: CertFiles, client_id: str) -> None:
    with pytest.raises(ssl.SSLError, match="certificate revoked"):
        mqtt_connect(site, certs, client_id, tls12=True)
    with pytest.raises(OSError):  # ssl.SSLError is an OSError; so is a reset connection
        mqtt_connect(site, certs, client_id + "-tls13")


def device_certs(site: Site, device_id: str) -> CertFiles:
    return site.devices[device_id].certs


def test_revoked_device_is_refused_at_the_handshake_and_others_still_connect(
    site: Site, site_broker: Mosquitto
) -> None:
    assert "crlfile " in site_broker.config_path.read_text()  # the site broker checks the CA's (empty) CRL
    assert mqtt_connect(site, device_certs(site, GATE_A), "a1") == CONNACK_ACCEPTED

    revoked = revocation.revoke(site.ca, common_name=GATE_A)
    assert [r.common_name for r in revoked] == [GATE_A]
    site_broker.reload()

    assert_refused_as_revoked(site, device_certs(site, GATE_A), "a2")
    assert mqtt_connect(site, device_certs(site, GATE_B), "b1") == CONNACK_ACCEPTED
    assert mqtt_connect(site, site.ingest_certs, "ingest-check") == CONNACK_ACCEPTED


def test_a_revocation_applies_only_after_the_broker_reloads(site: Site, site_broker: Mosquitto) -> None:
    revocation.revoke(site.ca, common_name=GATE_B)
    # mosquitto read the CRL at start: until SIGHUP the old (empty) list applies.
    assert mqtt_connect(site, device_certs(site, GATE_B), "b1") == CONNACK_ACCEPTED
    site_broker.reload()
    assert_refused_as_revoked(site, device_certs(site, GATE_B), "b2")


def test_ca_cli_revoke_records_the_index_and_writes_the_crl(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    ca_dir = str(site.ca.folder)
    before = revocation.revoked_serials(site.ca.folder / revocation.CRL_FILE)
    assert before == set()

    assert pki_cli.main(["revoke", ca_dir, "--device-id", GATE_A, "--reason", "key-compromise"]) == 0
    out = capsys.readouterr().out
    assert f"revoked {GATE_A} serial" in out and "systemctl reload mosquitto" in out
    rows = {r.common_name: r for r in revocation.read_index(site.ca.folder)}
    assert rows[GATE_A].revoked_at is not None and rows[GATE_A].reason == "key-compromise"
    assert rows[GATE_B].revoked_at is None
    assert revocation.revoked_serials(site.ca.folder / revocation.CRL_FILE) == {int(rows[GATE_A].serial, 16)}

    assert pki_cli.main(["revoke", ca_dir, "--device-id", GATE_A]) == 0  # again: nothing new, CRL rewritten
    assert "already revoked" in capsys.readouterr().out
    assert pki_cli.main(["revoke", ca_dir, "--device-id", "site1-gate-typo"]) == 1  # a typo is an error
    assert "records no certificate for 'site1-gate-typo'" in capsys.readouterr().err

    # A certificate issued before the CA kept an index is revoked from its file.
    (site.ca.folder / revocation.INDEX_FILE).unlink()
    assert pki_cli.main(["revoke", ca_dir, "--cert", str(device_certs(site, GATE_B).cert)]) == 0
    serials = revocation.revoked_serials(site.ca.folder / revocation.CRL_FILE)
    revoked_rows = [r.serial for r in revocation.read_index(site.ca.folder) if r.revoked_at]
    assert revoked_rows == [format(s, "X") for s in serials]
    assert pki_cli.main(["list", ca_dir]) == 0
    assert "REVOKED" in capsys.readouterr().out


def test_revoking_a_device_on_the_hr_server_revokes_its_certificate(
    site: Site, site_broker: Mosquitto, hr: HRStore, tmp_path: Path
) -> None:
    broker_crl = tmp_path / "broker-crl.pem"
    config = site.server_config()
    config = config.model_copy(update={"pki": PkiSection(ca_dir=site.ca.folder, crl_file=broker_crl)})
    token = create_token(hr, "admin", "test", actor="test")
    with TestClient(create_app(config, hr)) as api:
        reply = api.post(f"/api/devices/{GATE_A}/revoke", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == "revoked"
    assert body["certificate"]["revoked"] is True and len(body["certificate"]["serials"]) == 1
    assert revocation.revoked_serials(broker_crl) == {int(body["certificate"]["serials"][0], 16)}

    # The site broker reads the CA's crl.pem; the server wrote that one too.
    site_broker.reload()
    assert_refused_as_revoked(site, device_certs(site, GATE_A), "a1")
    assert mqtt_connect(site, device_certs(site, GATE_B), "b1") == CONNACK_ACCEPTED


def test_without_the_ca_the_server_answers_with_the_command_to_run(site: Site, hr: HRStore) -> None:
    token = create_token(hr, "admin", "test", actor="test")
    with TestClient(create_app(site.server_config(), hr)) as api:
        reply = api.post(f"/api/devices/{GATE_B}/revoke", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    certificate = reply.json()["certificate"]
    assert certificate["revoked"] is False
    assert certificate["command"] == f"ops/ca/edgehr-ca revoke CA_DIR --device-id {GATE_B}"
    assert revocation.revoked_serials(site.ca.folder / revocation.CRL_FILE) == set()


def test_rendered_tls_listener_has_the_crl_only_when_given(tmp_path: Path) -> None:
    tls = BrokerTls(tmp_path / "ca.crt", CertFiles(tmp_path / "broker.crt", tmp_path / "broker.key"))
    settings = BrokerSettings(port=8883, persistence_dir=tmp_path, acl_file=tmp_path / "acl", tls=tls)
    assert "\ncrlfile " not in render_config(settings)
    with_crl = replace(settings, tls=replace(tls, crl_file=tmp_path / "crl.pem"))
    assert f"\ncrlfile {tmp_path / 'crl.pem'}\n" in render_config(with_crl)


def test_the_brokers_device_list_comes_from_the_ca_and_drops_a_revoked_device(site: Site, tmp_path: Path) -> None:
    ca_dir = str(site.ca.folder)
    listed = tmp_path / "edgehr-devices"
    # Devices signed from their requests are listed; the ingest identity and the broker's own are not.
    assert pki_cli.main(["devices", ca_dir, "--out", str(listed)]) == 0
    assert read_devices_file(listed) == [GATE_A, GATE_B]

    assert pki_cli.main(["revoke", ca_dir, "--device-id", GATE_A]) == 0
    assert pki_cli.main(["devices", ca_dir, "--out", str(listed)]) == 0
    assert read_devices_file(listed) == [GATE_B]
    assert render_dynsec(read_devices_file(listed), INGEST_IDENTITY).count(GATE_A) == 0
