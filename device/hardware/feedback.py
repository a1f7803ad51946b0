"""What a person at the terminal sees and hears after a decision: LEDs, buzzer, and the door relay.

``GpioFeedback`` drives gpiozero devices on the pins the config names (any may be absent). Every timed
effect uses gpiozero's own background blink (``blink(on_time, off_time, n, background=True)``), so a
call returns at once, a new decision cancels the previous effect on the same device, and ``close`` stops
them all. ``NoFeedback`` is the explicit choice for a device with no GPIO (pin_factory = "none").
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from core.errors import HardwareError

if TYPE_CHECKING:
    from device.config.device import GpioSection

log = logging.getLogger(__name__)

#: Seconds an LED stays lit after a decision.
LED_SECONDS = 1.0
#: A short beep, and the pause between two beeps.
BEEP_SECONDS = 0.1
BEEP_GAP_SECONDS = 0.1


class Feedback(Protocol):
    def accepted(self) -> None:
        """Green LED for about a second, one short beep, and the door relay pulsed."""
        ...

    def rejected(self) -> None:
        """Red LED for about a second and two short beeps; the door stays shut."""
        ...

    def open_door(self) -> None:
        """Pulse the door relay alone (the panel's relay test)."""
        ...

    def beep(self, times: int = 1) -> None:
        """Short beeps alone (the panel's buzzer test)."""
        ...

    def status(self) -> str:
        """"ok", "no GPIO" or "error: <what is wrong>"."""
        ...

    def close(self) -> None: ...


class NoFeedback:
    """A device without LEDs, buzzer or relay: the screen is the only feedback. Chosen by pin_factory = "none"."""

    def accepted(self) -> None:
        pass

    def rejected(self) -> None:
        pass

    def open_door(self) -> None:
        pass

    def beep(self, times: int = 1) -> None:
        pass

    def status(self) -> str:
        return "no GPIO"

    def close(self) -> None:
        pass


class GpioFeedback:
    """LEDs, buzzer and door relay on ``factory``, at the pins ``config`` names (each one optional)."""

    def __init__(
        self,
        config: GpioSection,
        factory: Any,
        *,
        led_seconds: float = LED_SECONDS,
        beep_seconds: float = BEEP_SECONDS,
        beep_gap_seconds: float = BEEP_GAP_SECONDS,
    ) -> None:
        from gpiozero import LED, Buzzer, DigitalOutputDevice
        from gpiozero.exc import GPIOZeroError

        self.relay_pulse_seconds = config.relay_pulse_seconds
        self._led_seconds = led_seconds
        self._beep = (beep_seconds, beep_gap_seconds)
        self._closed = False
        self.led_ok: Any = None
        self.led_error: Any = None
        self.buzzer: Any = None
        self.relay: Any = None
        wiring: list[tuple[str, int | None, Any, dict[str, Any]]] = [
            ("led_ok", config.led_ok, LED, {}),
            ("led_error", config.led_error, LED, {}),
            ("buzzer", config.buzzer, Buzzer, {}),
            ("relay", config.relay, DigitalOutputDevice, {"active_high": config.relay_active_high}),
        ]
        for name, pin, device_class, options in wiring:
            if pin is None:
                continue
            try:
                setattr(self, name, device_class(pin, initial_value=False, pin_factory=factory, **options))
            except GPIOZeroError as exc:
                self.close()
                raise HardwareError(
                    f"gpio.{name} on pin {pin} cannot be opened: {exc}.",
                    "Check that no other program uses the pin and that the pin number is a BCM GPIO number.",
                    code="gpio-unavailable",
                ) from exc

    def accepted(self) -> None:
        if self.led_error is not None:
            self.led_error.off()
        if self.led_ok is not None:
            self.led_ok.blink(on_time=self._led_seconds, off_time=0, n=1, background=True)
        self.beep(1)
        self.open_door()

    def rejected(self) -> None:
        if self.led_ok is not None:
            self.led_ok.off()
        if self.led_error is not None:
            self.led_error.blink(on_time=self._led_seconds, off_time=0, n=1, background=True)
        self.beep(2)

    def open_door(self) -> None:
        if self.relay is not None:
            log.info("door relay pulsed for %.1f s", self.relay_pulse_seconds)
            self.relay.blink(on_time=self.relay_pulse_seconds, off_time=0, n=1, background=True)

    def beep(self, times: int = 1) -> None:
        if self.buzzer is not None and times > 0:
            on_time, gap = self._beep
            self.buzzer.blink(on_time=on_time, off_time=gap, n=times, background=True)

    def status(self) -> str:
        return "error: GPIO closed" if self._closed else "ok"

    def close(self) -> None:
        """Stop every effect, leave the door locked and the outputs off, release the pins."""
        self._closed = True
        for name in ("relay", "buzzer", "led_ok", "led_error"):  # the door first
            device = getattr(self, name)
            if device is not None:
                device.off()
                device.close()
                setattr(self, name, None)
