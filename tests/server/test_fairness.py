"""The bias audit's arithmetic against tables computed by hand (NYC LL144 method, four-fifths rule)."""

from __future__ import annotations

import pytest

from sync.server.fairness import AuditResult, GroupRow, Subject, audit, median_score

SEX = {"sex": ("female", "male", "other")}


def people(
    n: int, prefix: str, selected: int, *, score: float | None = None, **categories: str | None
) -> list[Subject]:
    return [Subject(f"{prefix}{i}", categories, i < selected, score) for i in range(n)]


def row(result: AuditResult, dimension: str, category: str) -> GroupRow:
    [found] = [r for t in result.tables if t.dimension == dimension for r in t.rows if r.category == category]
    return found


def test_selection_rates_impact_ratios_and_the_two_percent_rule() -> None:
    # 40 women, 12 advanced (0.30); 59 men, 24 advanced (24/59 = 0.40678); 1 "other", advanced (1.0) but 1%
    # of 100: shown, excluded, so the men's rate is the reference, not 1.0.
    subjects = (people(40, "f", 12, sex="female") + people(59, "m", 24, sex="male")
                + people(1, "o", 1, sex="other"))  # fmt: skip
    result = audit(subjects, SEX)
    female, male, other = (row(result, "sex", c) for c in ("female", "male", "other"))
    assert (female.count, female.selected, female.selection_rate) == (40, 12, 0.30)
    assert male.selection_rate == pytest.approx(24 / 59)
    assert female.selection_impact == pytest.approx(0.30 / (24 / 59)) == pytest.approx(0.7375)
    assert female.flagged_selection and not male.flagged_selection
    assert male.selection_impact == 1.0
    assert other.excluded and other.share == 0.01 and other.selection_rate == 1.0
    assert other.selection_impact is None and not other.flagged_selection
    assert not female.excluded and not male.excluded
    assert result.total == 100 and result.selected == 37


def test_exactly_two_percent_is_compared() -> None:
    subjects = people(49, "f", 49, sex="female") + people(1, "m", 0, sex="male")  # male: 1/50 = 2%
    male = row(audit(subjects, {"sex": ("female", "male")}), "sex", "male")
    assert male.share == 0.02 and not male.excluded and male.selection_impact == 0.0 and male.flagged_selection


def test_scoring_rate_counts_only_scores_strictly_above_the_median() -> None:
    # Scores 1 2 3 3 3 4 5: median 3, and the three 3s are not above it. A: 3 3 4 -> 1/3; B: 1 2 3 5 -> 1/4.
    a = [Subject("a1", {"sex": "female"}, False, 3.0), Subject("a2", {"sex": "female"}, False, 3.0),
         Subject("a3", {"sex": "female"}, False, 4.0)]  # fmt: skip
    b = [Subject(f"b{i}", {"sex": "male"}, False, s) for i, s in enumerate((1.0, 2.0, 3.0, 5.0))]
    result = audit(a + b, SEX)
    assert result.median == 3.0
    female, male = row(result, "sex", "female"), row(result, "sex", "male")
    assert (female.scored, female.above_median, female.scoring_rate) == (3, 1, pytest.approx(1 / 3))
    assert (male.scored, male.above_median, male.scoring_rate) == (4, 1, 0.25)
    assert female.scoring_impact == 1.0 and male.scoring_impact == pytest.approx(0.75) and male.flagged_scoring
    # Nobody advanced: no selection ratio means anything (the best rate is 0).
    assert female.selection_rate == 0.0 and female.selection_impact is None and not female.flagged_selection


def test_median_of_an_even_count_and_unscored_candidates() -> None:
    assert median_score([Subject(str(s), {}, False, s) for s in (1.0, 2.0, 3.0, 4.0)]) == 2.5
    assert median_score([Subject("x", {}, True, None)]) is None
    subjects = [Subject("s1", {"sex": "female"}, True, 4.0), Subject("s2", {"sex": "female"}, True, None),
                Subject("s3", {"sex": "male"}, False, 2.0)]  # fmt: skip
    female = row(audit(subjects, SEX), "sex", "female")
    assert (female.count, female.scored, female.above_median, female.scoring_rate) == (2, 1, 1, 1.0)


def test_an_empty_group_has_no_rates_and_is_never_flagged() -> None:
    result = audit(people(10, "f", 5, sex="female") + people(10, "m", 2, sex="male"), SEX)
    other = row(result, "sex", "other")
    assert (other.count, other.share, other.selection_rate, other.scoring_rate) == (0, 0.0, None, None)
    assert other.excluded and other.selection_impact is None and not other.flagged_selection
    assert row(result, "sex", "male").selection_impact == pytest.approx(0.4)
    assert audit([], SEX).tables[0].rows[0].selection_rate is None


def test_intersections_and_unknowns() -> None:
    dims = {"sex": ("female", "male"), "ethnicity": ("han", "minority")}
    # female+han 10 (5 advanced), female+minority 10 (2), male+han 10 (6), male+minority 8 (4);
    # 2 with sex unknown ("prefer not to say"), both han; 1 male with ethnicity unknown.
    subjects = (
        people(10, "fh", 5, sex="female", ethnicity="han") + people(10, "fm", 2, sex="female", ethnicity="minority")
        + people(10, "mh", 6, sex="male", ethnicity="han") + people(8, "mm", 4, sex="male", ethnicity="minority")
        + people(2, "uh", 2, sex=None, ethnicity="han") + people(1, "mu", 1, sex="male", ethnicity=None)
    )  # fmt: skip
    result = audit(subjects, dims, [("sex", "ethnicity")])
    [sex, ethnicity, both] = result.tables
    assert (sex.dimension, sex.unknown, ethnicity.unknown, both.dimension, both.unknown) == (
        "sex", 2, 1, "sex+ethnicity", 3)  # fmt: skip
    # sex: female 7/20 = 0.35, male 11/19; impact female = 0.35 / (11/19) = 0.6045...
    assert row(result, "sex", "female").selection_impact == pytest.approx(0.35 * 19 / 11)
    # ethnicity: han 13/22, minority 6/18 = 1/3; impact = (1/3) / (13/22) = 22/39
    assert row(result, "ethnicity", "minority").selection_impact == pytest.approx(22 / 39)
    # intersections: 0.5, 0.2, 0.6, 0.5 -> impact vs 0.6: 0.8333, 0.3333, 1.0, 0.8333
    impacts = [row(result, "sex+ethnicity", c).selection_impact
               for c in ("female+han", "female+minority", "male+han", "male+minority")]  # fmt: skip
    assert impacts == pytest.approx([0.5 / 0.6, 0.2 / 0.6, 1.0, 0.5 / 0.6])
    assert [row(result, "sex+ethnicity", c).flagged_selection for c in ("female+han", "female+minority")] == [
        False, True]  # fmt: skip
    assert sum(r.count for r in both.rows) + both.unknown == result.total == 41
