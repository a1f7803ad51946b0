"""The per-frame decision: confirm one live identity over several frames before anyone is punched.

"Never a punch under the wrong name" is the first rule, so a punch needs ``confirm_frames`` consecutive
frames whose 1:N matches are all accepted *for the same person*, and ``liveness_frames`` consecutive live
frames, on one uninterrupted face. Anything else — the face leaving, jumping elsewhere in the picture,
a frame of poor quality, a frame that is not live, a match for another person or for nobody — starts the
count again. Once a face has been decided (confirmed, unknown or spoof) the decision holds until that
face goes away, so one person standing at the terminal is one punch, one "unknown", one alarm.

With an active challenge (``challenge``, see device/attendance/challenge.py) a confirmed identity is not
returned at once: the person is asked to turn their head ("turn-head"), and only a later live frame of
the same face, matched to the same person, with the yaw turned far enough, returns ``Confirmed``. A live
match for someone else or a non-live frame during the challenge cancels it (no punch; that frame starts
a fresh count); frames with no verdict on identity (poor quality, no liveness, no accepted match) only
use up the challenge's frames. Running out of frames is a ``Spoof(reason="challenge")``, held like any
spoof until the face leaves.

The machine sees plain values (``FrameEvidence``); the kiosk loop builds them from the vision pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from device.attendance.challenge import HeadTurn, TurnRule
from device.attendance.outcomes import Idle, PoorImage, Spoof, Unknown, Waiting
from device.vision.liveness_fusion import as_probability, fused_live, fused_margin
from device.vision.types import Match, QualityVerdict

Box = tuple[float, float, float, float]

#: Consecutive face boxes overlapping less than this are treated as a different face (someone else
#: stepped in between two frames), which restarts the decision.
SAME_FACE_IOU = 0.3


@dataclass(frozen=True)
class FrameEvidence:
    """What one frame showed: the face box (None = no face), its quality, liveness and 1:N match.

    ``liveness`` and ``match`` may be None when the pipeline stopped early (poor quality, not live).
    ``yaw`` is the head turn in degrees from the face's landmarks; only the active challenge reads it.
    """

    box: Box | None
    quality: QualityVerdict
    liveness: float | None = None
    match: Match | None = None
    yaw: float | None = None


@dataclass(frozen=True)
class Confirmed:
    """One identity confirmed: the weakest match and liveness scores seen over the confirming frames.

    ``claimed_by`` is set in 1:1 mode: how the identity was claimed first ("keypad" or "badge").
    """

    employee_no: str
    match_score: float
    liveness_score: float
    kind: str = "confirmed"
    claimed_by: str | None = None


Verdict = Confirmed | Unknown | Spoof | PoorImage | Waiting | Idle

_Latched = Literal["confirmed", "unknown", "spoof"]
Fusion = Literal["consecutive", "mean-logit"]


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = min(ax + aw, bx + bw) - max(ax, bx)
    h = min(ay + ah, by + bh) - max(ay, by)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (aw * ah + bw * bh - inter)


class Decision:
    """Feed it one FrameEvidence per frame with ``step``; it returns what to do about that frame."""

    def __init__(
        self,
        *,
        confirm_frames: int,
        liveness_frames: int,
        liveness_threshold: float,
        challenge: TurnRule | None = None,
        fusion: Fusion = "consecutive",
    ) -> None:
        """``fusion``: "consecutive" = each of ``liveness_frames`` consecutive frames reaches the threshold;
        "mean-logit" = the mean clipped logit margin of the latest ``liveness_frames`` frames of the face
        reaches the threshold's margin (device/vision/liveness_fusion.py), and one such window below it
        is a spoof. The head-turn challenge's own frames are still judged one by one at the threshold."""
        if confirm_frames < 1 or liveness_frames < 1:
            raise ValueError("confirm_frames and liveness_frames must be at least 1")
        self.confirm_frames = confirm_frames
        self.liveness_frames = liveness_frames
        self.liveness_threshold = liveness_threshold
        self.challenge = challenge
        self.fusion = fusion
        self.reset()

    def reset(self) -> None:
        """Forget the current face (it left, it changed, or the punch could not be stored)."""
        self._box: Box | None = None
        self._latched: _Latched | None = None
        self._latched_no: str | None = None
        self._yaw: float | None = None  # of the latest frame: where a head-turn challenge starts from
        self._looked_again = False  # a look-alike was already asked for a second look
        self._cancel_challenge()
        self._clear_counts()

    def _cancel_challenge(self) -> None:
        self._pending: Confirmed | None = None  # identity confirmed, waiting for the head turn
        self._turn: HeadTurn | None = None

    def _clear_counts(self) -> None:
        self._candidate: str | None = None
        self._agreeing = 0  # consecutive live frames matched (accepted) to _candidate
        self._unknown = 0  # consecutive live frames matched to nobody
        self._lookalike = 0  # of those, consecutive look-alikes (threshold reached, margin not)
        self._live = 0  # consecutive live frames
        self._not_live = 0  # consecutive frames below the liveness threshold
        self._scores: list[float] = []
        self._liveness: list[float] = []
        self._window: list[float] = []  # "mean-logit": the latest liveness_frames scores of this face
        self._spoof_min = 1.0

    def step(self, frame: FrameEvidence) -> Verdict:
        if frame.box is None:
            pending = self._pending
            self.reset()
            if pending is not None:
                # They left before turning their head: the challenge failed, and that is counted and shown.
                return Spoof(pending.liveness_score, reason="challenge")
            return Idle()
        if self._box is not None and iou(self._box, frame.box) < SAME_FACE_IOU:
            self.reset()  # a different face in a different place: start again
        self._box = frame.box
        self._yaw = frame.yaw
        if self._pending is not None:
            verdict = self._challenge_frame(frame)
            if verdict is not None:
                return verdict
        if not frame.quality.ok:
            # Poor frames break the run of agreeing frames but do not end a decided face.
            self._clear_counts()
            reason = frame.quality.reason or "no-face"
            return PoorImage(reason)
        if frame.liveness is None:
            # The pipeline gave no liveness for this frame: no evidence either way, so nothing counts.
            self._clear_counts()
            return Waiting("hold-still")
        if not self._live_frame(frame.liveness):
            return self._not_live_frame(frame.liveness)
        self._not_live = 0
        self._spoof_min = 1.0
        if self._latched == "spoof":
            # Once a face was judged a spoof it stays refused until it leaves the camera: an attacker
            # must not get a fresh try by tilting the photo until some frames pass.
            return Waiting("step-away")
        self._live += 1
        self._liveness.append(frame.liveness)
        del self._liveness[: -self.liveness_frames]  # only the latest run matters; keeps the list bounded
        match = frame.match
        if match is None:
            return Waiting("hold-still")
        if match.accepted and match.employee_no is not None:
            return self._accepted(match)
        return self._unmatched(match)

    def _live_frame(self, liveness: float) -> bool:
        """Is this frame live? "mean-logit": not until the window is full, then the window's fused verdict
        (a frame before that counts towards the run like a live one: no decision can be made on it alone)."""
        if self.fusion == "consecutive":
            return liveness >= self.liveness_threshold
        self._window.append(liveness)
        del self._window[: -self.liveness_frames]
        return len(self._window) < self.liveness_frames or fused_live(self._window, self.liveness_threshold)

    def _liveness_score(self) -> float:
        """The punch's liveness figure: the weakest of the run's frames, or the fused window's probability."""
        if self.fusion == "consecutive":
            return min(self._liveness[-self.liveness_frames :])
        return as_probability(fused_margin(self._window))

    def _not_live_frame(self, liveness: float) -> Verdict:
        if self.fusion == "mean-logit" and self._latched != "spoof":
            # One full window below the threshold is the attempt's verdict: the same evidence as L frames.
            score = as_probability(fused_margin(self._window))
            self._clear_counts()
            self._latched = "spoof"
            self._latched_no = None
            return Spoof(score)
        self._live = 0
        self._agreeing = 0
        self._unknown = 0
        self._candidate = None
        self._scores.clear()
        self._liveness.clear()
        if self._latched == "spoof":
            return Waiting("step-away")
        self._not_live += 1
        self._spoof_min = min(self._spoof_min, liveness)
        if self._not_live >= self.liveness_frames:
            self._latched = "spoof"
            self._latched_no = None
            return Spoof(self._spoof_min)
        return Waiting("hold-still")

    def _accepted(self, match: Match) -> Verdict:
        assert match.employee_no is not None
        self._unknown = 0
        if self._latched == "confirmed" and match.employee_no == self._latched_no:
            return Waiting("step-away")
        if match.employee_no != self._candidate:
            # Matches disagree: whoever it is, the run starts again from this frame.
            self._candidate = match.employee_no
            self._agreeing = 0
            self._scores.clear()
        self._agreeing += 1
        self._scores.append(match.score)
        del self._scores[: -self.confirm_frames]
        if self._agreeing >= self.confirm_frames and self._live >= self.liveness_frames:
            confirmed = Confirmed(
                match.employee_no,
                min(self._scores[-self.confirm_frames :]),
                self._liveness_score(),
            )
            self._clear_counts()
            if self.challenge is not None:
                self._pending = confirmed
                self._turn = HeadTurn(self.challenge, self._yaw)
                return Waiting("turn-head")
            return self._confirm(confirmed)
        return Waiting("hold-still")

    def _confirm(self, confirmed: Confirmed) -> Confirmed:
        self._cancel_challenge()
        self._latched = "confirmed"
        self._latched_no = confirmed.employee_no
        return confirmed

    def _challenge_frame(self, frame: FrameEvidence) -> Verdict | None:
        """One frame while the head turn is awaited; None = the challenge was cancelled, decide it afresh."""
        assert self._pending is not None and self._turn is not None
        match = frame.match
        live = frame.liveness is not None and frame.liveness >= self.liveness_threshold
        if frame.quality.ok and frame.liveness is not None and not live:
            self._cancel_challenge()  # not live mid-challenge: whatever passed before, start again
            return None
        if live and frame.quality.ok and match is not None and match.accepted and match.employee_no is not None:
            if match.employee_no != self._pending.employee_no:
                self._cancel_challenge()  # someone else's face: no punch for anyone from this challenge
                return None
            state = self._turn.step(frame.yaw)
        else:
            # No verdict on identity from this frame (poor, no liveness, no accepted match): it cannot pass
            # the challenge, but it uses up one of its frames.
            state = self._turn.step(None)
        if state == "passed":
            return self._confirm(self._pending)
        if state == "timed-out":
            score = self._pending.liveness_score
            self._cancel_challenge()
            self._clear_counts()
            self._latched = "spoof"
            self._latched_no = None
            return Spoof(score, reason="challenge")
        if not frame.quality.ok:
            return PoorImage(frame.quality.reason or "no-face")
        return Waiting("turn-head")

    def _unmatched(self, match: Match) -> Verdict:
        self._candidate = None
        self._agreeing = 0
        self._scores.clear()
        if self._latched is not None:
            # Already decided for this face: a person who just punched and turns away (weaker matches)
            # must not be told "unknown"; a new person is a new face (the box jumps or the face leaves).
            return Waiting("step-away")
        self._unknown += 1
        self._lookalike = self._lookalike + 1 if match.lookalike else 0
        if self._unknown >= self.confirm_frames and self._live >= self.liveness_frames:
            margin = self._lookalike >= self.confirm_frames
            if margin and not self._looked_again:
                # A look-alike: the best person reached the threshold but someone else scored within the
                # margin. Ask for a second look (the same number of frames again) before giving up.
                self._looked_again = True
                self._unknown = 0
                return Waiting("look-again")
            self._latched = "unknown"
            self._latched_no = None
            self._unknown = 0
            # "margin": the screen asks for the employee's badge or number instead of a bare "unknown".
            return Unknown(reason="margin" if margin else "no-match")
        return Waiting("look-again" if self._looked_again else "hold-still")

