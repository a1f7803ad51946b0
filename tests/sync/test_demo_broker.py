"""The demo's broker (drills/demo/site.py ``demo_broker``), made again on every run from the files the first
run's build_site left: it must check the CA's CRL and let in the demo terminal, as the site broker does."""

from __future__ import annotations

from pathlib import Path

from drills.chaos_site import build_site
from drills.demo.site import DEMO_DEVICE_ID, demo_broker
from fleet.broker import client_tls_context
from fleet.pki import load_ca
from fleet.revocation import CRL_FILE
from tests.mqtt_helpers import MqttTestClient


def test_a_later_demo_runs_broker_checks_the_crl_and_lets_the_terminal_in(tmp_path: Path) -> None:
    site = build_site(tmp_path / "site", (DEMO_DEVICE_ID,))
    crl = load_ca(site.ca.folder).folder / CRL_FILE
    crl.unlink(missing_ok=True)  # a site made before the CA wrote a CRL: the broker's run must write one
    broker = demo_broker(site.folder, site.broker_port)
    with broker:
        lines = broker.config_path.read_text().splitlines()
        assert f"crlfile {crl}" in lines and crl.exists()
        assert broker.devices == (DEMO_DEVICE_ID,)
        certs = site.devices[DEMO_DEVICE_ID].certs
        tls = client_tls_context(site.ca.cert_path, certs.cert, certs.key)
        with MqttTestClient(broker, DEMO_DEVICE_ID, tls=tls) as terminal:
            terminal.connect()
            assert not terminal.publish(f"edgehr/v1/{DEMO_DEVICE_ID}/up/punches", b"sealed").is_failure
            assert terminal.subscribe("$share/ingest/edgehr/v1/+/up/#")[0].value == 0x87
