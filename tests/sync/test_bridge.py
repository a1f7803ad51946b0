"""A site broker bridged (mutual TLS, MQTT 5) to a central broker: records from a device at the site reach an
ingest worker on the central broker and its acks come back; the central broker keeps the bridge to its own
devices' topics. On loopback; the multi-host drill (tests/ops/test_multi_host.py) runs it across namespaces."""

from __future__ import annotations

import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from device.store import open_store, outbox
from device.store.punches import record_punch
from drills.chaos_site import build_site, running_courier, running_worker, server_seqs, wait_for
from drills.punchgen import make_punch
from fleet.bridge import Bridge, render_bridge
from fleet.broker import Mosquitto
from fleet.dynsec import dynsec_config
from fleet.pki import CertFiles
from sync.keyfiles import write_atomic

DEVICE, OTHER = "site1-gate-a", "site2-gate-a"


def test_the_bridge_config_carries_only_the_sites_devices_topics() -> None:
    bridge = Bridge("bridge-site1", "hr.example", 8883, Path("/etc/ca.crt"),
                    CertFiles(Path("/etc/b.crt"), Path("/etc/b.key")), (DEVICE,))
    text = render_bridge(bridge)
    assert "connection bridge-site1\naddress hr.example:8883\n" in text and "remote_clientid bridge-site1\n" in text
    assert "bridge_protocol_version mqttv50\n" in text
    assert "cleansession false\n" in text and "bridge_insecure false\n" in text
    assert f"topic edgehr/v1/{DEVICE}/up/# out 1\ntopic edgehr/v1/{DEVICE}/status out 1\n" in text
    assert f"topic edgehr/v1/{DEVICE}/down/# in 1\n" in text and OTHER not in text
    rules = dynsec_config([], bridges={"bridge-site1": [DEVICE]})
    role = next(r for r in rules["roles"] if r["rolename"] == "bridge-bridge-site1")
    assert {a["topic"] for a in role["acls"]} == {f"edgehr/v1/{DEVICE}/up/#", f"edgehr/v1/{DEVICE}/status",
                                                  f"edgehr/v1/{DEVICE}/down/#"}


def test_records_cross_the_bridge_and_acks_come_back(tmp_path: Path) -> None:
    site = build_site(tmp_path / "site", (DEVICE,))
    central = Mosquitto(tmp_path / "central", tls=site.broker_tls, devices=[], bridges={"bridge-site1": [DEVICE]})
    # The ingest workers subscribe at the central broker; the device talks to its site's broker.
    text = site.server_config_path.read_text().replace(f"port = {site.broker_port}\n", f"port = {central.port}\n")
    write_atomic(site.server_config_path, text.encode())
    bridge = Bridge("bridge-site1", "127.0.0.1", central.port, site.ca.cert_path, site.client_certs("bridge-site1"),
                    (DEVICE,), restart_timeout=(1, 2))
    local = Mosquitto(tmp_path / "site-broker", tls=site.broker_tls, port=site.broker_port, devices=[DEVICE],
                      bridge=bridge)
    store = open_store(site.devices[DEVICE].database, check_same_thread=False)
    with central, local, running_worker(site), running_courier(site, DEVICE, ack_timeout_seconds=2.0):
        for n in range(30):
            record_punch(store, make_punch(n, int(time.time() * 1000)), DEVICE)
        wait_for(lambda: len(server_seqs(site, DEVICE)) == 30, "30 records through the bridge", timeout=60)
        wait_for(lambda: outbox.backlog(store) == 0, "the acks back through the bridge", timeout=60)
        # The bridge's certificate opens only its devices' topics at the central broker.
        assert _publish_as_bridge(site.client_certs("bridge-site1"), site.ca.cert_path, central.port,
                                  f"edgehr/v1/{OTHER}/up/records") == 0x87
        assert "as bridge-site1 (p5, c0" in central.log_text()  # MQTT 5, clean start off
    store.close()
    assert server_seqs(site, DEVICE) == list(range(1, 31))


def _publish_as_bridge(certs: CertFiles, ca: Path, port: int, topic: str) -> int:
    """PUBACK reason code of an MQTT 5 QoS 1 publish made with the bridge's certificate."""
    codes: list[int] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bridge-probe", protocol=mqtt.MQTTv5)
    client.tls_set(ca_certs=str(ca), certfile=str(certs.cert), keyfile=str(certs.key))
    client.on_publish = lambda _c, _u, _mid, reason, _p: codes.append(reason.value)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.publish(topic, b"x", qos=1)
        deadline = time.monotonic() + 10
        while not codes and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
    if not codes:
        pytest.fail("no PUBACK from the central broker")
    return codes[0]


def test_render_writes_a_site_broker_with_its_bridge_and_a_central_broker_with_bridge_clients(tmp_path: Path) -> None:
    from fleet.broker_cli import render_main

    (tmp_path / "site1").write_text(f"{DEVICE}\n")
    (tmp_path / "none").write_text("# no device connects to the central broker directly\n")
    common = ["--ca-file", "/etc/mosquitto/certs/ca.crt", "--cert-file", "/etc/mosquitto/certs/broker.crt",
              "--key-file", "/etc/mosquitto/certs/broker.key", "--plugin", "/usr/lib/dynsec.so"]
    assert render_main(["--out", str(tmp_path / "site.conf"), "--dynsec-out", str(tmp_path / "site.json"),
                        "--devices-file", str(tmp_path / "site1"), *common, "--bridge-name", "bridge-site1",
                        "--bridge-address", "hr.example:8883", "--bridge-cert-file", "/etc/b.crt",
                        "--bridge-key-file", "/etc/b.key"]) == 0
    site = (tmp_path / "site.conf").read_text()
    assert "connection bridge-site1\n" in site and f"topic edgehr/v1/{DEVICE}/down/# in 1" in site
    assert site.index("listener 8883") < site.index("connection bridge-site1")  # the bridge block comes last
    assert render_main(["--out", str(tmp_path / "central.conf"), "--dynsec-out", str(tmp_path / "central.json"),
                        "--devices-file", str(tmp_path / "none"), *common,
                        "--bridge-client", f"bridge-site1={tmp_path / 'site1'}"]) == 0
    central = (tmp_path / "central.json").read_text()
    assert '"username": "bridge-site1"' in central and "\nconnection " not in (tmp_path / "central.conf").read_text()
    # Half a bridge is refused, and nothing is written.
    assert render_main(["--out", str(tmp_path / "x.conf"), "--dynsec-out", str(tmp_path / "x.json"),
                        "--devices-file", str(tmp_path / "site1"), *common, "--bridge-name", "bridge-site1"]) == 1
    assert not (tmp_path / "x.conf").exists()
