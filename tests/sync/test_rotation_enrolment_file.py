"""After a device key switch, keys/enrolment.json (what the operator sends the HR server) shows the new
public keys: rewritten atomically in the same journal step as the PEM files, redone after a kill at any
point, and identical to what provisioning writes for those keys."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from fleet.provision import ENROLMENT, TLS_CSR, key_id, keys_dir, provision
from sync.keyfiles import _write_current, begin_rotation, commit_switch, load_device_keys, rotation_path
from sync.protocol import Identity


def enrolment(state: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads((keys_dir(state) / ENROLMENT).read_text(encoding="utf-8"))
    return data


def shows(state: Path, identity: Identity) -> bool:
    data = enrolment(state)
    return (
        base64.b64decode(data["sign_public"]) == identity.public.sign_raw
        and base64.b64decode(data["box_public"]) == identity.public.box_raw
        and data["sign_key_id"] == key_id(identity.public.sign_raw)
        and data["box_key_id"] == key_id(identity.public.box_raw)
    )


def test_switch_rewrites_enrolment_json_with_the_new_public_keys(tmp_path: Path) -> None:
    state = tmp_path / "device"
    provision("gate-9", state)
    before = enrolment(state)
    old = load_device_keys(state).current
    assert shows(state, old)

    pending = begin_rotation(state).pending
    assert pending is not None
    assert enrolment(state) == before  # pending is not current yet: the file still shows the keys in use
    commit_switch(state, pending.public.sign_id)  # killed after the commit point, before step 3
    assert shows(state, old)
    after = load_device_keys(state)  # the next start rolls forward: PEM files and enrolment.json
    assert after.current.public.sign_raw == pending.public.sign_raw and shows(state, pending)
    data = enrolment(state)
    assert data["device_id"] == before["device_id"] == "gate-9"
    assert data["csr"] == before["csr"] == (keys_dir(state) / TLS_CSR).read_text(encoding="ascii")
    assert (keys_dir(state) / ENROLMENT).stat().st_mode & 0o022 == 0  # nobody else may rewrite it
    assert not [p.name for p in keys_dir(state).iterdir() if p.name.endswith(".tmp")]
    # What provisioning would write for these keys: running it again changes nothing.
    assert keys_dir(state) / ENROLMENT not in provision("gate-9", state).created
    assert "switch_to" not in json.loads(rotation_path(state).read_text(encoding="utf-8"))


def test_a_kill_after_the_key_files_but_before_enrolment_json_is_finished_on_the_next_start(tmp_path: Path) -> None:
    state = tmp_path / "device"
    provision("gate-9", state)
    old = load_device_keys(state).current
    pending = begin_rotation(state).pending
    assert pending is not None
    commit_switch(state, pending.public.sign_id)
    _write_current(state, pending)  # step 3 got as far as the PEM files, then the power went
    assert shows(state, old) and "switch_to" in json.loads(rotation_path(state).read_text(encoding="utf-8"))
    assert load_device_keys(state).current.public.sign_raw == pending.public.sign_raw
    assert shows(state, pending)


def test_a_rotation_finished_before_the_fix_is_corrected_on_load(tmp_path: Path) -> None:
    state = tmp_path / "device"
    provision("gate-9", state)
    before = (keys_dir(state) / ENROLMENT).read_text(encoding="utf-8")
    pending = begin_rotation(state).pending
    assert pending is not None
    commit_switch(state, pending.public.sign_id)
    load_device_keys(state)
    (keys_dir(state) / ENROLMENT).write_text(before, encoding="utf-8")  # as an older version left it
    assert load_device_keys(state).current.public.sign_raw == pending.public.sign_raw
    assert shows(state, pending)
