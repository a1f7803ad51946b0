"""The bias audit of one role and period: the population from HR's review (current overall scores and
shortlist decisions), the categories from candidates' self-reports, the arithmetic from ``fairness``;
shaped as JSON for the API and the page, and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import TYPE_CHECKING, Any

from sync.server import demographics, fairness
from sync.server.store import demographics as demographics_store
from sync.server.store import review

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

METHOD = {
    "population": "candidates of the role whose newest interview in the period was completed (erased ones are gone)",
    "selection_rate": "candidates in the category whom a person advanced / candidates in the category",
    "scoring_rate": "candidates in the category whose current overall score is above the median overall score of"
    " the whole population (equal to the median is not above) / candidates in the category with a score",
    "impact_ratio": "the category's rate / the highest rate among the compared categories",
    "flag": f"impact ratio under {fairness.FOUR_FIFTHS} (four-fifths rule, 29 CFR 1607.4(D))",
    "excluded": f"categories under {fairness.MIN_SHARE:.0%} of the population are shown but not compared",
    "unknown": "candidates who did not report the dimension or preferred not to say",
}


def subjects(store: HRStore, role_id: str, first: date | None, last: date | None) -> list[fairness.Subject]:
    rows = [r for r in review.board(store, role_id, first, last) if r["session_id"] is not None]
    found = demographics_store.categories_of(store, [r["candidate_id"] for r in rows])
    return [
        fairness.Subject(r["candidate_id"], found[r["candidate_id"]], r["status"] == "advance", r["overall"])
        for r in rows
    ]


def run(store: HRStore, role_id: str, first: date | None, last: date | None) -> dict[str, Any]:
    """The audit as JSON: totals, the median, one table per dimension and intersection, and the method."""
    result = fairness.audit(subjects(store, role_id, first, last), demographics.DIMENSIONS,
                            demographics.INTERSECTIONS)  # fmt: skip
    return {
        "role_id": role_id,
        "from": first.isoformat() if first else None,
        "to": last.isoformat() if last else None,
        "total": result.total,
        "selected": result.selected,
        "scored": result.scored,
        "median_overall": result.median,
        "tables": [
            {"dimension": t.dimension, "unknown": t.unknown, "rows": [_row(r) for r in t.rows]} for t in result.tables
        ],
        "method": METHOD,
    }


def _row(row: fairness.GroupRow) -> dict[str, Any]:
    return {
        "category": row.category,
        "count": row.count,
        "share": round(row.share, 4),
        "selected": row.selected,
        "selection_rate": _round(row.selection_rate),
        "selection_impact_ratio": _round(row.selection_impact),
        "scored": row.scored,
        "above_median": row.above_median,
        "scoring_rate": _round(row.scoring_rate),
        "scoring_impact_ratio": _round(row.scoring_impact),
        "excluded": row.excluded,
        "flagged_selection": row.flagged_selection,
        "flagged_scoring": row.flagged_scoring,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


COLUMNS = ("dimension", "category", "count", "share", "selected", "selection_rate", "selection_impact_ratio",
           "scored", "above_median", "scoring_rate", "scoring_impact_ratio", "excluded", "flagged_selection",
           "flagged_scoring")  # fmt: skip


def as_csv(audit: dict[str, Any]) -> str:
    """One line per category (and one "unknown" line per dimension), UTF-8 with a BOM for Excel."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["role_id", "from", "to", *COLUMNS])
    head = [audit["role_id"], audit["from"] or "", audit["to"] or ""]
    for table in audit["tables"]:
        for row in table["rows"]:
            writer.writerow([*head, table["dimension"], *("" if row[c] is None else row[c] for c in COLUMNS[1:])])
        writer.writerow([*head, table["dimension"], "unknown", table["unknown"], *[""] * (len(COLUMNS) - 3)])
    return "\ufeff" + out.getvalue()
