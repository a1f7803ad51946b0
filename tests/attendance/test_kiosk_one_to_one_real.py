"""1:1 mode end to end with REAL components: recorded LFW photos replayed through the folder camera, the
real face pipeline and gallery, a real SQLite store, gpiozero's MockFactory pins, the fake badge reader
chosen by config.

An identity is claimed first (the keypad's ``Kiosk.claim``, or a badge); the following frames are verified
against that person's templates only. The claimed person in front of the camera is punched; anyone else
in front of the camera is never punched, neither under the claimed number nor under their own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from device.attendance.outcomes import Claimed, ClaimRefused
from device.config.device import DeviceConfig
from tests.attendance.real_vision import LFW, recognition_settings, requires_vision

pytestmark = requires_vision

RELAY, LED_OK, LED_ERROR = 19, 5, 6
# Enrolled from their first three photos; their fourth (never enrolled from) walks up to the terminal.
# The fourth photos pass the quality gate and liveness with the shipped models (live >= 0.99); Aaron
# Peirsol's also verifies against his own templates, so he is the one who is expected to be punched.
PEOPLE = {"1001": "Aaron_Peirsol", "1002": "Abdullah", "1003": "Alec_Baldwin"}


def photos(name: str) -> list[Path]:
    return sorted((LFW / name).glob("*.jpg"))


def make_replay(folder: Path, visitors: list[str]) -> Path:
    """Each visitor's fourth photo (5 frames, the folder camera's default), then an empty scene."""
    folder.mkdir()
    empty = np.full((250, 250, 3), 128, np.uint8)
    for i, name in enumerate(visitors):
        shutil.copy(photos(name)[3], folder / f"{2 * i + 1:04d}-{name}.jpg")
        PILImage.fromarray(empty).save(folder / f"{2 * i + 2:04d}-empty.png")
    return folder


def open_site(tmp_path: Path, visitors: list[str], **claim: object) -> object:
    from device.runner import open_terminal

    replay = make_replay(tmp_path / "replay", visitors)
    config = DeviceConfig.model_validate({
        "device": {"id": "gate-1", "name": "Gate 1", "state_dir": str(tmp_path / "state"), "language": "en"},
        "camera": {"source": "folder", "path": str(replay), "loop": False, "fps": 15},
        "gpio": {"pin_factory": "mock", "relay": RELAY, "led_ok": LED_OK, "led_error": LED_ERROR,
                 "relay_pulse_seconds": 0.05},
        "enrolment": {"min_good_images": 2},
        "recognition": {**recognition_settings(), "mode": "1:1"},
        # A generous timeout: these tests are about who is punched, not about how fast a loaded machine is.
        "claim": {"timeout_seconds": 120, **claim},
    })
    terminal = open_terminal(config, paced_replay=False)
    try:
        for number, name in PEOPLE.items():
            terminal.enroller.record_consent(number, name.replace("_", " "), text_version="v1", recorded_by="test")
            report = terminal.enroller.enrol_photos(
                number, [(p.name, p.read_bytes()) for p in photos(name)[:3]], actor="test"
            )
            assert report.enrolled, f"{name} should enrol from three LFW photos"
    except BaseException:
        terminal.stop()
        raise
    return terminal


def punches(terminal: object) -> list[tuple[str, str]]:
    rows = terminal.store.conn.execute(  # type: ignore[attr-defined]
        "SELECT p.employee_no, p.source FROM punches p JOIN outbox o ON o.ref = p.uid AND o.type = 'punch'"
        " ORDER BY p.id"
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def relay_pulses(terminal: object) -> int:
    relay = terminal.gpio.factory.pin(RELAY)  # type: ignore[attr-defined]
    return sum(1 for a, b in zip(relay.states, relay.states[1:], strict=False) if not a.state and b.state)


def test_the_claimed_person_in_front_of_the_camera_is_punched(tmp_path: Path) -> None:
    terminal = open_site(tmp_path, ["Aaron_Peirsol"])
    try:
        assert isinstance(terminal.kiosk.claim("1001"), Claimed)  # type: ignore[attr-defined]
        counters = terminal.kiosk.run(stop_at_end=True)  # type: ignore[attr-defined]
        assert punches(terminal) == [("1001", "keypad+face")]
        assert counters.punches == 1 and counters.claims == 1 and relay_pulses(terminal) == 1
        row = terminal.store.conn.execute(  # type: ignore[attr-defined]
            "SELECT match_score, liveness_score FROM punches").fetchone()
        assert row[0] >= terminal.vision.gallery.threshold and row[1] >= 0.9  # type: ignore[attr-defined]
    finally:
        terminal.stop()  # type: ignore[attr-defined]


def test_a_claim_for_one_person_never_punches_another_in_front_of_the_camera(tmp_path: Path) -> None:
    # 1001 is claimed, but 1002 (also enrolled) and then 1003 stand in front of the camera.
    terminal = open_site(tmp_path, ["Abdullah", "Alec_Baldwin"])
    try:
        assert isinstance(terminal.kiosk.claim("1001"), Claimed)  # type: ignore[attr-defined]
        counters = terminal.kiosk.run(stop_at_end=True)  # type: ignore[attr-defined]
        assert punches(terminal) == []
        assert relay_pulses(terminal) == 0
        assert counters.claims_refused == {"face-mismatch": 1}  # the claim ended at the first wrong face
        state = terminal.screen.state()  # type: ignore[attr-defined]
        assert state["banner"]["kind"] == "claim-refused"
        assert state["banner"]["message"]["en"] == "The face does not match number 1001. No punch was recorded."
        # Without a claim nobody is even looked for: the second visitor was not punched under their own number.
        assert terminal.claims.current() is None  # type: ignore[attr-defined]
    finally:
        terminal.stop()  # type: ignore[attr-defined]


def test_an_unknown_number_is_refused_and_nobody_is_punched(tmp_path: Path) -> None:
    terminal = open_site(tmp_path, ["Aaron_Peirsol"])
    try:
        refused = terminal.kiosk.claim("9999")  # type: ignore[attr-defined]
        assert refused == ClaimRefused("unknown-number", None)
        counters = terminal.kiosk.run(stop_at_end=True)  # type: ignore[attr-defined]
        assert punches(terminal) == []  # 1001 stood there, but nobody claimed 1001
        assert counters.claims_refused == {"unknown-number": 1}
        assert terminal.screen.state()["guidance"] == "enter-number"  # type: ignore[attr-defined]
    finally:
        terminal.stop()  # type: ignore[attr-defined]


def test_a_wrong_pin_is_refused_and_the_right_pin_then_punches(tmp_path: Path) -> None:
    from device.store.pins import set_pin

    terminal = open_site(tmp_path, ["Aaron_Peirsol", "Aaron_Peirsol"], pin=True)
    try:
        store = terminal.store  # type: ignore[attr-defined]
        set_pin(store, "1001", "2468", at=terminal.clock.now(), actor="test")  # type: ignore[attr-defined]
        assert terminal.kiosk.claim("1001").code == "pin-required"  # type: ignore[attr-defined]
        assert terminal.kiosk.claim("1001", pin="1357") == ClaimRefused("wrong-pin", None)  # type: ignore[attr-defined]
        terminal.kiosk.run(max_frames=10)  # type: ignore[attr-defined]  # first visit: photo + empty scene
        assert punches(terminal) == []
        assert isinstance(terminal.kiosk.claim("1001", pin="2468"), Claimed)  # type: ignore[attr-defined]
        counters = terminal.kiosk.run(stop_at_end=True)  # type: ignore[attr-defined]
        assert punches(terminal) == [("1001", "keypad+face")]
        assert counters.claims_refused == {"wrong-pin": 1}
    finally:
        terminal.stop()  # type: ignore[attr-defined]


def test_a_badge_from_the_fake_reader_claims_and_punches(tmp_path: Path) -> None:
    badges = tmp_path / "badges.txt"
    badges.write_text("1001\n")
    terminal = open_site(tmp_path, ["Aaron_Peirsol"], keypad=False, badge="fake", badge_device=str(badges))
    try:
        counters = terminal.kiosk.run(stop_at_end=True)  # type: ignore[attr-defined]
        assert punches(terminal) == [("1001", "badge+face")], counters.as_dict()
        assert counters.claims == 1 and counters.punches == 1
    finally:
        terminal.stop()  # type: ignore[attr-defined]
