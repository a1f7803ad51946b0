"""The booth's interview, step by step: check-in -> notice -> consent (or a clean exit) -> questions -> result.

Nothing is written before consent: a check-in or a refusal leaves no row. Per question: preparation time,
then the answer (recorded, or typed), its transcript shown, a re-record within the bank's policy, next.
Every answer attempt is durable as it is recorded (device.booth.recorder); ``recover`` at start resumes an
interrupted session at the question it was on, or closes it when it is too old. ``finish`` scores the kept
answers and writes the ``interview-result`` in the transaction that completes the session.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.clock import Clock, to_ms
from core.errors import EdgehrError
from device.booth.identity import IdentityCheck, IdentityRun, identity_flags
from device.booth.idle import ABANDONED_FLAG, IdleTimer
from device.booth.integrity import FrameSampler, IntegrityWatch
from device.booth.parts import BankShelf, EngineCache, Microphones, preload_scorer
from device.booth.recorder import Recorder, Take
from device.booth.result import kept_answers, result_body, score_session
from device.config.booth import BoothSection
from device.hardware.camera_base import Camera
from device.interview.bank import Bank, Question
from device.store import Store
from device.store import booth_sessions as sessions
from device.store import candidates as booth_candidates

log = logging.getLogger(__name__)

#: The notice's text version, stored with each consent (bump it whenever the notice text changes).
NOTICE_VERSION = "booth-notice-2026-12"
#: Seconds the thank-you screen stays before the booth is ready for the next candidate.
DONE_SECONDS = 20.0


class BoothRefused(EdgehrError):
    """A step the booth cannot take now; ``code`` names the i18n message (booth.error.<code>)."""

    code = "booth-refused"


@dataclass(frozen=True)
class Pending:
    """A checked-in candidate who has not consented yet (held in memory only)."""

    candidate_id: str
    name: str
    role_id: str
    bank_id: str
    walk_in: bool


class Booth:
    def __init__(self, *, store: Store, clock: Clock, shelf: BankShelf, settings: BoothSection,
                 engines: EngineCache, microphones: Microphones, audio_dir: Path, frames_per_chunk: int = 1600,
                 camera: Camera | None = None, watch_factory: Any = None,
                 identity: IdentityCheck | None = None) -> None:
        self.store, self.clock, self.shelf, self.settings = store, clock, shelf, settings
        self.engines, self.microphones, self.audio_dir = engines, microphones, audio_dir
        self.frames_per_chunk = frames_per_chunk
        self.camera, self.watch_factory, self.identity = camera, watch_factory, identity
        self.identity_run: IdentityRun | None = None  # started after consent only (device.booth.identity)
        self.lock = threading.RLock()
        self.phase = "welcome"  # welcome | notice | demographics | resume | question | finishing | done
        self.sub = ""  # per question: prepare | recording | review | refused | typing
        self.pending: Pending | None = None
        self.session: sessions.SessionRow | None = None
        self.bank: Bank | None = None
        self.index = 0
        self.deadline_ns: int | None = None
        self.take: Take | None = None
        self.recorder: Recorder | None = None
        self.sampler: FrameSampler | None = None
        self.watch: IntegrityWatch | None = None
        self.flags: list[str] = []
        self.result_ref = ""
        self._finisher: threading.Thread | None = None
        self._helpers: list[threading.Thread] = []
        self.idle = IdleTimer(clock, settings.idle_timeout_seconds)

    # -- check-in, notice, consent ---------------------------------------------------------------------
    def check_in(self, code: str) -> None:
        code = code.strip()
        with self.lock:
            self._require("welcome")
            listed = {c.candidate_id: c for c in booth_candidates.current(self.store, self._now_ms())}
            found = listed.get(code)
            if found is None:
                raise BoothRefused("no candidate with this code is expected here now", code="unknown-code")
            done = [s for s in sessions.open_sessions(self.store) if s.candidate_id == code]
            if done:
                self._resume_session(done[0])
                return
            if sessions.has_completed(self.store, code):
                raise BoothRefused("this candidate's interview is already complete", code="already-done")
            if self.shelf.get(found.question_bank_id) is None:
                raise BoothRefused(f"question bank {found.question_bank_id} is not on this booth", code="no-bank")
            self.pending = Pending(found.candidate_id, found.name, found.role_id, found.question_bank_id, False)
            self.phase = "notice"

    def walk_in(self, name: str) -> None:
        name = " ".join(name.split())[:128]
        with self.lock:
            self._require("welcome")
            bank = self.shelf.get(self.settings.walk_in_bank)
            if not self.settings.walk_in or bank is None:
                raise BoothRefused("walk-in registration is off at this booth", code="no-walk-in")
            if not name:
                raise BoothRefused("a name is needed", code="name-needed")
            self.pending = Pending(f"walkin-{uuid.uuid4().hex[:16]}", name, bank.role_id, bank.bank_id, True)
            self.phase = "notice"

    def decline(self) -> None:
        """The candidate leaves without consenting: nothing was written and nothing is."""
        with self.lock:
            self._require("notice")
            self.pending = None
            self.phase = "welcome"

    def consent(self, language: str) -> None:
        with self.lock:
            self._require("notice")
            assert self.pending is not None
            p = self.pending
            bank = self.shelf.get(p.bank_id)
            assert bank is not None
            session_id = f"s-{uuid.uuid4().hex}"
            new = sessions.NewSession(session_id, p.candidate_id, p.name, p.role_id, bank.bank_id, bank.lang,
                                      p.walk_in, f"consent-{session_id[2:]}", NOTICE_VERSION, language,
                                      self._now_ms())
            sessions.open_session(self.store, new, at=self.clock.now())
            self.pending = None
            session = sessions.get(self.store, session_id)
            if self.settings.self_report:  # the optional self-report comes first (device.booth.demographics)
                self.session, self.bank, self.phase, self.sub = session, bank, "demographics", ""
            else:
                self._enter(session, bank, 0)

    def start_questions(self) -> None:
        """After the self-report (answered or skipped): the first question."""
        with self.lock:
            self._require("demographics")
            assert self.bank is not None
            self._enter(self.session, self.bank, 0)

    def _enter(self, session: sessions.SessionRow | None, bank: Bank, index: int) -> None:
        assert session is not None
        self.session, self.bank, self.phase = session, bank, "question"
        self.flags = []
        self.watch = self.watch_factory(session.integrity) if self.watch_factory is not None else None
        self.identity_run = self.identity.start(session.candidate_id) if self.identity is not None else None
        self._helpers = [t for t in self._helpers if t.is_alive()]
        self.recorder = None  # the last session's recorder holds its recogniser, which the cache may drop now
        self._helpers += [self.engines.preload(bank.lang), preload_scorer(bank)]
        self._ask(index)

    def _ask(self, index: int) -> None:
        assert self.bank is not None and self.session is not None
        self.index, self.take = index, None
        sessions.set_progress(self.store, self.session.session_id, index, self._now_ms(), self._counts())
        if index >= len(self.bank.questions):
            self._finish("finished")
            return
        self.sub = "prepare"
        self.deadline_ns = self.clock.monotonic_ns() + self.question.prepare_seconds * 1_000_000_000

    @property
    def question(self) -> Question:
        assert self.bank is not None
        return self.bank.questions[self.index]

    # -- answers ---------------------------------------------------------------------------------------
    def start_answer(self) -> None:
        with self.lock:
            self._require("question")
            if self.sub == "prepare":
                self._record()
            elif self.sub in ("review", "refused"):
                if self.sub == "review" and self.retakes_left() <= 0:
                    raise BoothRefused("no re-record is left for this question", code="no-retake")
                self._record()
            else:
                raise BoothRefused("an answer is already being taken", code="busy")

    def _record(self) -> None:
        assert self.session is not None
        q = self.question
        folder = self.audio_dir / self.session.session_id
        folder.mkdir(parents=True, exist_ok=True)
        answer_id, _, path = sessions.begin_answer(self.store, self.session.session_id, q.id, typed=False,
                                                   audio_folder=folder, at_ms=self._now_ms())
        assert path is not None
        take = Take(answer_id, path, self.clock.monotonic_ns(), float(q.answer_seconds))
        self.take, self.sub = take, "recording"
        self.deadline_ns = take.started_ns + q.answer_seconds * 1_000_000_000
        try:
            microphone, rate = self.microphones.open()
            engine = self.engines.get(self.bank.lang if self.bank else "en")
        except EdgehrError as exc:
            log.warning("answer %s cannot be recorded: %s", answer_id, exc)
            take.status, take.error_code, take.finished = "refused", exc.code, True
            sessions.finish_answer(self.store, answer_id, status="refused", transcript="", duration_ms=0,
                                   at_ms=self._now_ms(), error_code=exc.code)
            self.sub = "refused"
            return
        self.recorder = Recorder(take=take, microphone=microphone, engine=engine, store=self.store, clock=self.clock,
                                 source_rate=rate, frames_per_chunk=self.frames_per_chunk, on_end=self._ended)
        if self.watch is not None and self.camera is not None:
            self.sampler = FrameSampler(self.camera, self.watch, self.settings.integrity_every_seconds)
            self.sampler.start()
        self.recorder.start()

    def _ended(self, take: Take) -> None:
        sampler, self.sampler = self.sampler, None
        if sampler is not None:
            sampler.stop()
        with self.lock:
            if take.status == "done":
                self.idle.touch()  # the candidate spoke: that is input
            if self.take is take:
                self.sub = "review" if take.status == "done" else "refused"
                self.deadline_ns = None

    def stop_answer(self) -> None:
        with self.lock:
            if self.sub == "recording" and self.recorder is not None:
                self.recorder.stop()

    def type_instead(self) -> None:
        with self.lock:
            self._require("question")
            if self.sub not in ("prepare", "refused", "review"):
                raise BoothRefused("finish the answer being recorded first", code="busy")
            self.sub = "typing"
            self.deadline_ns = self.clock.monotonic_ns() + self.question.answer_seconds * 1_000_000_000

    def submit_typed(self, text: str) -> None:
        text = text.strip()[:20000]
        with self.lock:
            self._require("question")
            if self.sub != "typing":
                raise BoothRefused("choose to type the answer first", code="busy")
            assert self.session is not None
            answer_id, _, _ = sessions.begin_answer(self.store, self.session.session_id, self.question.id,
                                                    typed=True, audio_folder=None, at_ms=self._now_ms())
            sessions.finish_answer(self.store, answer_id, status="done", transcript=text, duration_ms=0,
                                   at_ms=self._now_ms())
            self.take = Take(answer_id, Path(), self.clock.monotonic_ns(), 0.0, partial=text, finished=True,
                             status="done", transcript=text)
            self.sub, self.deadline_ns = "review", None

    def retakes_left(self) -> int:
        if self.session is None or self.bank is None or self.phase != "question":
            return 0
        done = [a for a in sessions.answers(self.store, self.session.session_id)
                if a.question_id == self.question.id and a.status == "done"]
        return max(0, 1 + self.question.retakes.allowed - len(done))

    def next_question(self) -> None:
        with self.lock:
            self._require("question")
            if self.sub not in ("review", "refused"):
                raise BoothRefused("answer the question first", code="busy")
            self._ask(self.index + 1)

    def end_session(self) -> None:
        """The candidate stops early (or ends an interrupted session): what was answered is sent."""
        with self.lock:
            if self.phase not in ("question", "resume") or self.sub == "recording":
                raise BoothRefused("nothing to end now", code="busy")
            self._finish("ended-early")

    def abandon(self) -> None:
        """No input for a while (device.booth.idle): close and send what was answered; before consent: nothing."""
        with self.lock:
            if self.phase == "notice":
                self.pending, self.phase = None, "welcome"
                return
            before = {"resume": ["session-interrupted"], "demographics": []}.get(self.phase, self.flags)
            self.flags = [*before, ABANDONED_FLAG]
            self._finish("abandoned")

    # -- interrupted sessions --------------------------------------------------------------------------
    def recover(self) -> None:
        """At start: drop answers cut off mid-recording; offer the newest recent session, close the rest."""
        now = self._now_ms()
        for i, session in enumerate(sessions.open_sessions(self.store)):
            for path in sessions.lose_recordings(self.store, session.session_id, now):
                Path(path).unlink(missing_ok=True)
            recent = now - session.updated_at_ms <= self.settings.resume_minutes * 60_000
            bank = self.shelf.get(session.bank_id)
            if i == 0 and recent and bank is not None:
                with self.lock:
                    self._resume_session(session)
            else:
                self._close_now(session, bank)

    def _resume_session(self, session: sessions.SessionRow) -> None:
        self.session, self.bank = session, self.shelf.get(session.bank_id)
        self.index, self.phase, self.sub = session.question_index, "resume", ""

    def resume(self) -> None:
        with self.lock:
            self._require("resume")
            assert self.session is not None and self.bank is not None
            self._enter(self.session, self.bank, self.session.question_index)
            self.flags = ["session-interrupted"]

    def _close_now(self, session: sessions.SessionRow, bank: Bank | None) -> None:
        if bank is None:
            log.error("session %s names bank %s, which is not on this booth: left open", session.session_id,
                      session.bank_id)
            return
        self.session, self.bank, self.flags = session, bank, ["session-interrupted"]
        self._score_and_write("interrupted")
        self.session = self.bank = None

    # -- finishing ------------------------------------------------------------------------------------
    def _finish(self, reason: str) -> None:
        self.phase, self.sub, self.deadline_ns = "finishing", "", None
        self._finisher = threading.Thread(target=self._finish_thread, args=(reason,), name="finish", daemon=True)
        self._finisher.start()

    def _finish_thread(self, reason: str) -> None:
        try:
            self._score_and_write(reason)
        except Exception:  # the session stays open and is closed at the next start
            log.exception("session could not be finished")
        with self.lock:
            self.phase = "done"  # nobody reads a thank-you after an abandonment: straight back to check-in
            self.deadline_ns = self.clock.monotonic_ns() + int(DONE_SECONDS * 1e9 if reason != "abandoned" else 0)

    def _score_and_write(self, reason: str) -> None:
        session, bank = self.session, self.bank
        assert session is not None and bank is not None
        kept = kept_answers(bank, sessions.answers(self.store, session.session_id))
        flags = list(dict.fromkeys([*self.flags, *(self.watch.flags() if self.watch else [])]))
        flags += identity_flags(self)  # and forgets this session's check
        body = result_body(bank, session, kept, score_session(bank, kept), completed_ms=self._now_ms(),
                           clock_synced=self.clock.synced(), integrity_flags=flags)
        seq = sessions.complete(self.store, session.session_id, body, reason=reason, at=self.clock.now())
        self.result_ref = session.session_id
        log.info("interview finished", extra={"session_id": session.session_id, "seq": seq, "reason": reason,
                                              "answers": len(kept)})

    def wait_finished(self, timeout: float = 60.0) -> None:
        if self._finisher is not None:
            self._finisher.join(timeout)

    # -- time ------------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Deadlines: preparation over -> recording starts; the thank-you screen ends -> next candidate."""
        with self.lock:
            now = self.clock.monotonic_ns()
            if self.idle.expired(self.phase, self.sub, self.deadline_ns):
                self.abandon()
                return
            if self.deadline_ns is None or now < self.deadline_ns:
                return
            if self.phase == "question" and self.sub == "prepare":
                self._record()
            elif self.phase == "done":
                self.phase, self.session, self.bank, self.take, self.deadline_ns = "welcome", None, None, None, None

    def remaining_seconds(self) -> float | None:
        if self.deadline_ns is None:
            return None
        return max(0.0, (self.deadline_ns - self.clock.monotonic_ns()) / 1e9)

    # -- helpers ---------------------------------------------------------------------------------------
    def _require(self, phase: str) -> None:
        if self.phase != phase:
            raise BoothRefused(f"not possible now (the booth is at {self.phase})", code="wrong-step")
        self.idle.touch()  # every step the candidate takes passes here: it is input

    def _counts(self) -> dict[str, int] | None:
        return dict(self.watch.counts) if self.watch is not None else None

    def _now_ms(self) -> int:
        return to_ms(self.clock.now())

    def close(self) -> None:
        with self.lock:
            recorder = self.recorder
        if recorder is not None:
            recorder.stop()
            recorder.join(10)
        if self._finisher is not None:
            self._finisher.join(60)
        for helper in self._helpers:
            helper.join(60)
