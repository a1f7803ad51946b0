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

#: The competency id a booth gives its own weighted overall (PROTOCOL.md section 8): the booth's reading of
#: the session, not a competency, so it is neither weighed into the overall score, drawn on the radar, nor
#: overridden; the review computes the overall itself from the competencies' current scores.
BOOTH_OVERALL = "overall"

#: The booth scorer's sub-score names (sync/PROTOCOL.md section 8) that the pages name in both languages;
#: any other name a booth sends is shown as it came.
SUBSCORE_NAMES = ("key_points", "reference", "terms", "anchors", "structure", "specificity")


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
        if row["competency"] == BOOTH_OVERALL:
            continue
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
        "subscores": ordered_subscores(score.subscores),
    }


def answer_evidence(body: InterviewResultBody | None, question_id: str) -> dict[str, Any]:
    """What the booth's scorer says of one answer: its competency, verdict, content score (on the
    competency's scale) and sub-scores, and the matches and key points of its competency that name it.
    Empty values where the booth sent none (a record from before v1.2, or an erased one)."""
    out: dict[str, Any] = {"competency": None, "verdict": None, "score": None, "scale_max": None,
                           "subscores": {}, "matches": [], "key_points": []}
    if body is None:
        return out
    answer = next((a for a in body.answers if a.question_id == question_id), None)
    if answer is not None:
        out.update(competency=answer.competency, verdict=answer.verdict, score=answer.score,
                   subscores=ordered_subscores(answer.subscores))
    for score in body.scores:
        if answer is not None and score.competency == answer.competency:
            out["scale_max"] = score.scale_max
        out["matches"] += [m.model_dump(mode="json", exclude_none=True) for m in score.matches or []
                           if m.question_id == question_id]
        out["key_points"] += [k.model_dump(mode="json", exclude_none=True) for k in score.key_points or []
                              if k.question_id == question_id]
    return out


def ordered_subscores(subscores: Mapping[str, float] | None) -> dict[str, float]:
    """The scorer's sub-scores in the order the pages explain them, any other name after them."""
    known = {name: i for i, name in enumerate(SUBSCORE_NAMES)}
    return dict(sorted((subscores or {}).items(), key=lambda kv: (known.get(kv[0], len(known)), kv[0])))
