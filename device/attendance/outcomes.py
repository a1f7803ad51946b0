"""What the kiosk concluded from a frame: the values the screen, the feedback pins and the counters act on.

Each outcome is a small frozen value with a stable ``kind`` (used in counters, the kiosk screen's JSON
and i18n keys ``kiosk.<kind>``) so screens translate codes and never parse text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Direction = Literal["in", "out"]

#: Guidance codes shown while the kiosk waits (i18n keys "guidance.<code>").
GUIDANCE_CODES = ("look-at-camera", "move-closer", "hold-still", "one-person", "more-light", "less-light",
                  "center-face", "press-in-out", "step-away", "turn-head", "look-again",
                  # 1:1 mode, while no identity is claimed:
                  "enter-number", "show-badge", "number-or-badge")


@dataclass(frozen=True)
class Punched:
    """A punch was durably written (punch row and outbox row committed) before this value exists."""

    name: str
    employee_no: str
    direction: Direction
    time: datetime  # local wall time of the device, aware
    match_score: float
    liveness_score: float
    kind: str = "punched"


@dataclass(frozen=True)
class Unknown:
    """A live face was seen over the confirmation frames but matched nobody well enough.

    ``reason`` is "no-match" (nobody reached the threshold) or "margin" (someone did, but another enrolled
    person scored almost as high, even after a second look: the screen asks for the badge or number).
    """

    reason: str = "no-match"
    kind: str = "unknown"


@dataclass(frozen=True)
class Spoof:
    """The face failed passive liveness over the liveness frames: a print or a screen, not a person.

    ``reason`` is "liveness" (passive liveness failed; ``liveness_score`` is the lowest seen) or
    "challenge" (passive liveness passed but the active head-turn challenge timed out; ``liveness_score``
    is the passive score the face had reached).
    """

    liveness_score: float
    reason: str = "liveness"
    kind: str = "spoof"


@dataclass(frozen=True)
class PoorImage:
    """The quality gate refused the face; ``reason`` is one of vision.types.QUALITY_REASONS."""

    reason: str
    kind: str = "poor-image"


@dataclass(frozen=True)
class Debounced:
    """The person was recognised again within the debounce window: no new punch."""

    name: str
    employee_no: str
    direction: Direction  # direction of the punch already recorded
    punched_at: datetime  # local wall time of that punch
    kind: str = "debounced"


@dataclass(frozen=True)
class Waiting:
    """Nothing decided yet; ``guidance`` (one of GUIDANCE_CODES) tells the person what helps."""

    guidance: str
    kind: str = "waiting"


@dataclass(frozen=True)
class Idle:
    """No face in front of the camera."""

    kind: str = "idle"


@dataclass(frozen=True)
class PunchFailed:
    """Recognised, but the punch could not be stored: the person must not see OK, and may try again."""

    employee_no: str
    code: str
    kind: str = "punch-failed"


@dataclass(frozen=True)
class Claimed:
    """1:1 mode: an identity claim was accepted; the next frames are compared with this person only."""

    employee_no: str
    source: str  # "keypad" or "badge"
    timeout_seconds: float
    kind: str = "claimed"


#: Why a 1:1 claim was refused (i18n keys "kiosk.claim.<code>").
CLAIM_REFUSALS = ("unknown-number", "wrong-pin", "pin-required", "not-enrolled", "locked", "face-mismatch",
                  "timeout")


@dataclass(frozen=True)
class ClaimRefused:
    """1:1 mode: the claim is refused (see CLAIM_REFUSALS) or its face did not match; no punch.

    ``employee_no`` is only given where saying it reveals nothing (the person proved the number, or the face
    was compared with it); ``retry_after_seconds`` only for "locked".
    """

    code: str
    employee_no: str | None
    retry_after_seconds: int | None = None
    kind: str = "claim-refused"


Outcome = Punched | Unknown | Spoof | PoorImage | Debounced | Waiting | Idle | PunchFailed | Claimed | ClaimRefused

#: Quality reason -> what the person can do about it.
GUIDANCE_FOR_QUALITY = {
    "no-face": "look-at-camera",
    "many-faces": "one-person",
    "too-small": "move-closer",
    "blurred": "hold-still",
    "too-dark": "more-light",
    "too-bright": "less-light",
    "turned": "look-at-camera",
    "cut-off": "center-face",
}
