"""GPIO through gpiozero's MockFactory: pin state histories of LEDs, buzzer, relay; buttons; PIR."""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.clock import FakeClock
from core.errors import HardwareError
from device.config.device import GpioSection
from device.hardware.feedback import GpioFeedback, NoFeedback
from device.hardware.gpio import GpioBoard, make_pin_factory, open_gpio
from device.hardware.inputs import DirectionButtons, MotionSensor

PULSE = 0.2
PINS = {"led_ok": 5, "led_error": 6, "buzzer": 13, "relay": 19, "button_in": 20, "button_out": 21, "pir": 26}


def config(**changes: Any) -> GpioSection:
    values: dict[str, Any] = {"pin_factory": "mock", "relay_pulse_seconds": PULSE, **PINS}
    values.update(changes)
    return GpioSection(**values)


@pytest.fixture
def factory() -> Iterator[Any]:
    made = make_pin_factory("mock")
    yield made
    made.close()
    made.reset()


@pytest.fixture
def feedback(factory: Any) -> Iterator[GpioFeedback]:
    device = GpioFeedback(config(), factory, led_seconds=0.2, beep_seconds=0.05, beep_gap_seconds=0.05)
    yield device
    device.close()


def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (bounded) for a background effect to finish; fail if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the GPIO effect did not complete")
        time.sleep(0.01)


def states(pin: Any) -> list[bool]:
    return [bool(s.state) for s in pin.states]


def test_accepted_lights_green_beeps_once_and_pulses_the_relay(factory: Any, feedback: GpioFeedback) -> None:
    relay, led_ok, led_error, buzzer = (factory.pin(PINS[n]) for n in ("relay", "led_ok", "led_error", "buzzer"))
    feedback.accepted()
    until(lambda: len(relay.states) == 3 and len(led_ok.states) == 3 and len(buzzer.states) == 3)
    relay.assert_states([False, True, False])
    assert states(relay) == [False, True, False]  # closed, then opened again after the pulse
    assert relay.states[2].timestamp >= PULSE - 0.005  # held closed for the configured pulse
    assert states(led_ok) == [False, True, False]
    assert states(buzzer) == [False, True, False]  # exactly one beep
    assert states(led_error) == [False]
    time.sleep(0.1)  # nothing more happens after the effects end
    assert states(buzzer) == [False, True, False] and states(relay) == [False, True, False]


def test_rejected_lights_red_beeps_twice_and_never_touches_the_relay(factory: Any, feedback: GpioFeedback) -> None:
    relay, led_ok, led_error, buzzer = (factory.pin(PINS[n]) for n in ("relay", "led_ok", "led_error", "buzzer"))
    feedback.rejected()
    until(lambda: len(buzzer.states) == 5 and len(led_error.states) == 3)
    assert states(buzzer) == [False, True, False, True, False]
    assert states(led_error) == [False, True, False]
    assert states(relay) == [False]
    assert states(led_ok) == [False]


def test_a_rejection_puts_out_the_green_led_of_the_previous_acceptance(factory: Any, feedback: GpioFeedback) -> None:
    led_ok, led_error = factory.pin(PINS["led_ok"]), factory.pin(PINS["led_error"])
    feedback.accepted()
    until(lambda: led_ok.state)
    feedback.rejected()
    assert not led_ok.state
    until(lambda: len(led_error.states) == 3)


def test_an_active_low_relay_is_driven_low_to_open(factory: Any) -> None:
    device = GpioFeedback(config(relay_active_high=False), factory)
    try:
        relay = factory.pin(PINS["relay"])
        assert relay.state  # high = relay released at start
        device.open_door()
        until(lambda: len(relay.states) == 4)
        assert states(relay) == [False, True, False, True]
    finally:
        device.close()


def test_closing_mid_pulse_locks_the_door_and_stops_the_effects(factory: Any) -> None:
    device = GpioFeedback(config(relay_pulse_seconds=30.0), factory)
    relay = factory.pin(PINS["relay"])
    device.accepted()
    until(lambda: relay.state)
    device.close()
    assert not relay.state
    assert device.status().startswith("error:")


def test_a_pin_already_in_use_is_a_hardware_error_and_nothing_stays_open(factory: Any) -> None:
    from gpiozero import LED

    holder = LED(PINS["buzzer"], pin_factory=factory)
    try:
        with pytest.raises(HardwareError, match="gpio.buzzer on pin 13 cannot be opened"):
            GpioFeedback(config(), factory)
        # The LEDs opened before the failure were released: their pins can be used again.
        again = LED(PINS["led_ok"], pin_factory=factory)
        again.close()
    finally:
        holder.close()


