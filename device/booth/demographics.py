"""The booth's optional demographic self-report: one screen after consent, every question skippable and each
with "prefer not to say", the categories the HR server's bias audit uses (``sync.protocol.demographics``).

The answers never reach the session rows the scorer reads: they are queued as their own
``candidate-demographics`` record (``device.store.booth_demographics``) and emptied on the booth once the
server acknowledged them. Skipping the whole form writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from device.booth.flow import Booth, BoothRefused
from device.store import booth_demographics
from sync.protocol.demographics import DIMENSIONS, PREFER_NOT_TO_SAY


def form() -> list[dict[str, Any]]:
    """The questions in order: each dimension with its categories, "prefer not to say" last."""
    return [{"dimension": d, "categories": [*values, PREFER_NOT_TO_SAY]} for d, values in DIMENSIONS.items()]


def submit(booth: Booth, answers: Mapping[str, str]) -> None:
    """The candidate's answers (an empty value or a missing dimension: skipped), then the first question."""
    chosen = {dimension: value for dimension, value in answers.items() if value}
    with booth.lock:
        session = booth.session
        if booth.phase != "demographics" or session is None:
            raise BoothRefused(f"not possible now (the booth is at {booth.phase})", code="wrong-step")
        if chosen:
            try:
                booth_demographics.record(booth.store, session_id=session.session_id,
                                          candidate_id=session.candidate_id, answers=chosen,
                                          at=booth.clock.now(), clock_synced=booth.clock.synced())
            except ValueError:
                raise BoothRefused("an answer is not one of the form's categories", code="bad-answer") from None
        booth.start_questions()
