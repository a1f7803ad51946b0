"""The rule that chooses Mandarin's default decoding from `edgehr bench asr --setting zh-candidates` rows."""

from __future__ import annotations

from typing import Any

from drills.asr_bench import ZH_CANDIDATES, pick


def row(setting: str, cer: float, rtf: float, lang: str = "zh") -> dict[str, Any]:
    return {"setting": setting, "lang": lang, "error_rate": cer, "rtf": rtf}


def test_the_lowest_cer_within_the_margins_wins_and_near_ties_go_to_the_faster() -> None:
    rows = [row("slow-best", 0.095, 0.87),  # the best CER, but past the RTF margin
            row("a", 0.1085, 0.24), row("b", 0.1100, 0.20),  # within 0.3 points: the faster wins
            row("c", 0.1126, 0.15), row("d", 0.1250, 0.10),  # c: worse CER; d: past the CER margin
            {"setting": "broken", "error": "failed"}, row("en", 0.03, 0.1, lang="en")]
    assert pick(rows) == "b"
    assert pick([row("slow-best", 0.095, 0.87), row("d", 0.125, 0.1)]) is None


def test_every_candidate_is_a_known_mandarin_setting() -> None:
    from drills.asr_bench import SETTINGS

    assert all(SETTINGS[c][0] == "zh" for c in ZH_CANDIDATES) and len(set(ZH_CANDIDATES)) == len(ZH_CANDIDATES)