def test_buttons_choose_the_direction_of_the_next_punch(factory: Any, fake_clock: FakeClock) -> None:
    pressed: list[str] = []
    buttons = DirectionButtons(20, 21, factory, valid_seconds=10, clock=fake_clock, on_press=pressed.append)
    try:
        pin_in, pin_out = factory.pin(20), factory.pin(21)
        assert buttons.pending_direction() is None
        pin_in.drive_low()  # pressed: the button pulls the pin to ground
        pin_in.drive_high()
        assert buttons.pending_direction() == "in"
        assert buttons.pending_direction() is None  # used once, then cleared
        pin_in.drive_low()
        pin_in.drive_high()
        pin_out.drive_low()
        pin_out.drive_high()
        assert buttons.pending_direction() == "out"  # the last press wins
        pin_in.drive_low()
        pin_in.drive_high()
        fake_clock.advance(11)
        assert buttons.pending_direction() is None  # too old to choose a punch now
        assert pressed == ["in", "in", "out", "in"]
    finally:
        buttons.close()


def test_motion_calls_back_to_wake_the_screen(factory: Any) -> None:
    woke = threading.Event()
    sensor = MotionSensor(26, factory, woke.set)
    try:
        assert not sensor.motion_detected  # waits for the first sample: an edge needs a known start
        factory.pin(26).drive_high()
        assert woke.wait(5.0), "no motion callback"
        assert sensor.status() == "ok"
    finally:
        sensor.close()


def test_a_failing_motion_callback_is_reported_and_the_sensor_keeps_running(factory: Any) -> None:
    def broken() -> None:
        raise RuntimeError("screen is gone")

    sensor = MotionSensor(26, factory, broken)
    try:
        pin = factory.pin(26)
        assert not sensor.motion_detected  # waits for the first sample: no one there at start
        pin.drive_high()
        until(lambda: sensor.motions == 1)
        assert "screen is gone" in sensor.status()
        pin.drive_low()
        until(lambda: not sensor.motion_detected)
        pin.drive_high()
        until(lambda: sensor.motions == 2)
    finally:
        sensor.close()


def test_open_gpio_with_no_pin_factory_gives_no_feedback_and_no_inputs() -> None:
    board = open_gpio(GpioSection())
    assert isinstance(board.feedback, NoFeedback)
    assert board.buttons is None and board.watch_motion(lambda: None) is None
    board.feedback.accepted()
    assert board.feedback.status() == "no GPIO"
    board.close()


def test_a_board_owns_its_devices_and_releases_every_pin(factory: Any) -> None:
    board = GpioBoard(config(), factory)
    woke = threading.Event()
    assert isinstance(board.feedback, GpioFeedback)
    assert board.buttons is not None
    motion = board.watch_motion(woke.set)
    assert motion is not None and not motion.motion_detected
    factory.pin(20).drive_low()
    assert board.buttons.pending_direction() == "in"
    factory.pin(26).drive_high()
    assert woke.wait(5.0)
    board.close()
    assert not factory.pins  # the factory was closed with every pin


def test_make_pin_factory_builds_mock_only_when_named() -> None:
    from gpiozero.pins.mock import MockFactory

    made = make_pin_factory("mock")
    try:
        assert isinstance(made, MockFactory)
    finally:
        made.close()
    with pytest.raises(HardwareError, match="'none'"):
        make_pin_factory("none")


@pytest.mark.parametrize(
    ("name", "module", "hint"),
    [("lgpio", "lgpio", "python3-lgpio"), ("rpigpio", "RPi", "python3-rpi.gpio"), ("pigpio", "pigpio", "pigpiod")],
)
def test_a_factory_whose_library_is_missing_names_it_and_what_to_install(name: str, module: str, hint: str) -> None:
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    with pytest.raises(HardwareError, match=f"gpio.pin_factory = '{name}' cannot load") as caught:
        make_pin_factory(name)
    assert hint in caught.value.fix


def _is_a_pi() -> bool:
    model = Path("/proc/device-tree/model")
    return model.exists() and "Raspberry Pi" in model.read_text(errors="replace")


@pytest.mark.skipif(_is_a_pi(), reason="this machine is a Raspberry Pi")
def test_the_native_factory_off_a_pi_is_a_hardware_error() -> None:
    with pytest.raises(HardwareError, match="gpio.pin_factory = 'native' cannot start"):
        make_pin_factory("native")
    with pytest.raises(HardwareError, match="native"):
        open_gpio(GpioSection(pin_factory="native", led_ok=5))
