"""The self-reported demographic categories a bias audit compares: one list for the booth's form, the
``candidate-demographics`` record and the HR server (all optional; "prefer not to say" is a real answer and
counts as unknown in the audit).

Sex and race/ethnicity are the categories NYC Local Law 144 names (EEO-1's lists, with China's "Han" and
"ethnic minority" beside them so one list serves sites in China and elsewhere); an age band is offered too.
"""

from __future__ import annotations

PREFER_NOT_TO_SAY = "prefer-not-to-say"

DIMENSIONS: dict[str, tuple[str, ...]] = {
    "sex": ("female", "male", "other"),
    "ethnicity": (
        "han", "ethnic-minority", "asian", "black", "hispanic-latino", "white", "native-american",
        "pacific-islander", "two-or-more", "other",
    ),
    "age_band": ("under-30", "30-39", "40-49", "50-plus"),
}  # fmt: skip


def allowed(dimension: str, value: str) -> bool:
    return dimension in DIMENSIONS and (value == PREFER_NOT_TO_SAY or value in DIMENSIONS[dimension])
