"""`edgehr interview score FILE.jsonl --json`: one output line per input line, errors in place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.interview.conftest import needs_e5, needs_minilm

ROOT = Path(__file__).resolve().parents[2]

LINES = [
    {"id": "en-1", "question": "What is a stack?", "lang": "en",
     "reference_answer": "A last-in first-out structure. Items are added with push and removed with pop.",
     "answer": "It is a LIFO structure. You push items on top and pop them off the top."},
    {"id": "en-silent", "question": "What is a stack?", "lang": "en",
     "reference_answer": "A last-in first-out structure.", "answer": ""},
    "this line is not JSON",
    {"id": "bad-lang", "question": "q", "answer": "a", "reference_answer": "r", "lang": "fr"},
    {"id": "no-rubric", "question": "q", "answer": "an answer", "lang": "en"},
    {"id": "zh-1", "question": "遇到生气的客户你会怎么做？", "lang": "zh", "kind": "behavioural",
     "reference_answer": "我先耐心听客户说完并道歉。然后查明原因，提出解决方案。最后回访客户确认问题解决。",
     "key_points": ["倾听并道歉", "查明原因", "回访客户"],
     "answer": "有一次客户很生气。我先道歉，然后查了原因，当天解决了问题，第二天又回访了客户。",
     "duration_seconds": 20},
]


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    src = tmp_path / "answers.jsonl"
    src.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in LINES) + "\n",
                   encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "cli.main", "interview", "score", str(src), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


@needs_minilm
@needs_e5
def test_score_contract(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "--json")
    assert proc.returncode == 1, proc.stderr  # some lines failed; the others were still scored
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == len(LINES)
    by_id = {r["id"]: r for r in rows if r["id"]}

    good = by_id["en-1"]
    assert set(good) >= {"id", "score", "evidence", "subscores"}
    assert 0 <= good["score"] <= 5
    assert good["verdict"] == "scored"
    assert [e["sentence"] for e in good["evidence"]] == ["It is a LIFO structure.",
                                                         "You push items on top and pop them off the top."]
    assert all(e["best"]["kind"] in ("key-point", "reference") for e in good["evidence"])
    assert set(good["subscores"]) >= {"key_points", "reference", "terms", "structure", "specificity"}

    silent = by_id["en-silent"]
    assert silent["score"] is None and silent["verdict"] == "no-answer" and silent["evidence"] == []

    assert rows[2] == {"id": None, "line": 3, "error": rows[2]["error"]} and rows[2]["error"]
    assert "lang" in by_id["bad-lang"]["error"]
    assert "reference answer, key points or anchors" in by_id["no-rubric"]["error"]

    zh = by_id["zh-1"]
    assert zh["lang"] == "zh" and zh["score"] is not None
    assert {k["key_point"] for k in zh["key_points"]} == {"倾听并道歉", "查明原因", "回访客户"}
    # Delivery figures come apart from the score and never feed it.
    assert zh["delivery"]["chars_per_min"] > 0 and "delivery" not in zh["subscores"]


@needs_minilm
def test_table_output_without_json(tmp_path: Path) -> None:
    proc = run_cli(tmp_path)
    assert "en-1: " in proc.stdout and "en-silent: no answer" in proc.stdout
    assert "line 3: error" in proc.stdout
