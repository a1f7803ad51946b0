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
    en, zh = (next(b for b in banks if b.lang == lang) for lang in ("en", "zh"))
    assert [q.id for q in en.questions] == [q.id for q in zh.questions]  # translations of one bank


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
