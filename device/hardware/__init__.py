"""Camera, microphone and GPIO adapters: a small Protocol each, real adapters, explicit fakes."""

from device.hardware.camera import Camera, Frame, open_camera
from device.hardware.feedback import Feedback, GpioFeedback, NoFeedback
from device.hardware.gpio import GpioBoard, make_pin_factory, open_gpio
from device.hardware.inputs import DirectionButtons, MotionSensor
from device.hardware.microphone import Microphone, open_microphone

__all__ = [
    "Camera",
    "DirectionButtons",
    "Feedback",
    "Frame",
    "GpioBoard",
    "GpioFeedback",
    "Microphone",
    "MotionSensor",
    "NoFeedback",
    "make_pin_factory",
    "open_camera",
    "open_gpio",
    "open_microphone",
]
