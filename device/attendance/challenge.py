"""The optional active liveness challenge (recognition.active_challenge = "turn"): a head turn on request.

After the decision has confirmed one identity with passive liveness, the kiosk asks the person to turn
their head slightly (guidance "turn-head"). The challenge passes on the first frame whose yaw lies at
least ``min_degrees`` away from the yaw at the start of the challenge (either side), and fails when
``max_frames`` frames pass without that. Both are settings: recognition.turn_degrees (default 15,
5-45) and recognition.turn_frames (default 30, 5-300); the config refuses a turn larger than
recognition.max_yaw_degrees. Yaw comes from the detector's 5 landmarks
(device.vision.quality.estimate_yaw: the nose offset from the eye midpoint along the eye line, relative to
the distance between the eyes).

Why 15 degrees by default: the yaw of one still face jitters by a few degrees between frames, a slight turn a person
makes on request is 20-30 degrees, and the quality gate refuses faces beyond recognition.max_yaw_degrees
(30 by default), so a person starting frontal has a 15-30 degree window on each side.
Why 30 frames by default: at the kiosk's 5-10 frames per second that is 3-6 seconds to react and turn.

What it stops: a printed photo or a still screen. A flat picture has no depth, so neither holding it still
nor swivelling it about a vertical axis moves the nose relative to the eyes (swivelling shrinks both
widths alike and the ratio stays; only perspective changes it a little). What it does NOT stop: a video
replay of the person turning their head, or a photo bent along the nose. It raises the cost of an attack;
it is not proof of life.

"blink" is not built: the 5 landmarks cannot see eyelids (that needs a dense face mesh).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.errors import EdgehrError, NotBuiltError
from device.config.device import RecognitionSection

#: Default turn needed away from the yaw at the start of the challenge, in degrees (see module docstring);
#: the setting is recognition.turn_degrees.
TURN_MIN_DEGREES = 15.0
#: Default frames allowed for the turn before the challenge fails; the setting is recognition.turn_frames.
TURN_MAX_FRAMES = 30

TurnState = Literal["passed", "waiting", "timed-out"]


@dataclass(frozen=True)
class TurnRule:
    """How far the head must turn and within how many frames."""

    min_degrees: float = TURN_MIN_DEGREES
    max_frames: int = TURN_MAX_FRAMES

    def __post_init__(self) -> None:
        if self.min_degrees <= 0 or self.max_frames < 1:
            raise ValueError("TurnRule needs min_degrees > 0 and max_frames >= 1")


class HeadTurn:
    """One running challenge: feed it each frame's yaw (None = no usable yaw on that frame)."""

    def __init__(self, rule: TurnRule, start_yaw: float | None) -> None:
        self.rule = rule
        self.start_yaw = start_yaw
        self.frames = 0
        self.largest_turn = 0.0  # for logs and tests: how far the head got

    def step(self, yaw: float | None) -> TurnState:
        """Count one frame; "passed" once the yaw is far enough from the start, "timed-out" when out of frames."""
        self.frames += 1
        if yaw is not None:
            if self.start_yaw is None:
                self.start_yaw = yaw  # the confirming frame had no yaw: measure from the first one that does
            else:
                self.largest_turn = max(self.largest_turn, abs(yaw - self.start_yaw))
                if self.largest_turn >= self.rule.min_degrees:
                    return "passed"
        if self.frames >= self.rule.max_frames:
            return "timed-out"
        return "waiting"


def challenge_rule(
    kind: str,
    *,
    max_yaw_degrees: float,
    min_degrees: float = TURN_MIN_DEGREES,
    max_frames: int = TURN_MAX_FRAMES,
) -> TurnRule | None:
    """The rule for recognition.active_challenge: None for "off", a TurnRule for "turn"; "blink" is refused.

    ``min_degrees`` and ``max_frames`` are recognition.turn_degrees and recognition.turn_frames;
    ``max_yaw_degrees`` is the quality gate's limit: a turn the gate refuses could never pass (the config
    validator refuses that pair too; this check covers rules built without a config file).
    """
    if kind == "off":
        return None
    if kind == "turn":
        rule = TurnRule(min_degrees, max_frames)
        if max_yaw_degrees < rule.min_degrees:
            # Not a ConfigError: each setting is valid alone, the pair is what cannot work.
            raise EdgehrError(
                f"recognition.active_challenge = 'turn' needs a {rule.min_degrees:g} degree head turn, but "
                f"recognition.max_yaw_degrees = {max_yaw_degrees:g} refuses faces turned that far.",
                f"Raise recognition.max_yaw_degrees to at least {rule.min_degrees + 10:g}, lower "
                "recognition.turn_degrees, or set recognition.active_challenge = 'off'.",
                code="config-invalid",
            )
        return rule
    raise NotBuiltError(
        f"recognition.active_challenge = {kind!r} is not built: blink detection needs eyelid landmarks, and "
        "the 5-point face detector gives only eye centres.",
        "Set recognition.active_challenge to 'turn' (head turn) or 'off'.",
    )


def configured_rule(recognition: RecognitionSection) -> TurnRule | None:
    """``challenge_rule`` for a device's validated recognition settings."""
    return challenge_rule(
        recognition.active_challenge,
        max_yaw_degrees=recognition.max_yaw_degrees,
        min_degrees=recognition.turn_degrees,
        max_frames=recognition.turn_frames,
    )
