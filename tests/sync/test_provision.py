"""Device provisioning (fleet.provision, `edgehr device provision`): keys, request, idempotence, rotation."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from cli.main import EXIT_ERROR, EXIT_OK, main
from core.errors import EdgehrError
from fleet import pki, provision
from fleet.broker import Mosquitto, client_tls_context
from tests.mqtt_helpers import MqttTestClient, SiteCa

pytest_plugins = ("tests.broker_fixtures",)

PRIVATE = (provision.IDENTITY_KEY, provision.BOX_KEY, provision.TLS_KEY)


def raw(public: object) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)  # type: ignore[attr-defined, no-any-return]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_provision_makes_private_keys_and_a_request_for_the_device_id(tmp_path: Path) -> None:
    result = provision.provision("gate-1", tmp_path)
    folder = tmp_path / "keys"
    assert folder.stat().st_mode & 0o777 == 0o700
    for name in PRIVATE:
        assert (folder / name).stat().st_mode & 0o777 == 0o600, name
    _, common_name = pki.read_csr((folder / provision.TLS_CSR).read_bytes())
    assert common_name == "gate-1"

    keys = provision.load_keys(tmp_path)
    enrolment = json.loads(result.enrolment.read_text())
    assert enrolment["device_id"] == "gate-1"
    assert base64.b64decode(enrolment["sign_public"]) == raw(keys.identity.public_key())
    assert base64.b64decode(enrolment["box_public"]) == raw(keys.box.public_key())
    assert enrolment["csr"] == (folder / provision.TLS_CSR).read_text()
    assert "PRIVATE" not in result.enrolment.read_text()
    # The request is for the TLS key on disk, so the certificate made from it works with that key.
    csr, _ = pki.read_csr(enrolment["csr"].encode())
    assert csr.public_key() == keys.tls.public_key()


def test_provision_again_changes_nothing(tmp_path: Path) -> None:
    provision.provision("gate-1", tmp_path)
    before = snapshot(tmp_path / "keys")
    again = provision.provision("gate-1", tmp_path)
    assert not again.created and not again.retired
    assert snapshot(tmp_path / "keys") == before


def test_provision_remakes_only_what_is_missing(tmp_path: Path) -> None:
    provision.provision("gate-1", tmp_path)
    before = snapshot(tmp_path / "keys")
    (tmp_path / "keys" / provision.TLS_CSR).unlink()
    result = provision.provision("gate-1", tmp_path)
    # A new request (ECDSA signatures differ each time) and so a new enrolment file; the keys stay.
    assert [p.name for p in result.created] == [provision.TLS_CSR, provision.ENROLMENT]
    after = snapshot(tmp_path / "keys")
    assert all(after[name] == before[name] for name in PRIVATE)


def test_rotate_makes_new_keys_and_keeps_the_old_as_previous(tmp_path: Path) -> None:
    provision.provision("gate-1", tmp_path)
    old = provision.load_keys(tmp_path)
    result = provision.provision("gate-1", tmp_path, rotate=True)
    new = provision.load_keys(tmp_path)
    assert raw(new.identity.public_key()) != raw(old.identity.public_key())
    assert raw(new.box.public_key()) != raw(old.box.public_key())
    folder = tmp_path / "keys"
    for name in PRIVATE:
        previous = folder / (name + provision.PREVIOUS_SUFFIX)
        assert previous in result.retired
        assert previous.stat().st_mode & 0o777 == 0o600
    kept = serialization.load_pem_private_key((folder / "identity.key.previous").read_bytes(), None)
    assert raw(kept.public_key()) == raw(old.identity.public_key())


def test_keys_for_another_device_id_are_not_reused(tmp_path: Path) -> None:
    provision.provision("gate-1", tmp_path)
    with pytest.raises(EdgehrError, match="made for device 'gate-1'"):
        provision.provision("gate-2", tmp_path)
    provision.provision("gate-2", tmp_path, rotate=True)
    _, common_name = pki.read_csr((tmp_path / "keys" / provision.TLS_CSR).read_bytes())
    assert common_name == "gate-2"


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    provision.provision("gate-1", tmp_path)
    (tmp_path / "keys" / provision.BOX_KEY).chmod(0o644)
    with pytest.raises(EdgehrError, match="readable by other users"):
        provision.load_keys(tmp_path)


def test_the_ingest_identity_is_no_device_id(tmp_path: Path) -> None:
    with pytest.raises(EdgehrError, match="ingest identity"):
        provision.provision(pki.INGEST_IDENTITY, tmp_path)
    assert not (tmp_path / "keys").exists()


def write_config(tmp_path: Path, device_id: str = "gate-1") -> Path:
    tmp_path.mkdir(exist_ok=True)
    config = tmp_path / "device.toml"
    config.write_text(f'[device]\nid = "{device_id}"\nstate_dir = "{tmp_path / "state"}"\n')
    return config


def test_cli_provision_prints_where_keys_are_and_what_to_send(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["device", "provision", "--config", str(config)]) == EXIT_OK
    out = capsys.readouterr().out
    keys = tmp_path / "state" / "keys"
    assert f"keys in {keys}" in out and str(keys / provision.ENROLMENT) in out
    assert main(["device", "provision", "--config", str(config)]) == EXIT_OK
    assert "Nothing changed" in capsys.readouterr().out
    assert main(["device", "provision", "--config", str(config), "--rotate"]) == EXIT_OK
    assert "identity.key.previous" in capsys.readouterr().out
    bad = write_config(tmp_path / "other", device_id="Not An Id")
    assert main(["device", "provision", "--config", str(bad)]) == EXIT_ERROR


def test_provisioned_device_connects_with_its_signed_certificate(broker: Mosquitto, ca: SiteCa, tmp_path: Path) -> None:
    """The whole path: provision on the device, sign at the CA, connect to the broker and publish."""
    result = provision.provision("gate-1", tmp_path / "device")
    enrolment = json.loads(result.enrolment.read_text())
    pki.sign_csr(ca.authority, enrolment["csr"].encode(), result.cert, expected_cn=enrolment["device_id"])
    context = client_tls_context(ca.ca_file, result.cert, result.keys_dir / provision.TLS_KEY)
    with (
        MqttTestClient(broker, "ingest", tls=ca.tls_context(pki.INGEST_IDENTITY)) as server,
        MqttTestClient(broker, "gate-1", tls=context) as device,
    ):
        server.connect()
        server.subscribe("edgehr/v1/+/up/#")
        device.connect()
        assert not device.publish("edgehr/v1/gate-1/up/punches", b"sealed").is_failure
        assert device.publish("edgehr/v1/gate-2/up/punches", b"forged").value == 0x87
        got = server.receive()
        assert got is not None and got.topic == "edgehr/v1/gate-1/up/punches"
