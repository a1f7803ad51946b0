"""The bias audit's arithmetic (NYC Local Law 144's method, the four-fifths rule of 29 CFR 1607.4(D)).

Pure functions over plain values, so each number can be checked against a table computed by hand:

- **Population**: the candidates of one role whose interview was completed in the period (one row each).
- **Selection rate** of a category = candidates in it whom a person advanced / candidates in it.
- **Scoring rate** of a category = candidates in it whose overall score is *above* the median overall score
  of the whole population (strictly greater: a score equal to the median is not above it) / candidates in
  it who have a score.
- **Impact ratio** = a category's rate / the highest rate among the categories compared. Categories
  holding under 2% of the population are shown (with their counts and rates) but excluded from the
  comparison: they have no impact ratio and are never the reference. A ratio under 0.8 is flagged.
- **Unknown**: candidates with no category for that dimension (not reported, or "prefer not to say") are
  counted apart and belong to no category; in an intersection, unknown on either dimension is unknown.
- An empty category (nobody in it) has no rates and no ratio.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product

#: Impact ratios below this are flagged (the four-fifths rule).
FOUR_FIFTHS = 0.8
#: Categories with a smaller share of the population are excluded from the comparison (LL144 allows it).
MIN_SHARE = 0.02
#: How an intersection's dimension and category names are joined.
JOIN = "+"


@dataclass(frozen=True)
class Subject:
    """One candidate as the audit sees them: categories (None = unknown), advanced or not, overall score."""

    key: str
    categories: Mapping[str, str | None]
    selected: bool
    score: float | None


@dataclass(frozen=True)
class GroupRow:
    category: str
    count: int
    share: float
    selected: int
    selection_rate: float | None
    selection_impact: float | None
    scored: int
    above_median: int
    scoring_rate: float | None
    scoring_impact: float | None
    excluded: bool

    @property
    def flagged_selection(self) -> bool:
        return self.selection_impact is not None and self.selection_impact < FOUR_FIFTHS

    @property
    def flagged_scoring(self) -> bool:
        return self.scoring_impact is not None and self.scoring_impact < FOUR_FIFTHS


@dataclass(frozen=True)
class Table:
    """One dimension (``sex``) or intersection (``sex+ethnicity``): a row per category, and the unknowns."""

    dimension: str
    rows: tuple[GroupRow, ...]
    unknown: int


@dataclass(frozen=True)
class AuditResult:
    total: int
    selected: int
    scored: int
    median: float | None
    tables: tuple[Table, ...]


def median_score(subjects: Sequence[Subject]) -> float | None:
    scores = [s.score for s in subjects if s.score is not None]
    return float(statistics.median(scores)) if scores else None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _ratios(rates: Sequence[float | None], excluded: Sequence[bool]) -> list[float | None]:
    compared = [r for r, out in zip(rates, excluded, strict=True) if r is not None and not out]
    best = max(compared, default=None)
    if not best:  # nobody compared, or the best rate is 0: no ratio means anything
        return [None] * len(rates)
    return [None if r is None or out else r / best for r, out in zip(rates, excluded, strict=True)]


def table(dimension: str, values: Sequence[str], labels: Sequence[str | None], subjects: Sequence[Subject],
          median: float | None) -> Table:  # fmt: skip
    """The rows of one dimension: ``labels[i]`` is subject i's category in it (None: unknown)."""
    total = len(subjects)
    counts: dict[str, list[Subject]] = {v: [] for v in values}
    unknown = 0
    for subject, label in zip(subjects, labels, strict=True):
        if label is None or label not in counts:
            unknown += 1
        else:
            counts[label].append(subject)
    shares = {v: (len(members) / total if total else 0.0) for v, members in counts.items()}
    excluded = [shares[v] < MIN_SHARE for v in values]
    picked = [sum(1 for s in counts[v] if s.selected) for v in values]
    scored = [sum(1 for s in counts[v] if s.score is not None) for v in values]
    above = [
        sum(1 for s in counts[v] if s.score is not None and median is not None and s.score > median) for v in values
    ]
    selection = [_rate(p, len(counts[v])) for p, v in zip(picked, values, strict=True)]
    scoring = [_rate(a, n) for a, n in zip(above, scored, strict=True)]
    selection_impact, scoring_impact = _ratios(selection, excluded), _ratios(scoring, excluded)
    rows = tuple(
        GroupRow(v, len(counts[v]), shares[v], picked[i], selection[i], selection_impact[i], scored[i], above[i],
                 scoring[i], scoring_impact[i], excluded[i])
        for i, v in enumerate(values)
    )  # fmt: skip
    return Table(dimension, rows, unknown)


def audit(
    subjects: Sequence[Subject],
    dimensions: Mapping[str, Sequence[str]],
    intersections: Sequence[tuple[str, str]] = (),
) -> AuditResult:
    """Every dimension's table, then every intersection's (all pairs of their categories)."""
    median = median_score(subjects)
    tables = [
        table(name, values, [s.categories.get(name) for s in subjects], subjects, median)
        for name, values in dimensions.items()
    ]
    for first, second in intersections:
        values = [f"{a}{JOIN}{b}" for a, b in product(dimensions[first], dimensions[second])]
        labels = [_both(s.categories.get(first), s.categories.get(second)) for s in subjects]
        tables.append(table(f"{first}{JOIN}{second}", values, labels, subjects, median))
    return AuditResult(
        total=len(subjects),
        selected=sum(1 for s in subjects if s.selected),
        scored=sum(1 for s in subjects if s.score is not None),
        median=median,
        tables=tuple(tables),
    )


def _both(first: str | None, second: str | None) -> str | None:
    return None if first is None or second is None else f"{first}{JOIN}{second}"
