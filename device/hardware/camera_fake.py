"""Synthetic frames for tests only; chosen solely by ``camera.source = "fake"``, never as a fallback."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from core.clock import Clock, SystemClock
from core.types import Image
from device.hardware.camera_base import STATUS_NO_FRAMES, STATUS_OK, Frame
from device.hardware.closing import Closing
from device.hardware.pacing import Pacer


class FakeCamera(Closing):
    """A horizontal grey gradient with the frame number written on it; holds no face.

    ``frames`` limits how many frames it gives before ``read`` returns None (None = endless).
    """

    def __init__(
        self,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 15.0,
        paced: bool = True,
        frames: int | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock or SystemClock()
        self._pacer = Pacer(1.0 / fps, clock=self._clock, sleep=sleep) if paced else None
        ramp = np.linspace(0, 255, width, dtype=np.float32).astype(np.uint8)
        self._background: Image = np.ascontiguousarray(np.broadcast_to(ramp[None, :, None], (height, width, 3)))
        self._limit = frames
        self._index = 0
        self._closed = False

    def read(self) -> Frame | None:
        if self._closed or (self._limit is not None and self._index >= self._limit):
            return None
        import cv2

        image = self._background.copy()
        cv2.putText(image, f"FAKE {self._index}", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 255), 2)
        now = self._pacer.wait() if self._pacer is not None else self._clock.monotonic_ns()
        frame = Frame(image, now, self._index)
        self._index += 1
        return frame

    def status(self) -> str:
        if self._closed:
            return "error: camera closed"
        if self._limit is not None and self._index >= self._limit:
            return STATUS_NO_FRAMES
        return STATUS_OK

    def close(self) -> None:
        self._closed = True
