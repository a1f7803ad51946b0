"""The camera a terminal reads frames from: one small Protocol, chosen by ``camera.source`` in the config.

Real adapters: ``OpenCVCamera`` (USB/V4L2), ``PiCamera`` (picamera2). Replays of recorded data, which
go through the same interface so the kiosk loop cannot tell them from a camera: ``VideoFileCamera`` and
``ImageFolderCamera``. ``FakeCamera`` makes synthetic frames for tests and is only ever chosen by
``source = "fake"``. No adapter falls back to another when it cannot open: it raises and says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from device.hardware.camera_base import STATUS_NO_FRAMES, STATUS_OK, Camera, Frame

if TYPE_CHECKING:
    from core.clock import Clock
    from device.config.device import CameraSection

__all__ = ["STATUS_NO_FRAMES", "STATUS_OK", "Camera", "Frame", "open_camera"]


def open_camera(
    config: CameraSection,
    *,
    paced: bool = True,
    frames_per_image: int | None = None,
    clock: Clock | None = None,
) -> Camera:
    """Open the camera ``config.source`` names; HardwareError or InputError says why it cannot open.

    ``paced=False`` lets benchmarks and tests read replays as fast as they decode (real cameras are paced
    by the device itself). ``frames_per_image`` (default: the config's) applies to ``source = "folder"``.
    """
    if config.source == "opencv":
        from device.hardware.camera_device import OpenCVCamera

        return OpenCVCamera(config.device, width=config.width, height=config.height, fps=config.fps, clock=clock)
    if config.source == "picamera2":
        from device.hardware.camera_device import PiCamera

        if not isinstance(config.device, int):
            from core.errors import HardwareError

            raise HardwareError(
                f"camera.device = {config.device!r} is a path, but picamera2 numbers its cameras.",
                "Set camera.device to the camera number (0 for the first Pi camera).",
            )
        return PiCamera(config.device, width=config.width, height=config.height, fps=config.fps, clock=clock)
    if config.source == "video":
        from device.hardware.camera_replay import VideoFileCamera

        assert config.path is not None  # guaranteed by CameraSection's validator
        return VideoFileCamera(config.path, fps=config.fps, loop=config.loop, paced=paced, clock=clock)
    if config.source == "folder":
        from device.hardware.camera_replay import ImageFolderCamera

        assert config.path is not None
        return ImageFolderCamera(
            config.path,
            fps=config.fps,
            loop=config.loop,
            paced=paced,
            frames_per_image=frames_per_image or config.frames_per_image,
            max_size=(config.width, config.height),
            clock=clock,
        )
    if config.source == "fake":
        from device.hardware.camera_fake import FakeCamera

        return FakeCamera(width=config.width, height=config.height, fps=config.fps, paced=paced, clock=clock)
    raise AssertionError(f"unhandled camera source {config.source!r}")  # Literal type makes this unreachable
