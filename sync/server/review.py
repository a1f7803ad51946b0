"""HR's review of an interview, as pure values: current scores (the booth's, or a person's override), the
weighted overall score, and the evidence behind each score read from the booth's record.

The overall score is ``100 x sum(w x score / scale_max) / sum(w)`` over the session's competencies, with the
current scores and the weights the booth's question bank gave (``weight``; 1 when absent): a percentage of
the scale, comparable between roles whose scales differ. Delivery figures never enter it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sync.protocol.records import CompetencyScore, InterviewResultBody


@dataclass(frozen=True)
class ScoreView:
    """One competency of a session: the booth's score, the current one, and what stands behind it."""

    position: int
    competency: str
    original: float
    current: float
    scale_max: int
    weight: float
    overridden: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "competency": self.competency,
            "original_score": self.original,
            "score": self.current,
            "scale_max": self.scale_max,
            "weight": self.weight,
            "overridden": self.overridden,
        }


def overall(scores: Sequence[ScoreView]) -> float | None:
    """The weighted overall score in percent of the scale (None without scores or weights)."""
    total = sum(s.weight for s in scores)
    if not scores or total <= 0:
        return None
    return round(100 * sum(s.weight * s.current / s.scale_max for s in scores) / total, 2)


def parsed_body(body_text: str | None) -> InterviewResultBody | None:
    """The booth's record as it arrived (None once erased, or if it cannot be read)."""
    if not body_text:
        return None
    try:
        return InterviewResultBody.model_validate(json.loads(body_text))
    except (ValidationError, ValueError):
        return None


def booth_scores(body: InterviewResultBody | None) -> dict[int, CompetencyScore]:
    return dict(enumerate(body.scores)) if body is not None else {}


def score_views(
    stored: Sequence[Mapping[str, Any]], latest: Mapping[int, float], body: InterviewResultBody | None
) -> list[ScoreView]:
    """``stored``: the session's interview_scores rows (position, competency, score, scale_max) in order;
    ``latest``: position -> the newest override."""
    booth = booth_scores(body)
    views = []
    for row in stored:
        position = int(row["position"])
        weight = booth[position].weight if position in booth else None
        views.append(
            ScoreView(position, str(row["competency"]), float(row["score"]), float(latest.get(position, row["score"])),
                      int(row["scale_max"]), 1.0 if weight is None else float(weight), position in latest)
        )  # fmt: skip
    return views


def evidence(body: InterviewResultBody | None, position: int) -> dict[str, Any]:
    """What the booth's scorer says stands behind score ``position``: sentences, matches (anchors, key
    points, reference), key-point coverage and sub-scores (empty where the booth sent none)."""
    score = booth_scores(body).get(position)
    if score is None:
        return {"sentences": [], "matches": [], "key_points": [], "subscores": {}}
    return {
        "sentences": list(score.evidence),
        "matches": [m.model_dump(mode="json", exclude_none=True) for m in score.matches or []],
        "key_points": [k.model_dump(mode="json", exclude_none=True) for k in score.key_points or []],
        "subscores": dict(score.subscores or {}),
    }
