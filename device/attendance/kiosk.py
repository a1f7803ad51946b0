"""The kiosk loop: camera frame -> pipeline -> gallery -> decision -> rules -> durable punch -> feedback.

``Kiosk.process`` handles one frame and reads top to bottom; ``Kiosk.run`` repeats it until a stop event,
a frame budget, or (for replays) the end of the recording. The punch and its outbox row are written in
one transaction (device/store/punches.record_punch) *before* the screen says OK and the door opens.

In 1:1 mode (``claims`` given) nobody is looked for until someone claims an identity (``claim`` from the
kiosk page's keypad, or a badge read by ``badge``); the following frames are then verified against that
person's templates only, through the same decision (liveness, K agreeing frames), rules and transaction.
A face that does not match, a spoof or the claim's timeout ends the claim without a punch.

In 1:N mode a ``fallback`` desk (claim.lookalike_fallback) lets a person the terminal cannot tell from a
look-alike (``Unknown(reason="margin")``, whose banner asks for the number or badge) claim who they are:
while that claim is pending the frames are verified 1:1 exactly as above; otherwise nothing changes.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from core.clock import Clock, to_ms
from core.errors import InputError, StoreError
from core.types import Image, Vector
from device.attendance import history
from device.attendance.claims import Claim, ClaimDesk, ClaimSource, Expired
from device.attendance.counters import KioskCounters
from device.attendance.decision import Confirmed, Decision, FrameEvidence, Verdict
from device.attendance.outcomes import (
    ClaimRefused,
    Debounced,
    Idle,
    Outcome,
    PoorImage,
    Punched,
    PunchFailed,
    Spoof,
    Unknown,
    Waiting,
)
from device.attendance.ports import Analyser, DirectionSource, FeedbackPort, GalleryView
from device.attendance.rules import Accept, Bounce, PunchRules
from device.attendance.screen import KioskScreen
from device.hardware.badge import BadgeReader
from device.hardware.camera import Camera
from device.store import Store
from device.store.punches import NewPunch, Punch, record_punch
from device.store.snapshots import SnapshotStore
from device.vision.quality import estimate_yaw
from device.vision.types import Match

log = logging.getLogger(__name__)


class Kiosk:
    def __init__(
        self,
        *,
        device_id: str,
        camera: Camera,
        pipeline: Analyser,
        gallery: GalleryView,
        decision: Decision,
        rules: PunchRules,
        store: Store,
        clock: Clock,
        feedback: FeedbackPort,
        screen: KioskScreen,
        models: dict[str, str],
        zone: ZoneInfo,
        directions: DirectionSource | None = None,
        idle_wait_seconds: float = 0.02,
        snapshots: SnapshotStore | None = None,
        claims: ClaimDesk | None = None,
        badge: BadgeReader | None = None,
        fallback: ClaimDesk | None = None,
    ) -> None:
        self.device_id = device_id
        self.camera = camera
        self.pipeline = pipeline
        self.gallery = gallery
        self.decision = decision
        self.rules = rules
        self.store = store
        self.clock = clock
        self.feedback = feedback
        self.screen = screen
        self.models = dict(models)
        self.zone = zone
        self.directions = directions
        self.idle_wait_seconds = idle_wait_seconds
        self.claims = claims  # None = 1:N
        self.badge = badge
        self.fallback = fallback if claims is None else None  # 1:N only: the look-alike's way forward
        self._claim_serial = 0  # of the claim the decision is currently deciding (1:1)
        self._counters = KioskCounters()
        self._lock = threading.Lock()
        self._last: Outcome | None = None
        self._awaiting_button: Confirmed | None = None
        self._tap: list[Image] | None = None  # frames handed to an enrolment instead of the decision
        self._tap_wanted = 0
        self._tap_done = threading.Event()
        self.snapshots = snapshots  # None unless attendance.snapshots is on
        self._deciding: tuple[Image, tuple[float, float, float, float] | None] | None = None
        #: Told each frame's outcome and the seconds it took to decide (the terminal's /metrics histogram).
        self.on_decision: Callable[[Outcome, float], None] | None = None

    def process(self, image: Image) -> Outcome:
        """One frame, start to finish. Returns what the person is shown."""
        self.screen.offer_frame(image)
        claim: Claim | None = None
        if self.claims is not None:
            pending = self._pending_claim(self.claims)
            if not isinstance(pending, Claim):  # no claim (nobody is looked for) or it just timed out
                return self._shown(pending)
            claim = pending
        elif self.fallback is not None and (fallback := self._fallback_claim(self.fallback)) is not None:
            if not isinstance(fallback, Claim):
                return self._shown(fallback)
            claim = fallback
        analysis = self.pipeline.analyse(image)
        match = None
        if analysis.embedding is not None:
            # 1:1 compares with the claimed person only: nobody else can be matched, let alone punched.
            match = (self.gallery.search(analysis.embedding) if claim is None
                     else self._verify(claim, analysis.embedding))
        face = analysis.face
        yaw = estimate_yaw(face) if face is not None else None  # read only by the head-turn challenge
        if self.snapshots is not None:  # a punch snapshot is cut from the frame that decided it
            self._deciding = (image, face.box if face else None)
        evidence = FrameEvidence(face.box if face else None, analysis.quality, analysis.liveness, match, yaw)
        verdict = self.decision.step(evidence)
        outcome = self._act(verdict) if claim is None else self._act_on_claim(verdict, claim)
        return self._shown(outcome)

    def _shown(self, outcome: Outcome) -> Outcome:
        self.screen.show(outcome)
        self._count(outcome)
        return outcome

    # -- 1:1 mode ------------------------------------------------------------------------------------------
    def claim(self, typed: str, *, source: ClaimSource = "keypad", pin: str | None = None) -> Outcome:
        """An identity claim (the kiosk page's keypad calls this from the panel's thread; badges from the loop)."""
        desk = self.claims or self.fallback
        if desk is None:
            raise InputError("This terminal recognises faces without an employee number (1:N mode).",
                             "Set recognition.mode = '1:1' or claim.lookalike_fallback = true to use the keypad.")
        outcome = desk.submit(typed, source=source, pin=pin)
        if isinstance(outcome, ClaimRefused) and outcome.code != "pin-required":
            self.feedback.rejected()
        if not (isinstance(outcome, ClaimRefused) and outcome.code == "pin-required"):
            # The page asks for the PIN itself; everything else is shown and counted (not as a frame).
            self.screen.show(outcome)
            self._count(outcome, frame=False)
        return outcome

    def _pending_claim(self, desk: ClaimDesk) -> Claim | Outcome:
        if self.badge is not None:
            badge = self.badge.poll()
            if badge is not None:
                self.claim(badge, source="badge")
        pending = desk.current()
        if isinstance(pending, Expired):
            self.decision.reset()
            return ClaimRefused("timeout", pending.claim.employee_no)
        if pending is None:
            self._awaiting_button = None
            return Waiting(desk.prompt)
        if pending.serial != self._claim_serial:
            # A new claim: whatever the decision saw before (another claim, a punch just made) is forgotten.
            self._claim_serial = pending.serial
            self._awaiting_button = None
            self.decision.reset()
        return pending

    def _verify(self, claim: Claim, embedding: Vector) -> Match:
        """1:1 against the claimed person. A look-alike's claim (1:N fallback) passes without the margin when
        the claimed person is still the best match above the threshold: the margin asked "which of these
        two?", and the typed number (and PIN) answers it; whoever scores higher than the claimed person
        still cannot be punched under the claim."""
        match = self.gallery.verify(claim.employee_no, embedding)
        if self.fallback is not None and match.lookalike and match.score > match.runner_up:
            return dataclasses.replace(match, accepted=True, lookalike=False)
        return match

    def _fallback_claim(self, desk: ClaimDesk) -> Claim | Outcome | None:
        """1:N: the pending look-alike claim (verified 1:1), its timeout, or None (search everyone as usual)."""
        pending = desk.current()
        if isinstance(pending, Expired):
            self.decision.reset()
            return ClaimRefused("timeout", pending.claim.employee_no)
        if pending is not None and pending.serial != self._claim_serial:
            # The face was latched "unknown" (the look-alike): the claim starts its decision afresh.
            self._claim_serial = pending.serial
            self._awaiting_button = None
            self.decision.reset()
        return pending

    def _act_on_claim(self, verdict: Verdict, claim: Claim) -> Outcome:
        desk = self.claims or self.fallback
        assert desk is not None
        if isinstance(verdict, Unknown):  # live face, confirmed over K frames not to be the claimed person
            desk.finish(claim, failed=True)
            self.feedback.rejected()
            return ClaimRefused("face-mismatch", claim.employee_no)
        if isinstance(verdict, Confirmed) and verdict.employee_no != claim.employee_no:
            # Cannot happen with Gallery.verify (it only scores the claimed person); never punch if it does.
            desk.finish(claim, failed=True)
            self.decision.reset()
            self.feedback.rejected()
            return ClaimRefused("face-mismatch", claim.employee_no)
        if isinstance(verdict, Confirmed):
            verdict = dataclasses.replace(verdict, claimed_by=claim.source)
        outcome = self._act(verdict)
        if isinstance(outcome, Spoof):
            desk.finish(claim, failed=True)
        elif isinstance(outcome, Punched | Debounced | PunchFailed):
            desk.finish(claim, failed=False)
        elif isinstance(outcome, Idle):
            return Waiting("look-at-camera")  # the claim waits for a face
        return outcome

    def _act(self, verdict: Verdict) -> Outcome:
        if isinstance(verdict, Confirmed):
            self._awaiting_button = None
            return self._punch(verdict)
        if self._awaiting_button is not None:
            # Recognised in "buttons" mode: while that same face is still decided ("step-away") punch as
            # soon as IN or OUT is pressed; a poor frame just waits; anything else means they left.
            if verdict == Waiting("step-away"):
                return self._punch(self._awaiting_button)
            if not isinstance(verdict, PoorImage):
                self._awaiting_button = None
        if isinstance(verdict, Unknown | Spoof):
            self.feedback.rejected()
        return verdict

    def _punch(self, who: Confirmed) -> Outcome:
        now = self.clock.now()
        day = self.rules.work_day(now)
        button = self.directions.pending_direction() if self.directions is not None else None
        result = self.rules.decide(
            now,
            latest=history.latest_punch(self.store, who.employee_no),
            today=history.last_direction_on(self.store, who.employee_no, day),
            button=button,
        )
        name = history.employee_name(self.store, who.employee_no)
        if isinstance(result, Bounce):
            self._awaiting_button = None
            previous = result.previous
            at = datetime.fromtimestamp(previous.device_time_ms / 1000, UTC).astimezone(self.zone)
            return Debounced(name, who.employee_no, previous.direction, at)
        if not isinstance(result, Accept):  # NeedDirection: wait for the IN/OUT button
            self._awaiting_button = who
            return Waiting("press-in-out")
        self._awaiting_button = None
        local = now.astimezone(self.zone)
        punch = NewPunch(
            employee_no=who.employee_no,
            direction=result.direction,
            work_day=result.work_day,
            device_time=local.isoformat(),
            device_time_ms=to_ms(now),
            monotonic_ns=self.clock.monotonic_ns(),
            clock_synced=self.clock.synced(),
            source=f"{who.claimed_by}+{result.source}" if who.claimed_by else result.source,  # badge+face
            match_score=round(who.match_score, 4),
            liveness_score=round(who.liveness_score, 4),
            models=self.models,
        )
        try:
            stored = record_punch(self.store, punch, self.device_id)
        except (StoreError, sqlite3.Error) as exc:
            # Not stored = not punched (the transaction rolled back): the person sees an error and may
            # simply try again; the loop keeps running for everyone else.
            log.error("punch not stored: %s", exc, extra={"employee_no": who.employee_no})
            self.decision.reset()
            self.feedback.rejected()
            return PunchFailed(who.employee_no, "store")
        self.feedback.accepted()
        self._keep_snapshot(stored)
        log.info(
            "punch",
            extra={"employee_no": who.employee_no, "direction": result.direction, "score": punch.match_score},
        )
        return Punched(name, who.employee_no, result.direction, local, who.match_score, who.liveness_score)

    # -- punch snapshots (attendance.snapshots) ---------------------------------------------------------
    def _keep_snapshot(self, punch: Punch) -> None:
        """Keep the deciding frame's face crop; the punch stands whether or not this succeeds."""
        if self.snapshots is None or self._deciding is None:
            return
        image, box = self._deciding
        try:
            self.snapshots.keep(punch, image, box)
        except (StoreError, InputError, OSError, sqlite3.Error) as exc:
            # The error's type only: a snapshot (or its path) never reaches the log.
            log.error("punch snapshot not stored: %s", type(exc).__name__, extra={"employee_no": punch.employee_no})

    def _count(self, outcome: Outcome, *, frame: bool = True) -> None:
        with self._lock:
            self._counters.count(outcome, self._last, frame=frame)
            self._last = outcome

    def counters(self) -> KioskCounters:
        """A consistent copy of the counters (safe to read from another thread)."""
        with self._lock:
            return self._counters.copy()

    def borrow_frames(self, count: int, *, timeout_seconds: float) -> list[Image]:
        """Take the next ``count`` camera frames from the running loop (enrolment at the terminal).

        While frames are borrowed nobody is punched; the loop resumes on its own when enough frames were
        taken or ``timeout_seconds`` passed. Returns the frames collected (possibly fewer).
        """
        with self._lock:
            if self._tap is not None:
                raise InputError("The kiosk camera is already taking enrolment frames.", "Wait for it to finish.")
            self._tap, self._tap_wanted = [], count
            self._tap_done.clear()
        self._tap_done.wait(timeout_seconds)
        with self._lock:
            frames, self._tap = self._tap or [], None
        self.decision.reset()
        return frames

    def _give_to_tap(self, image: Image) -> bool:
        with self._lock:
            if self._tap is None:
                return False
            if len(self._tap) < self._tap_wanted:
                self._tap.append(image)
            if len(self._tap) >= self._tap_wanted:
                self._tap_done.set()
            return True

    def run(
        self,
        *,
        max_frames: int | None = None,
        stop_event: threading.Event | None = None,
        stop_at_end: bool = False,
    ) -> KioskCounters:
        """Process frames until ``stop_event`` is set or ``max_frames`` were processed.

        A camera with no frame now (device lost, replay ended) is asked again after a short wait; with
        ``stop_at_end`` (replays in tests and benchmarks) the first missing frame ends the run.
        """
        stop = stop_event or threading.Event()
        processed = 0
        self.screen.set_status("running")
        try:
            while not stop.is_set() and (max_frames is None or processed < max_frames):
                frame = self.camera.read()
                if frame is None:
                    if stop_at_end:
                        break
                    stop.wait(self.idle_wait_seconds)
                    continue
                if not self._give_to_tap(frame.image):
                    started_ns = self.clock.monotonic_ns()
                    outcome = self.process(frame.image)
                    if self.on_decision is not None:
                        self.on_decision(outcome, (self.clock.monotonic_ns() - started_ns) / 1e9)
                    if isinstance(outcome, Punched):
                        # Which frame decided it: lets a replay be checked against who was really shown.
                        log.info("punch frame", extra={"frame": frame.index, "employee_no": outcome.employee_no})
                    if isinstance(outcome, Punched | Debounced | Unknown | Spoof | PunchFailed):
                        # Every decision and its frame: the demo counts outcomes per appearance from these.
                        log.info("decision frame", extra={
                            "frame": frame.index, "kind": outcome.kind, "reason": getattr(outcome, "reason", None),
                            "employee_no": getattr(outcome, "employee_no", None)})
                processed += 1
        finally:
            self.screen.set_status("stopped")
        return self.counters()
