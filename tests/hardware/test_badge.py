"""Badge readers: the evdev adapter decodes the kernel's input_event records (sent through a real FIFO,
as a keyboard-wedge reader's event device delivers them), the serial adapter reads a real pseudo-terminal
in raw mode, the fake reads a text file; none of them blocks the kiosk loop."""

from __future__ import annotations

import os
import termios
from pathlib import Path

import pytest

from core.errors import HardwareError
from device.config.device import ClaimSection
from device.hardware.badge import (
    EVENT,
    EvdevBadgeReader,
    FakeBadgeReader,
    SerialBadgeReader,
    open_badge_reader,
)

EV_SYN, EV_KEY, EV_MSC = 0, 1, 4
KEYS = {"1": 2, "2": 3, "3": 4, "0": 11, "e": 18, "enter": 28, "kp7": 71, "shift": 42, "kpenter": 96}


def key_events(*names: str) -> bytes:
    """What a keyboard-wedge reader writes per key: a scan-code event, press, sync, release, sync."""
    out = b""
    for name in names:
        code = KEYS[name]
        out += EVENT.pack(1, 0, EV_MSC, 4, 0x70000 + code) + EVENT.pack(1, 0, EV_KEY, code, 1)
        out += EVENT.pack(1, 0, EV_SYN, 0, 0) + EVENT.pack(1, 0, EV_KEY, code, 0) + EVENT.pack(1, 0, EV_SYN, 0, 0)
    return out


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "event-kbd"
    os.mkfifo(path)
    return path


def test_evdev_reader_turns_key_events_into_badge_lines(fifo: Path) -> None:
    with EvdevBadgeReader(fifo) as reader:
        writer = os.open(fifo, os.O_WRONLY)
        try:
            assert reader.poll() is None  # nothing typed yet: returns at once
            data = key_events("1", "0", "0", "3", "enter")
            os.write(writer, data[:30])  # records may arrive split anywhere
            assert reader.poll() is None
            os.write(writer, data[30:])
            assert reader.poll() == "1003"
            shift = EVENT.pack(1, 0, EV_KEY, KEYS["shift"], 1)
            unshift = EVENT.pack(1, 0, EV_KEY, KEYS["shift"], 0)
            # An auto-repeat (value 2) adds nothing; shift makes capitals; keypad digits and keypad Enter work.
            repeat = EVENT.pack(1, 0, EV_KEY, KEYS["2"], 2)
            typed = shift + key_events("e") + unshift + key_events("2") + repeat + key_events("kp7", "kpenter")
            os.write(writer, typed)
            os.write(writer, key_events("3", "enter"))
            assert reader.poll() == "E27"
            assert reader.poll() == "3"
            assert reader.poll() is None
            assert reader.status() == "ok"
        finally:
            os.close(writer)


def test_serial_reader_reads_lines_and_stx_etx_frames_from_a_raw_tty() -> None:
    controller, device = os.openpty()
    name = os.ttyname(device)
    try:
        with SerialBadgeReader(Path(name), baud=19200) as reader:
            attrs = termios.tcgetattr(device)
            assert attrs[4] == attrs[5] == termios.B19200  # speed set
            assert not attrs[3] & termios.ICANON and not attrs[3] & termios.ECHO  # raw: no line editing, no echo
            assert reader.poll() is None
            os.write(controller, b"E1001\r\n\x020A1B2C3D4E\x03 42")
            assert reader.poll() == "E1001"
            assert reader.poll() == "0A1B2C3D4E"
            assert reader.poll() is None  # "42" has no line end yet
            os.write(controller, b"\n")
            assert reader.poll() == "42"
    finally:
        os.close(controller)
        os.close(device)


def test_fake_reader_reads_its_file_one_badge_per_poll(tmp_path: Path) -> None:
    path = tmp_path / "badges.txt"
    path.write_text("E1\n\nE2\n")
    config = ClaimSection(badge="fake", badge_device=path)
    reader = open_badge_reader(config)
    assert isinstance(reader, FakeBadgeReader)
    assert [reader.poll(), reader.poll(), reader.poll()] == ["E1", "E2", None]
    reader.present("E3")
    assert reader.poll() == "E3"


def test_readers_are_chosen_by_config_and_a_missing_device_says_what_to_do(tmp_path: Path) -> None:
    assert open_badge_reader(ClaimSection()) is None
    for kind in ("evdev", "serial", "fake"):
        with pytest.raises(HardwareError, match="cannot be") as error:
            open_badge_reader(ClaimSection(badge=kind, badge_device=tmp_path / "missing"))  # type: ignore[arg-type]
        assert error.value.code == "badge-unavailable"
    with pytest.raises(ValueError, match="needs claim.badge_device"):
        ClaimSection(badge="evdev")
