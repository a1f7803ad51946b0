"""GPIO inputs of a terminal: the IN/OUT direction buttons and the PIR sensor that wakes the screen.

Both run on the pin factory the caller made (see device.hardware.gpio). Their callbacks arrive on
gpiozero's threads (the factory's edge-callback thread, or the PIR sampling thread), so the state they
share with the kiosk loop is guarded by a lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal

from core.clock import Clock, SystemClock
from core.errors import HardwareError

log = logging.getLogger(__name__)

Direction = Literal["in", "out"]

#: A button press chooses the direction of a punch made within this many seconds of it.
PRESS_VALID_SECONDS = 10.0


def _open(device_class: Any, name: str, pin: int, **options: Any) -> Any:
    from gpiozero.exc import GPIOZeroError

    try:
        return device_class(pin, **options)
    except GPIOZeroError as exc:
        raise HardwareError(
            f"gpio.{name} on pin {pin} cannot be opened: {exc}.",
            "Check that no other program uses the pin and that the pin number is a BCM GPIO number.",
            code="gpio-unavailable",
        ) from exc


class DirectionButtons:
    """IN and OUT push buttons (wired to ground, internal pull-up); the last press chooses the direction.

    Contact bounce needs no debounce here: a bouncing button repeats the same press, and the last press wins.
    """

    def __init__(
        self,
        pin_in: int,
        pin_out: int,
        factory: Any,
        *,
        valid_seconds: float = PRESS_VALID_SECONDS,
        clock: Clock | None = None,
        on_press: Callable[[Direction], None] | None = None,
    ) -> None:
        from gpiozero import Button

        self._clock = clock or SystemClock()
        self._valid_ns = int(valid_seconds * 1e9)
        self._lock = threading.Lock()
        self._pressed: tuple[Direction, int] | None = None
        self._on_press = on_press
        self.button_in: Any = _open(Button, "button_in", pin_in, pull_up=True, pin_factory=factory)
        try:
            self.button_out: Any = _open(Button, "button_out", pin_out, pull_up=True, pin_factory=factory)
        except HardwareError:
            self.button_in.close()
            raise
        self.button_in.when_pressed = lambda: self._press("in")
        self.button_out.when_pressed = lambda: self._press("out")

    def _press(self, direction: Direction) -> None:
        with self._lock:
            self._pressed = (direction, self._clock.monotonic_ns())
        if self._on_press is not None:
            self._on_press(direction)

    def pending_direction(self) -> Direction | None:
        """The last pressed button's direction if pressed within ``valid_seconds``, then forgotten."""
        with self._lock:
            pressed, self._pressed = self._pressed, None
        if pressed is None:
            return None
        direction, at_ns = pressed
        return direction if self._clock.monotonic_ns() - at_ns <= self._valid_ns else None

    def close(self) -> None:
        for button in (self.button_in, self.button_out):
            button.when_pressed = None
            button.close()


class MotionSensor:
    """A PIR motion sensor that calls ``on_motion`` when someone approaches (to wake the kiosk screen).

    An exception in ``on_motion`` is logged and kept in ``status`` instead of killing gpiozero's sampling
    thread, which would silently stop the sensor. gpiozero fires on a change from a known state, so someone
    already in front of the sensor when it starts (before its first sample) is not reported until they move
    away and come back.
    """

    def __init__(self, pin: int, factory: Any, on_motion: Callable[[], None]) -> None:
        from gpiozero import MotionSensor as GpiozeroMotionSensor

        self._on_motion = on_motion
        self._error: str | None = None
        self.motions = 0
        self.sensor: Any = _open(GpiozeroMotionSensor, "pir", pin, pull_up=False, pin_factory=factory)
        self.sensor.when_motion = self._fire

    def _fire(self) -> None:
        try:
            self._on_motion()
        except Exception as exc:  # logged and shown on the health page; the sensor keeps running
            log.exception("motion callback failed")
            self._error = f"error: motion callback failed: {exc!r}"
        # Counted last, so whoever sees the count also sees the outcome (tests wait on it).
        self.motions += 1

    @property
    def motion_detected(self) -> bool:
        return bool(self.sensor.motion_detected)

    def status(self) -> str:
        return self._error or "ok"

    def close(self) -> None:
        self.sensor.when_motion = None
        self.sensor.close()
