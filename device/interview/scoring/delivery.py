"""Delivery figures of a spoken answer: pace, pauses, fillers. Shown apart, never part of a score.

PRODUCT.md: speech-delivery figures are shown apart from competency scores and never penalise accent
or dialect. Nothing here is passed to the scorer, and nothing here judges the figures: they are counts
a reviewer may read (e.g. to see that an answer was cut off by the time limit), not a verdict.
Pace is words per minute in English and characters per minute in Chinese (no word spaces).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from device.interview.scoring.text import length_units

#: A silence between two recognised segments at least this long counts as a pause.
PAUSE_SECONDS = 2.0

_FILLERS_EN = re.compile(r"\b(?:um+|uh+|erm+|er|ah+|hmm+|you know|i mean)\b", re.IGNORECASE)
_FILLERS_ZH = re.compile(r"嗯+|呃+|额+|啊+|那个|就是说|然后呢")


@dataclass(frozen=True)
class Segment:
    """A stretch of recognised speech with its times in seconds (from the speech recogniser)."""

    start: float
    end: float
    text: str


def delivery_figures(
    transcript: str, lang: str, duration_seconds: float, segments: Sequence[Segment] = ()
) -> dict[str, float]:
    """Figures keyed for the ``interview-result`` record's ``delivery`` map (name -> number)."""
    units = length_units(transcript, lang)
    fillers = len((_FILLERS_ZH if lang == "zh" else _FILLERS_EN).findall(transcript))
    figures: dict[str, float] = {
        "duration_s": round(duration_seconds, 1),
        "fillers": float(fillers),
    }
    if duration_seconds > 0:
        key = "chars_per_min" if lang == "zh" else "words_per_min"
        figures[key] = round(units / (duration_seconds / 60.0), 1)
    if segments:
        ordered = sorted(segments, key=lambda s: s.start)
        gaps = [b.start - a.end for a, b in zip(ordered, ordered[1:], strict=False)]
        long_gaps = [g for g in gaps if g >= PAUSE_SECONDS]
        figures["pauses"] = float(len(long_gaps))
        figures["longest_pause_s"] = round(max(gaps, default=0.0), 1)
        speech = sum(max(0.0, s.end - s.start) for s in ordered)
        if duration_seconds > 0:
            figures["speech_share"] = round(min(1.0, speech / duration_seconds), 3)
    return figures
