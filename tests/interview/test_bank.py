"""Question banks: the shipped ones validate, a broken one gets file:line problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from device.interview.bank import load_bank, shipped_banks


def test_shipped_banks_validate_in_both_languages() -> None:
    banks = [load_bank(p) for p in shipped_banks()]
    assert {b.lang for b in banks} == {"en", "zh"}
    for bank in banks:
        for q in bank.questions:
            assert q.rubric.key_points and len(q.rubric.anchors) >= 3
            assert all(0 <= level <= 5 for level in q.rubric.anchors)
    roles = {b.role_id for b in banks}
    assert {"customer-service", "sales", "software-engineer"} <= roles
    for role in roles:  # each role ships in both languages, one bank written twice
        en, zh = (next(b for b in banks if b.role_id == role and b.lang == lang) for lang in ("en", "zh"))
        assert [q.id for q in en.questions] == [q.id for q in zh.questions]
        assert [(q.competency, q.weight, q.rubric.kind, q.retakes) for q in en.questions] == [
            (q.competency, q.weight, q.rubric.kind, q.retakes) for q in zh.questions]  # fmt: skip
        assert [(c.id, c.weight) for c in en.competencies] == [(c.id, c.weight) for c in zh.competencies]
        assert en.bank_id == f"{role}-en" and zh.bank_id == f"{role}-zh"


@pytest.mark.parametrize("role", ["sales", "software-engineer"])
def test_the_sales_and_engineer_banks_are_full_structured_interviews(role: str) -> None:
    """5-6 questions, every competency asked, behavioural and situational questions, anchors at every level
    1-5, key points on every question, time limits and a re-record policy."""
    for bank in (load_bank(p) for p in shipped_banks() if p.name.startswith(f"{role}-")):
        assert 5 <= len(bank.questions) <= 6
        assert abs(sum(c.weight for c in bank.competencies) - 1.0) < 1e-9
        assert {q.rubric.kind for q in bank.questions} == {"behavioural", "knowledge"}
        for q in bank.questions:
            assert sorted(q.rubric.anchors) == [1, 2, 3, 4, 5], q.id
            assert 4 <= len(q.rubric.key_points) <= 6, q.id
            assert q.prepare_seconds > 0 and q.answer_seconds >= 120 and q.retakes.allowed >= 1
            # A situational question is scored on content: it carries the reference answer it is compared with.
            assert q.rubric.kind == "behavioural" or q.rubric.reference_answer.strip(), q.id


def test_a_broken_bank_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'bank_id = "b"\nrole_id = "r"\ntitle = "t"\nlang = "de"\n\n'
        '[[competencies]]\nid = "c"\nname = "C"\n\n'
        '[[questions]]\nid = "q1"\ncompetency = "c"\ntext = "Why?"\nanswer_seconds = 5\n\n'
        "[questions.rubric]\nkind = \"knowledge\"\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_bank(bad)
    text = str(caught.value)
    assert f"{bad}:4: lang" in text
    assert f"{bad}:14: questions.0.answer_seconds" in text
    assert "a rubric needs a reference answer, key points or anchors" in text
