"""Cameras that are devices: a USB/V4L2 camera through OpenCV, and the Raspberry Pi camera through picamera2."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from core.clock import Clock, SystemClock
from core.errors import HardwareError
from device.hardware.camera_base import STATUS_NO_FRAMES, STATUS_OK, Frame
from device.hardware.closing import Closing

if TYPE_CHECKING:
    from core.types import Image

log = logging.getLogger(__name__)

#: After the device disappears, try to open it again at most this often.
REOPEN_INTERVAL_S = 2.0


def to_bgr(image: Any) -> Image:
    """A captured array as H x W x 3 uint8 BGR: greyscale is expanded, an alpha or padding byte dropped."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, :3]
    elif array.ndim != 3 or array.shape[2] != 3:
        raise HardwareError(
            f"the camera delivered frames of shape {array.shape}, not an H x W x 3 image.",
            "Set the camera to a colour (BGR/RGB) or greyscale pixel format.",
        )
    out: Image = np.ascontiguousarray(array, dtype=np.uint8)
    return out


class OpenCVCamera(Closing):
    """A V4L2/USB camera (``device`` is an index or a path such as /dev/video0) read with cv2.VideoCapture.

    If the camera stops delivering (unplugged, driver reset), ``read`` returns None and the camera is
    reopened at most every ``reopen_interval_s`` seconds until it comes back; ``status`` says so meanwhile.
    """

    def __init__(
        self,
        device: int | str,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 15.0,
        clock: Clock | None = None,
        reopen_interval_s: float = REOPEN_INTERVAL_S,
    ) -> None:
        import cv2

        self._cv2 = cv2
        self.device = device
        self._size = (width, height)
        self._fps = fps
        self._clock = clock or SystemClock()
        self._reopen_interval_ns = int(reopen_interval_s * 1e9)
        self._index = 0
        self._closed = False
        self._lost_at: int | None = None
        self._last_attempt = 0
        self._status = STATUS_NO_FRAMES
        self._capture: Any = self._open()
        if self._capture is None:
            raise HardwareError(
                f"camera {device!r} cannot be opened.",
                "Check that the camera is plugged in, that camera.device names it (ls /dev/video*), and that "
                "this user is in the 'video' group.",
                code="camera-unavailable",
            )

    def _open(self) -> Any:
        cv2 = self._cv2
        capture = cv2.VideoCapture(self.device)
        if not capture.isOpened():
            capture.release()
            return None
        width, height = self._size
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        capture.set(cv2.CAP_PROP_FPS, self._fps)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not one queued seconds ago
        return capture

    def read(self) -> Frame | None:
        if self._closed:
            return None
        if self._capture is None and not self._try_reopen():
            return None
        ok, image = self._capture.read()
        if not ok or image is None:
            self._lose()
            return None
        frame = Frame(to_bgr(image), self._clock.monotonic_ns(), self._index)
        self._index += 1
        self._status = STATUS_OK
        return frame

    def _lose(self) -> None:
        log.warning("camera %r stopped delivering frames; reopening it", self.device)
        self._capture.release()
        self._capture = None
        self._lost_at = self._last_attempt = self._clock.monotonic_ns()
        self._status = f"error: camera {self.device!r} stopped delivering frames; trying to reopen it"

    def _try_reopen(self) -> bool:
        now = self._clock.monotonic_ns()
        if now - self._last_attempt < self._reopen_interval_ns:
            return False
        self._last_attempt = now
        self._capture = self._open()
        if self._capture is None:
            self._status = f"error: camera {self.device!r} is gone; check its cable (retrying)"
            return False
        log.info("camera %r reopened", self.device)
        self._status = STATUS_NO_FRAMES
        return True

    def status(self) -> str:
        return "error: camera closed" if self._closed else self._status

    def close(self) -> None:
        self._closed = True
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class PiCamera(Closing):
    """The Raspberry Pi camera module through picamera2 (libcamera).

    picamera2 ships with Raspberry Pi OS as the apt package python3-picamera2; it is not on PyPI in a
    usable form, so a venv must be created with --system-site-packages to see it.
    """

    def __init__(
        self,
        camera_num: int = 0,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 15.0,
        clock: Clock | None = None,
    ) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise HardwareError(
                f"camera.source = 'picamera2' but the picamera2 package cannot be imported ({exc}).",
                "On Raspberry Pi OS run `sudo apt install python3-picamera2` and create the venv with "
                "`python3 -m venv --system-site-packages`; or set camera.source = 'opencv' for a USB camera.",
                code="camera-unavailable",
            ) from exc
        self._clock = clock or SystemClock()
        self._index = 0
        self._status = STATUS_NO_FRAMES
        try:
            self._camera: Any = Picamera2(camera_num)
            # "RGB888" is stored B, G, R in memory: exactly OpenCV's BGR order.
            config = self._camera.create_video_configuration(
                main={"size": (width, height), "format": "RGB888"},
                controls={"FrameRate": float(fps)},
            )
            self._camera.configure(config)
            self._camera.start()
        except (RuntimeError, IndexError, OSError) as exc:
            raise HardwareError(
                f"the Raspberry Pi camera {camera_num} cannot be started ({exc}).",
                "Check the ribbon cable and run `rpicam-hello --list-cameras`.",
                code="camera-unavailable",
            ) from exc

    def read(self) -> Frame | None:
        if self._camera is None:
            return None
        try:
            array = self._camera.capture_array("main")
        except RuntimeError as exc:
            self._status = f"error: the Pi camera stopped delivering frames ({exc})"
            return None
        frame = Frame(to_bgr(array), self._clock.monotonic_ns(), self._index)
        self._index += 1
        self._status = STATUS_OK
        return frame

    def status(self) -> str:
        return "error: camera closed" if self._camera is None else self._status

    def close(self) -> None:
        if self._camera is not None:
            self._camera.stop()
            self._camera.close()
            self._camera = None
