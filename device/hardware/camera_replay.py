"""Recorded frames replayed through the Camera interface: a video file, or a folder of still images.

Both are paced to the configured frame rate on the monotonic clock (``paced=False`` reads as fast as
frames decode, for tests and benchmarks), and can loop so a demo terminal keeps running unattended.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.clock import Clock, SystemClock
from core.errors import InputError
from core.images import MAX_PIXELS, load_image
from core.types import Image
from device.hardware.camera_base import STATUS_NO_FRAMES, STATUS_OK, Frame
from device.hardware.camera_device import to_bgr
from device.hardware.closing import Closing
from device.hardware.pacing import Pacer

log = logging.getLogger(__name__)


class _Replay(Closing):
    """Frame numbering, pacing and status shared by the replay cameras."""

    def __init__(self, fps: float, paced: bool, clock: Clock | None, sleep: Callable[[float], None]) -> None:
        self._clock = clock or SystemClock()
        self._pacer = Pacer(1.0 / fps, clock=self._clock, sleep=sleep) if paced else None
        self._index = 0
        self._status = STATUS_NO_FRAMES
        self._closed = False

    def _deliver(self, image: Image) -> Frame:
        # Decode first, then wait: the decoding time is part of the frame period, as on a camera.
        now = self._pacer.wait() if self._pacer is not None else self._clock.monotonic_ns()
        frame = Frame(image, now, self._index)
        self._index += 1
        self._status = STATUS_OK
        return frame

    def status(self) -> str:
        return "error: camera closed" if self._closed else self._status


class VideoFileCamera(_Replay):
    """Replays a video file (any container and codec OpenCV's FFmpeg reads) at ``fps``."""

    def __init__(
        self,
        path: Path,
        *,
        fps: float = 15.0,
        loop: bool = True,
        paced: bool = True,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(fps, paced, clock, sleep)
        import cv2

        self._cv2 = cv2
        self.path = Path(path)
        self.loop = loop
        if not self.path.is_file():
            raise InputError(
                f"camera.path {str(self.path)!r} is not a video file.", "Point camera.path at a recorded video file."
            )
        self._capture: Any = self._open()
        self._frames_this_pass = 0
        self._ended = False

    def _open(self) -> Any:
        capture = self._cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise InputError(
                f"{self.path.name}: cannot be opened as a video.",
                "Use a video OpenCV can read, e.g. MJPG in .avi or H.264 in .mp4.",
            )
        return capture

    def read(self) -> Frame | None:
        if self._closed or self._ended:
            return None
        ok, image = self._capture.read()
        if not ok and self.loop and self._frames_this_pass > 0:
            # Reopening is the reliable way back to frame 0 (seeking is approximate in many codecs).
            self._capture.release()
            self._capture = self._open()
            self._frames_this_pass = 0
            ok, image = self._capture.read()
        if not ok or image is None:
            self._ended = True
            self._status = STATUS_NO_FRAMES
            return None
        self._frames_this_pass += 1
        return self._deliver(to_bgr(image))

    def close(self) -> None:
        self._closed = True
        self._capture.release()


def natural_key(name: str) -> list[tuple[int, int | str]]:
    """Sort key that orders "2.pgm" before "10.pgm" (numbers by value, the rest by text)."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part]


class ImageFolderCamera(_Replay):
    """Replays the still images of a folder in natural name order, each for ``frames_per_image`` frames.

    A face in a photo is then seen over several consecutive frames, like a person standing in front of
    the camera, which the kiosk's confirm-over-frames rule needs. Images larger than ``max_size`` are
    scaled down to fit it (as a camera set to that resolution would deliver them), never up. A file that
    is not an image, is corrupt, or is larger than ``max_pixels`` is skipped with a warning naming it.
    """

    def __init__(
        self,
        path: Path,
        *,
        fps: float = 15.0,
        loop: bool = True,
        paced: bool = True,
        frames_per_image: int = 5,
        max_size: tuple[int, int] | None = None,
        max_pixels: int = MAX_PIXELS,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(fps, paced, clock, sleep)
        if frames_per_image < 1:
            raise ValueError(f"frames_per_image must be at least 1, got {frames_per_image}")
        self.path = Path(path)
        self.loop = loop
        self.frames_per_image = frames_per_image
        self.max_size = max_size
        self.max_pixels = max_pixels
        if not self.path.is_dir():
            raise InputError(
                f"camera.path {str(self.path)!r} is not a folder.", "Point camera.path at a folder of photos."
            )
        self.files = sorted(
            (p for p in self.path.iterdir() if p.is_file() and not p.name.startswith(".")),
            key=lambda p: natural_key(p.name),
        )
        if not self.files:
            raise InputError(f"camera.path {str(self.path)!r} holds no files.", "Put some photos in the folder.")
        #: Names of the files skipped as unusable, each with the reason (warned about once each).
        self.skipped: dict[str, str] = {}
        self._position = -1  # index into files of the current image
        self._current: Image | None = None
        self._repeats_left = 0
        self._good_this_pass = 0
        self._ended = False

    def read(self) -> Frame | None:
        if self._closed or self._ended:
            return None
        if self._repeats_left == 0 and not self._next_image():
            return None
        assert self._current is not None
        self._repeats_left -= 1
        return self._deliver(self._current.copy())

    def _next_image(self) -> bool:
        # At most one full pass over the folder: bounded even when every file is unusable.
        for _ in range(len(self.files) + 1):
            self._position += 1
            if self._position >= len(self.files):
                if not self.loop or self._good_this_pass == 0:
                    return self._end()
                self._position, self._good_this_pass = 0, 0
            image = self._load(self.files[self._position])
            if image is not None:
                self._current, self._repeats_left = image, self.frames_per_image
                self._good_this_pass += 1
                return True
        return self._end()

    def _end(self) -> bool:
        self._ended = True
        self._current = None
        if self._index == 0:
            self._status = f"error: no readable image in {str(self.path)!r}"
        else:
            self._status = STATUS_NO_FRAMES
        return False

    def _load(self, path: Path) -> Image | None:
        try:
            return load_image(path, max_pixels=self.max_pixels, fit=self.max_size)
        except InputError as exc:
            if path.name not in self.skipped:
                log.warning("camera replay skips a file: %s", exc.what)
            self.skipped[path.name] = exc.what
            return None

    def close(self) -> None:
        self._closed = True
        self._current = None
