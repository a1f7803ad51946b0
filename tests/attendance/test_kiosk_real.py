"""The kiosk loop end to end with REAL components: a folder of recorded LFW photos replayed through the
camera interface, the real face pipeline and gallery, a real SQLite store, gpiozero's MockFactory pins.

People enrolled from some of their photos walk past (their OTHER photos), between people never enrolled.
"Never a punch under the wrong name": every punch must name the person in front of the camera, and no
one who was never enrolled may be punched at all.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from device.config.device import DeviceConfig
from tests.attendance.real_vision import lfw_people, recognition_settings, requires_vision

pytestmark = requires_vision

RELAY, LED_OK, LED_ERROR = 19, 5, 6


def site_config(tmp_path: Path, replay: Path, **extra: object) -> dict[str, object]:
    return {
        "device": {"id": "gate-1", "name": "Gate 1", "state_dir": str(tmp_path / "state"), "language": "en"},
        "camera": {"source": "folder", "path": str(replay), "loop": False, "fps": 15},
        "gpio": {"pin_factory": "mock", "relay": RELAY, "led_ok": LED_OK, "led_error": LED_ERROR,
                 "relay_pulse_seconds": 0.05},
        "enrolment": {"min_good_images": 2},
        "recognition": recognition_settings(),
        **extra,
    }


def make_replay(folder: Path, visits: list[tuple[str, Path]]) -> None:
    """One photo per visit, each followed by an empty scene (the person walks away)."""
    folder.mkdir()
    empty = folder / "empty.png"
    PILImage.fromarray(np.full((250, 250, 3), 128, np.uint8)).save(empty)
    for i, (who, photo) in enumerate(visits):
        shutil.copy(photo, folder / f"{2 * i + 1:04d}-{who}.jpg")
        shutil.copy(empty, folder / f"{2 * i + 2:04d}-empty.png")
    empty.unlink()


def enrol(terminal: object, people: list[tuple[str, list[Path]]]) -> list[str]:
    enrolled = []
    for number, (name, images) in enumerate(people, start=1):
        employee_no = f"E{number:03d}"
        terminal.enroller.record_consent(employee_no, name, text_version="v1", recorded_by="test")  # type: ignore[attr-defined]
        report = terminal.enroller.enrol_photos(  # type: ignore[attr-defined]
            employee_no, [(p.name, p.read_bytes()) for p in images[:3]], actor="test"
        )
        if report.enrolled:
            enrolled.append(employee_no)
    return enrolled


def test_replayed_people_are_punched_only_under_their_own_number(tmp_path: Path) -> None:
    from device.runner import open_terminal

    members = lfw_people(min_images=4, count=8)
    strangers = lfw_people(min_images=1, max_images=1, count=8)
    visits: list[tuple[str, Path]] = []
    for (name, images), (stranger, photos) in zip(members, strangers, strict=True):
        visits += [(name, images[3]), (stranger, photos[0])]  # the member's 4th photo: never enrolled from
    replay = tmp_path / "replay"
    make_replay(replay, visits)
    config = DeviceConfig.model_validate(site_config(tmp_path, replay))
    terminal = open_terminal(config, paced_replay=False)
    try:
        enrolled = enrol(terminal, members)
        assert len(enrolled) >= 6, "enrolment should succeed for most LFW people from 3 photos"
        number_of = {name: f"E{i:03d}" for i, (name, _) in enumerate(members, start=1)}
        counters = terminal.kiosk.run(stop_at_end=True)
        rows = terminal.store.conn.execute(
            "SELECT p.employee_no, p.direction, p.match_score, p.liveness_score, p.models, o.seq"
            " FROM punches p JOIN outbox o ON o.ref = p.uid AND o.type = 'punch' ORDER BY p.id"
        ).fetchall()
        punched = [r[0] for r in rows]
        # Nobody never enrolled was punched, and nobody was punched twice or under someone else's number.
        assert set(punched) <= set(enrolled)
        assert len(punched) == len(set(punched)) == counters.punches
        shown = [number_of[name] for name, _ in visits if name in number_of]
        assert punched == [no for no in shown if no in punched]  # in the order they walked past
        assert len(punched) >= len(enrolled) // 2, f"only {len(punched)} of {len(enrolled)} enrolled were punched"
        assert all(r[1] == "in" and r[2] > 0 and 0 < r[3] <= 1 and "embedder" in r[4] for r in rows)
        count = terminal.store.conn.execute("SELECT count(*) FROM punches").fetchone()[0]
        assert count == len(rows)  # every punch has its outbox row
        relay = terminal.gpio.factory.pin(RELAY)
        pulses = sum(1 for a, b in zip(relay.states, relay.states[1:], strict=False) if not a.state and b.state)
        assert pulses == len(punched)  # the door opened for each punch and for nothing else
        print(f"\nkiosk replay: {len(enrolled)} enrolled, {len(punched)} punched, counters {counters.as_dict()}")
    finally:
        terminal.stop()


def test_device_run_command_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    replay = tmp_path / "replay"
    members = lfw_people(min_images=4, count=1)
    make_replay(replay, [(members[0][0], members[0][1][0])])
    config = site_config(tmp_path, replay)
    config["camera"] = {"source": "folder", "path": str(replay), "loop": True, "fps": 5}
    config["panel"] = {"port": _free_port()}
    path = tmp_path / "device.toml"
    path.write_text(_toml(config))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "device", "run", "--config", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
    )
    try:
        assert process.stdout is not None
        seen = []
        for _ in range(200):  # bounded: log lines (and OpenCV's) come before the "running" line
            line = process.stdout.readline()
            seen.append(line)
            if not line or "kiosk screen:" in line:
                break
        assert "kiosk screen:" in seen[-1], "".join(seen)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0, out
        assert "stopped" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _toml(data: dict[str, object]) -> str:
    lines = []
    for section, values in data.items():
        assert isinstance(values, dict)
        lines.append(f"[{section}]")
        for key, value in values.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, int | float):
                lines.append(f"{key} = {value}")
            else:
                lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"
