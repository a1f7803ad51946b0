"""Question banks: one TOML file per role and language, validated like the config (file:line errors).

A bank names the role's competencies (with weights) and its questions. Each question belongs to one
competency and carries its rubric: behavioural anchors (what an answer at a level looks like), key
points, an optional reference answer, the question's weight inside its competency, its preparation and
answer time limits, and how often the candidate may re-record. device/interview/banks/ holds examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from core.config.loader import load_toml_model

BANKS_DIR = Path(__file__).resolve().parent / "banks"

Ident = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
Level = Annotated[int, Field(ge=0, le=5)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Retakes(_Strict):
    """The re-record policy: how many extra attempts, and which attempt is scored."""

    allowed: Annotated[int, Field(ge=0, le=5)] = 1
    keep: Literal["last", "best-transcript-length"] = "last"


class Rubric(_Strict):
    """What a good answer holds. Any part may be missing, but not all of them."""

    kind: Literal["behavioural", "knowledge"] = "knowledge"
    reference_answer: str = ""
    key_points: Annotated[list[Text], Field(max_length=20)] = []
    # Level (0..5) -> what an answer at that level shows; TOML keys are strings, pydantic makes them ints.
    anchors: dict[Level, Text] = {}

    @model_validator(mode="after")
    def _has_something(self) -> Rubric:
        if not (self.reference_answer.strip() or self.key_points or self.anchors):
            raise ValueError("a rubric needs a reference answer, key points or anchors")
        if len(self.anchors) == 1:
            raise ValueError("anchors need at least two levels (one level cannot place an answer)")
        return self


class Question(_Strict):
    id: Ident
    competency: Ident
    text: Text
    weight: Annotated[float, Field(gt=0, le=100)] = 1.0
    prepare_seconds: Annotated[int, Field(ge=0, le=600)] = 30
    answer_seconds: Annotated[int, Field(ge=10, le=1800)] = 120
    retakes: Retakes = Retakes()
    rubric: Rubric


class Competency(_Strict):
    id: Ident
    name: Text
    weight: Annotated[float, Field(gt=0, le=100)] = 1.0
    description: str = ""


class Bank(_Strict):
    schema_version: Literal[1] = 1
    bank_id: Ident
    role_id: Ident
    title: Text
    lang: Literal["en", "zh"]
    competencies: Annotated[list[Competency], Field(min_length=1, max_length=30)]
    questions: Annotated[list[Question], Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _consistent(self) -> Bank:
        ids = [c.id for c in self.competencies]
        if len(set(ids)) != len(ids):
            raise ValueError("competency ids must be unique")
        qids = [q.id for q in self.questions]
        if len(set(qids)) != len(qids):
            raise ValueError("question ids must be unique")
        unknown = sorted({q.competency for q in self.questions} - set(ids))
        if unknown:
            raise ValueError(f"questions name unknown competencies: {', '.join(unknown)}")
        unused = [c for c in ids if all(q.competency != c for q in self.questions)]
        if unused:
            raise ValueError(f"competencies without a question: {', '.join(unused)}")
        return self

    def competency(self, competency_id: str) -> Competency:
        return next(c for c in self.competencies if c.id == competency_id)

    def question(self, question_id: str) -> Question:
        return next(q for q in self.questions if q.id == question_id)


def load_bank(path: Path) -> Bank:
    """Read and validate a bank file; ConfigError lists every problem with file:line."""
    return load_toml_model(path, Bank)


def shipped_banks() -> list[Path]:
    return sorted(BANKS_DIR.glob("*.toml"))
