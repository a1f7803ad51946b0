"""gpiozero pin factories made explicitly from the config, and the board that owns one with its devices.

gpiozero picks a pin factory by itself when none is given, falling back from one library to the next; a
terminal must not (gpiozero #1229: a silent fallback turned a NameError into a crash on the Pi 5). So
``make_pin_factory`` builds exactly the factory ``gpio.pin_factory`` names, passes it to every device,
and raises HardwareError, naming the factory and what to install, when it cannot load here. MockFactory
is built only when the config says "mock".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.errors import HardwareError

if TYPE_CHECKING:
    from device.config.device import GpioSection
    from device.hardware.feedback import Feedback
    from device.hardware.inputs import DirectionButtons, MotionSensor

#: pin_factory name -> (module, class, what to install when it is missing)
FACTORIES: dict[str, tuple[str, str, str]] = {
    "lgpio": (
        "gpiozero.pins.lgpio",
        "LGPIOFactory",
        "Install lgpio (`sudo apt install python3-lgpio`, or `pip install lgpio` in the venv); it is the "
        "factory for the Pi 5 and recent Raspberry Pi OS.",
    ),
    "rpigpio": (
        "gpiozero.pins.rpigpio",
        "RPiGPIOFactory",
        "Install RPi.GPIO (`sudo apt install python3-rpi.gpio`); it does not support the Pi 5, use lgpio there.",
    ),
    "pigpio": (
        "gpiozero.pins.pigpio",
        "PiGPIOFactory",
        "Install pigpio (`sudo apt install pigpio python3-pigpio`) and start its daemon "
        "(`sudo systemctl enable --now pigpiod`).",
    ),
    "native": (
        "gpiozero.pins.native",
        "NativeFactory",
        "The native factory is part of gpiozero but only runs on a Raspberry Pi; use it there, or another factory.",
    ),
    "mock": ("gpiozero.pins.mock", "MockFactory", "MockFactory is part of gpiozero; reinstall gpiozero."),
}


def make_pin_factory(name: str) -> Any:
    """The gpiozero pin factory ``name`` (a GpioSection.pin_factory value other than "none")."""
    if name == "none":
        raise HardwareError(
            "gpio.pin_factory is 'none': this device has no GPIO to open.",
            "Use NoFeedback (open_gpio does), or set gpio.pin_factory to the factory that drives the pins.",
        )
    if name not in FACTORIES:
        raise HardwareError(f"unknown gpio.pin_factory {name!r}.", f"Use one of: none, {', '.join(FACTORIES)}.")
    module_name, class_name, install = FACTORIES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HardwareError(
            f"gpio.pin_factory = '{name}' cannot load on this machine: {exc}.", install, code="gpio-unavailable"
        ) from exc
    from gpiozero.exc import GPIOZeroError

    errors: tuple[type[BaseException], ...] = (GPIOZeroError, OSError, RuntimeError)
    if name == "lgpio":
        # lgpio raises its own lgpio.error (e.g. no /dev/gpiochip0); the factory module imported it already.
        errors += (importlib.import_module("lgpio").error,)
    try:
        return getattr(module, class_name)()
    except errors as exc:
        raise HardwareError(
            f"gpio.pin_factory = '{name}' cannot start on this machine: {exc}.", install, code="gpio-unavailable"
        ) from exc


class GpioBoard:
    """The pin factory ``gpio.pin_factory`` names and every device on it; ``close`` releases them all.

    With pin_factory = "none" it holds no factory: ``feedback`` is a NoFeedback, there are no buttons and
    ``watch_motion`` returns None.
    """

    def __init__(self, config: GpioSection, factory: Any | None) -> None:
        from device.hardware.feedback import GpioFeedback, NoFeedback

        self.config = config
        self.factory = factory
        self.motion: MotionSensor | None = None
        self.buttons: DirectionButtons | None = None
        self.feedback: Feedback
        if factory is None:
            self.feedback = NoFeedback()
            return
        try:
            self.feedback = GpioFeedback(config, factory)
            if config.button_in is not None and config.button_out is not None:
                from device.hardware.inputs import DirectionButtons

                self.buttons = DirectionButtons(config.button_in, config.button_out, factory)
        except BaseException:
            factory.close()  # GpioFeedback closes what it opened before raising
            raise

    def watch_motion(self, on_motion: Callable[[], None]) -> MotionSensor | None:
        """Call ``on_motion`` when the PIR sensor sees someone (None when no sensor is wired)."""
        if self.config.pir is None or self.factory is None:
            return None
        from device.hardware.inputs import MotionSensor

        if self.motion is not None:
            self.motion.close()
        self.motion = MotionSensor(self.config.pir, self.factory, on_motion)
        return self.motion

    def close(self) -> None:
        for part in (self.motion, self.buttons):
            if part is not None:
                part.close()
        self.feedback.close()
        self.motion = self.buttons = None
        if self.factory is not None:
            self.factory.close()


def open_gpio(config: GpioSection) -> GpioBoard:
    """Make the configured pin factory and the devices wired to it."""
    factory = None if config.pin_factory == "none" else make_pin_factory(config.pin_factory)
    return GpioBoard(config, factory)
