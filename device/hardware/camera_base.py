"""What every camera is: the ``Camera`` Protocol, the ``Frame`` it delivers and the status strings it
reports (adapters inherit ``with`` from ``device.hardware.closing.Closing``). Kept apart from
``device.hardware.camera``, which picks an adapter by config, so no adapter imports the module that
imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.types import Image
from device.hardware.closing import Closable

#: Status strings every camera reports; an error is "error: <what is wrong>".
STATUS_OK = "ok"
STATUS_NO_FRAMES = "no frames"


@dataclass(frozen=True, eq=False)  # frames compare by identity: comparing pixel arrays with == is ambiguous
class Frame:
    """One frame: ``image`` is H x W x 3 uint8 BGR and owned by the frame (callers may draw on it);
    ``monotonic_ns`` is when it was delivered; ``index`` counts frames from 0 since the camera opened."""

    image: Image
    monotonic_ns: int
    index: int


class Camera(Closable, Protocol):
    def read(self) -> Frame | None:
        """The next frame, or None when there is none now (device lost, replay ended with loop off)."""
        ...

    def status(self) -> str:
        """"ok", "no frames" or "error: <what is wrong>"; shown on the health page."""
        ...
