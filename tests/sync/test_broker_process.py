"""The Mosquitto process wrapper and the production config rendering (python -m fleet.broker render)."""

from __future__ import annotations

import json
import os
import pwd
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import EdgehrError
from core.supervisor import Supervisor
from fleet.broker import MOSQUITTO, Mosquitto, accepts_connections, free_port
from fleet.dynsec import read_devices_file, render_dynsec
from fleet.pki import INGEST_IDENTITY
from tests.mqtt_helpers import MqttTestClient, SiteCa

pytest_plugins = ("tests.broker_fixtures",)


def test_rendered_config_has_the_security_settings(broker: Mosquitto) -> None:
    conf = broker.config_path.read_text()
    for line in (
        f"listener {broker.port} 127.0.0.1",
        "require_certificate true",
        "use_identity_as_username true",
        "allow_anonymous false",
        f"acl_file {broker.acl_path}",
        "persistence true",
        "max_queued_messages 100000",
    ):
        assert line in conf.splitlines(), line
    acl = broker.acl_path.read_text() if broker.acl_path else ""
    assert f"user {INGEST_IDENTITY}" in acl and "pattern write edgehr/v1/%u/up/#" in acl
    assert "$share/<group>" in acl  # the template's escaped "$$" became a literal "$"


def test_rendered_config_with_devices_uses_the_dynamic_security_plugin(ca: SiteCa, tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "b", tls=ca.broker_tls, devices=["dev-a"])
    broker.write_config()
    lines = broker.config_path.read_text().splitlines()
    assert f"plugin_opt_config_file {broker.dynsec_path}" in lines
    assert any(line.startswith("plugin /") and line.endswith("mosquitto_dynamic_security.so") for line in lines)
    assert not any(line.startswith("acl_file") for line in lines) and broker.acl_path is None
    rules = json.loads(broker.dynsec_path.read_text()) if broker.dynsec_path else {}
    assert {c["username"] for c in rules["clients"]} == {INGEST_IDENTITY, "dev-a"}
    assert rules["defaultACLAccess"]["subscribe"] is False


def test_dynsec_rules_refuse_bad_device_lists(tmp_path: Path) -> None:
    with pytest.raises(EdgehrError, match="ingest identity"):
        render_dynsec([INGEST_IDENTITY])
    with pytest.raises(EdgehrError):
        render_dynsec(["Not/An+Id"])
    listed = tmp_path / "devices"
    listed.write_text("# site 1\ngate-1\n\ngate-2  # the back door\n")
    assert read_devices_file(listed) == ["gate-1", "gate-2"]
    listed.write_text("gate-1\n$share/x\n")
    with pytest.raises(EdgehrError, match="not a device id"):
        read_devices_file(listed)
    with pytest.raises(EdgehrError, match="without TLS"):
        Mosquitto(tmp_path / "b", tls=None, devices=["gate-1"])


def test_production_render_runs_under_mosquitto(ca: SiteCa, tmp_path: Path) -> None:
    port = free_port()
    conf, rules, data = tmp_path / "mosquitto.conf", tmp_path / "edgehr-dynsec.json", tmp_path / "data"
    devices = tmp_path / "edgehr-devices"
    devices.write_text("dev-a\n")
    data.mkdir()
    done = subprocess.run(
        [
            sys.executable, "-m", "fleet.broker", "render",
            "--out", str(conf), "--dynsec-out", str(rules), "--devices-file", str(devices),
            "--port", str(port), "--bind", "127.0.0.1",
            "--ca-file", str(ca.ca_file), "--cert-file", str(ca.server.cert), "--key-file", str(ca.server.key),
            "--persistence-dir", str(data), "--log-dest", "stdout",
            "--user", pwd.getpwuid(os.geteuid()).pw_name,
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with Supervisor(tmp_path / "logs") as supervisor:
        supervisor.start("mosquitto", [MOSQUITTO, "-c", str(conf)])
        supervisor.wait_until(lambda: accepts_connections("127.0.0.1", port), 10, "the rendered broker")

        class Endpoint:  # what MqttTestClient needs of a broker
            host = "127.0.0.1"

        Endpoint.port = port  # type: ignore[attr-defined]
        with MqttTestClient(Endpoint, "dev-a", tls=ca.tls_context("dev-a")) as a:  # type: ignore[arg-type]
            a.connect()
            assert a.publish("edgehr/v1/dev-b/up/punches", b"x").value == 0x87
            assert not a.publish("edgehr/v1/dev-a/up/punches", b"x").is_failure
            assert a.subscribe("$share/ingest/edgehr/v1/+/up/#")[0].value == 0x87


def test_killed_broker_starts_again_on_the_same_port(broker: Mosquitto, ca: SiteCa) -> None:
    port, pid = broker.port, broker.pid
    broker.kill()
    assert not broker.running()
    assert not accepts_connections(broker.host, port)
    broker.start()
    assert broker.running() and broker.pid != pid and broker.port == port
    with MqttTestClient(broker, "dev-a", tls=ca.tls_context("dev-a")) as a:
        a.connect()


def test_start_on_a_taken_port_fails_naming_the_log(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        # The squatter answers a port probe; start() must still notice that mosquitto itself died.
        broker = Mosquitto(tmp_path / "b", tls=None, acl=False, port=squatter.getsockname()[1])
        try:
            with pytest.raises(EdgehrError, match="stopped: mosquitto") as failure:
                broker.start()
            assert str(broker.log_path) in str(failure.value)
            assert "Address already in use" in broker.log_text()
        finally:
            broker.stop()


def test_paused_broker_resumes_and_stops(plain_broker: Mosquitto) -> None:
    plain_broker.pause()
    plain_broker.resume()
    with MqttTestClient(plain_broker, "c") as client:
        client.connect()
