"""The assembled terminal: parts built from one config, kiosk thread + panel, gallery kept in step with
the store, clean stop. (Vision is scripted here; the real pipeline runs in test_kiosk_real.py.)"""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

from core.clock import FakeClock
from core.datakey import load_or_create
from device.attendance.vision_parts import VisionParts
from device.config.device import DeviceConfig
from device.hardware.camera_fake import FakeCamera
from device.hardware.gpio import open_gpio
from device.runner import Terminal, state_paths
from device.store import employees as repo
from device.store import open_store
from tests.attendance.scripted import NOBODY, CountingGallery, ScriptedPipeline, person


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: object, what: str, timeout: float = 10.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_terminal_punches_serves_the_kiosk_and_follows_template_changes(tmp_path: Path) -> None:
    config = DeviceConfig.model_validate({
        "device": {"id": "gate-1", "name": "Gate 1", "state_dir": str(tmp_path / "state"), "language": "en"},
        "camera": {"source": "fake"},
        "gpio": {"pin_factory": "mock", "relay": 19, "relay_pulse_seconds": 0.1},
        "panel": {"port": free_port()},
    })
    db_path, key_path = state_paths(config)
    store = open_store(db_path, check_same_thread=False)
    key = load_or_create(key_path)
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    for no in ("E1", "E2"):
        repo.upsert_employee(store, no, f"Person {no}", clock.now(), "admin")
        repo.record_consent(store, no, purpose="face-attendance", text_version="v1", recorded_by="admin",
                            at=clock.now())
        vec = np.zeros(128, np.float32)
        vec[0 if no == "E1" else 1] = 1
        repo.replace_templates(store, key, no, [vec], model="m1", source="photos", at=clock.now(), actor="admin")
    gallery = CountingGallery([])
    vision = VisionParts(
        pipeline=ScriptedPipeline([NOBODY] + [person("E1")] * 3 + [NOBODY]),  # type: ignore[arg-type]
        gallery=gallery,
        models={"embedder": "m1"},
        template_model="m1",
        same_person_threshold=0.5,
    )
    gpio = open_gpio(config.gpio)
    terminal = Terminal(config, store=store, key=key, camera=FakeCamera(paced=False, frames=5), gpio=gpio,
                        vision=vision, clock=clock)
    assert terminal.people == 2 and gallery.enrolled == {"E1", "E2"}
    try:
        terminal.start()
        url = f"http://127.0.0.1:{config.panel.port}"
        wait_for(lambda: terminal.kiosk.counters().frames == 5, "the five frames")
        assert store.conn.execute("SELECT employee_no, direction FROM punches").fetchall() == [("E1", "in")]
        metrics = httpx.get(f"{url}/kiosk/metrics").json()
        assert metrics["punches"] == 1 and metrics["frames"] == 5
        assert httpx.get(f"{url}/kiosk/state").json()["status"] == "running"
        assert httpx.get(f"{url}/api/health").json()["camera"] == "no frames"
        relay = gpio.factory.pin(19)
        assert any(s.state for s in relay.states)  # the door relay was pulsed for the accepted punch
        # The server erases E2 (the courier writes the store): the live gallery forgets E2 on the next check.
        repo.delete_templates(store, "E2", at=clock.now(), actor="server", reason="erasure")
        assert terminal.check_gallery() and gallery.enrolled == {"E1"}
        assert not terminal.check_gallery()  # nothing changed since
    finally:
        terminal.stop()
    assert not terminal._thread or not terminal._thread.is_alive()


def test_enrolment_from_the_kiosk_camera_borrows_frames_from_the_running_loop(tmp_path: Path) -> None:
    config = DeviceConfig.model_validate({
        "device": {"id": "gate-1", "state_dir": str(tmp_path / "state")},
        "camera": {"source": "fake"},
        "enrolment": {"min_good_images": 3, "max_templates": 4},
    })
    db_path, key_path = state_paths(config)
    store = open_store(db_path, check_same_thread=False)
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    frames = [person("E3", live=0.9 + (i % 10) / 100) for i in range(400)]
    gallery = CountingGallery([])
    vision = VisionParts(pipeline=ScriptedPipeline(frames), gallery=gallery,  # type: ignore[arg-type]
                         models={}, template_model="m1", same_person_threshold=0.5)
    terminal = Terminal(config, store=store, key=load_or_create(key_path), camera=FakeCamera(fps=30, frames=400),
                        gpio=open_gpio(config.gpio), vision=vision, clock=clock)
    try:
        repo.upsert_employee(store, "E3", "Wang Wu", clock.now(), "admin")
        repo.record_consent(store, "E3", purpose="face-attendance", text_version="v1", recorded_by="admin",
                            at=clock.now())
        terminal.start(panel=False)
        report = terminal.enrol_from_camera("E3", actor="admin", frames=6, timeout_seconds=10)
        assert report.enrolled and report.templates == 4 and "E3" in gallery.enrolled
        assert store.conn.execute("SELECT source FROM face_templates").fetchall() == [("camera",)] * 4
        terminal.stop()
        read = terminal.camera._index  # type: ignore[attr-defined]
        assert terminal.kiosk.counters().frames == read - 6  # a borrowed frame is never also judged
    finally:
        terminal.stop()


def test_a_1n_terminal_with_the_lookalike_fallback_serves_the_keypad_and_takes_a_number(tmp_path: Path) -> None:
    config = DeviceConfig.model_validate({
        "device": {"id": "gate-2", "name": "Gate 2", "state_dir": str(tmp_path / "state"), "language": "en"},
        "camera": {"source": "fake"},
        "gpio": {"pin_factory": "mock"},
        "panel": {"port": free_port()},
        "claim": {"keypad_prefix": "E", "lookalike_fallback": True},
    })
    db_path, key_path = state_paths(config)
    store = open_store(db_path, check_same_thread=False)
    key = load_or_create(key_path)
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    repo.upsert_employee(store, "E1", "Person E1", clock.now(), "admin")
    repo.record_consent(store, "E1", purpose="face-attendance", text_version="v1", recorded_by="admin", at=clock.now())
    vec = np.zeros(128, np.float32)
    vec[0] = 1
    repo.replace_templates(store, key, "E1", [vec], model="m1", source="photos", at=clock.now(), actor="admin")
    vision = VisionParts(pipeline=ScriptedPipeline([]), gallery=CountingGallery([]),  # type: ignore[arg-type]
                         models={"embedder": "m1"}, template_model="m1", same_person_threshold=0.5)
    terminal = Terminal(config, store=store, key=key, camera=FakeCamera(paced=False, frames=0),
                        gpio=open_gpio(config.gpio), vision=vision, clock=clock)
    assert terminal.claims is None and terminal.fallback is not None  # still 1:N: nobody is asked first
    try:
        terminal.start()
        url = f"http://127.0.0.1:{config.panel.port}"
        wait_for(lambda: _up(url), "the panel")
        page = httpx.get(f"{url}/kiosk").text
        assert 'id="keypad"' in page
        answer = httpx.post(f"{url}/kiosk/claim", json={"employee_no": "1", "pin": None})
        assert answer.status_code == 200 and answer.json()["ok"], answer.text
        assert terminal.fallback.view()["pending"]["employee_no"] == "E1"  # type: ignore[index]
    finally:
        terminal.stop()
        store.close()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/kiosk/state").status_code == 200
    except httpx.HTTPError:
        return False
