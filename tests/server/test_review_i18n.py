"""Every key the HR pages' templates name exists in both catalogs (``t`` would show a raw key otherwise),
and the keys the interview pages build at run time exist for every value they are built from."""

from __future__ import annotations

from pathlib import Path

from core.i18n import LANGUAGES, catalog
from sync.server import demographics, fairness
from sync.server import review as review_view
from sync.server.store import review
from tests.test_i18n import LITERAL_KEY

TEMPLATES = Path(__file__).resolve().parents[2] / "sync" / "server" / "templates"


def test_every_key_an_hr_template_names_exists_in_both_languages() -> None:
    named = {key for page in TEMPLATES.glob("*.html") for key in LITERAL_KEY.findall(page.read_text("utf-8"))}
    built = (
        [f"hr.iv.status.{s}" for s in ("scheduled", "interviewed", *review.DECISIONS)]
        + [f"hr.iv.kind.{k}" for k in ("anchor", "key-point", "reference")]
        + [f"hr.iv.sub.{name}" for name in review_view.SUBSCORE_NAMES]
        + [f"hr.audit.dim.{d}" for d in demographics.DIMENSIONS]
        + [f"hr.audit.dim.{a}{fairness.JOIN}{b}" for a, b in demographics.INTERSECTIONS]
        + [f"hr.erasure.count.{c}" for c in ("sessions", "answers", "scores", "overrides", "records", "decisions",
                                               "demographics", "schedule")]
        + ["hr.iv.title", "hr.audit.title", "hr.export.title"]
    )  # fmt: skip
    missing = [(k, lang) for k in sorted({n for n in named if not n.endswith(".")} | set(built))
               for lang in LANGUAGES if k not in catalog(lang)]  # fmt: skip
    assert missing == []
