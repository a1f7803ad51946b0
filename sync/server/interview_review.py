"""One session as HR reviews it: the report, each score with its evidence and its current value, each
answer with the booth's evidence for it (content score, sub-scores, matched sentences, key points), the
weighted overall score, the overrides, the audit entries and the candidate's shortlist decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync.server import review
from sync.server.store import audit, interviews
from sync.server.store import review as review_store

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore


def full(store: HRStore, session_id: str) -> dict[str, Any]:
    report = interviews.report(store, session_id)
    with store.db.read() as tx:
        views = review_store.score_views(tx, [session_id])[session_id]
        body = review_store.booth_bodies(tx, [session_id])[session_id]
    report["scores"] = [view.as_json() | {"evidence": review.evidence(body, view.position)} for view in views]
    for answer in report["answers"]:
        answer["evidence"] = review.answer_evidence(body, str(answer["question_id"]))
    report["overall"] = review.overall(views)
    report["overall_method"] = "100 x sum(weight x score / scale_max) / sum(weight), current scores"
    report["overrides"] = review_store.overrides_of(store, session_id)
    report["audit"] = audit.entries(store, f"interview:{session_id}", limit=100)
    report["decisions"] = [
        d for d in review_store.decisions_of(store, report["candidate_id"]) if d["role_id"] == report["role_id"]
    ]
    return report
