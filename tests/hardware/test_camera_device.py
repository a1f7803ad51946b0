"""Device cameras: a missing camera fails clearly, a lost one is reopened, picamera2's absence is named."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import cv2
import pytest

from core.clock import FakeClock
from core.errors import HardwareError
from device.config.device import CameraSection
from device.hardware.camera import open_camera
from device.hardware.camera_device import OpenCVCamera, PiCamera
from tests.hardware.conftest import ORL, need


def test_a_camera_that_does_not_exist_raises_hardware_error() -> None:
    with pytest.raises(HardwareError, match="cannot be opened") as caught:
        OpenCVCamera("/dev/video-edgehr-missing")
    assert "camera.device" in caught.value.fix
    with pytest.raises(HardwareError):
        open_camera(CameraSection(source="opencv", device=63))


def test_a_camera_that_stops_delivering_is_reopened(tmp_path: Path, fake_clock: FakeClock) -> None:
    # A video file opened by path stands in for the device: its end is the device going away.
    image = cv2.imread(str(need(ORL / "s1" / "1.pgm")))
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (92, 112))
    for _ in range(2):
        writer.write(image)
    writer.release()
    backup = tmp_path / "backup.avi"
    shutil.copy(clip, backup)

    with OpenCVCamera(str(clip), clock=fake_clock, reopen_interval_s=2.0) as camera:
        assert camera.status() == "no frames"
        assert [camera.read() is not None for _ in range(2)] == [True, True]
        assert camera.status() == "ok"
        assert camera.read() is None  # the "device" stopped
        assert camera.status().startswith("error: ") and "reopen" in camera.status()
        clip.unlink()  # ...and is gone
        fake_clock.advance(2.5)
        assert camera.read() is None
        assert "gone" in camera.status()
        shutil.copy(backup, clip)  # plugged back in
        fake_clock.advance(1.0)
        assert camera.read() is None  # not yet: reopening is rate-limited
        fake_clock.advance(1.5)
        frame = camera.read()
        assert frame is not None and frame.image.shape == (112, 92, 3)
        assert frame.index == 2
        assert camera.status() == "ok"
    assert camera.status() == "error: camera closed"


@pytest.mark.skipif(importlib.util.find_spec("picamera2") is not None, reason="picamera2 is installed here")
def test_pi_camera_without_picamera2_names_the_package_to_install() -> None:
    with pytest.raises(HardwareError) as caught:
        PiCamera(0)
    assert "picamera2" in str(caught.value)
    assert "apt install python3-picamera2" in caught.value.fix
    with pytest.raises(HardwareError, match="picamera2"):
        open_camera(CameraSection(source="picamera2", device=0))


def test_pi_camera_needs_a_camera_number_not_a_path() -> None:
    with pytest.raises(HardwareError, match="camera number"):
        open_camera(CameraSection(source="picamera2", device="/dev/video0"))
