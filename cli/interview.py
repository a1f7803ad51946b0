"""Handlers of ``edgehr interview``: the scoring contract (JSON lines in, JSON lines out) and bank checks.

``interview score`` input, one JSON object per line: ``id``, ``question``, ``reference_answer``,
``answer``, ``lang`` ("en" | "zh"; empty or absent = detect), and optionally the rubric fields
``kind`` ("knowledge" | "behavioural"), ``key_points`` (list), ``anchors`` ({level: text}), and
``duration_seconds`` (a spoken answer's length: delivery figures, reported apart). Output per line:
``{"id", "score", "verdict", "evidence": [...], "subscores": {...}, "key_points": [...], ...}``;
``score`` is null with verdict "no-answer" when nothing was answered. A line that cannot be scored
gets ``{"id", "line", "error"}`` and the rest go on; the exit status is 1 if any line failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError


def _lines(path: str) -> Iterator[tuple[int, str]]:
    stream: TextIO = sys.stdin if path == "-" else Path(path).open(encoding="utf-8")  # noqa: SIM115
    try:
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield number, line
    finally:
        if stream is not sys.stdin:
            stream.close()


def score_line(obj: Any) -> dict[str, Any]:
    """Score one decoded input object; raise ValueError with a readable message when it is unusable."""
    from device.interview.bank import Rubric
    from device.interview.scoring.delivery import delivery_figures
    from device.interview.scoring.scorer import score_answer

    if not isinstance(obj, dict):
        raise ValueError("each line must be a JSON object")
    for key in ("question", "answer"):
        if not isinstance(obj.get(key), str):
            raise ValueError(f"'{key}' must be a string")
    lang = obj.get("lang") or ""
    if lang not in ("", "en", "zh"):
        raise ValueError(f"'lang' must be en or zh, not {lang!r}")
    try:
        rubric = Rubric(
            kind=obj.get("kind") or "knowledge",
            reference_answer=obj.get("reference_answer") or "",
            key_points=obj.get("key_points") or [],
            anchors=obj.get("anchors") or {},
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'rubric'}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from None
    result = score_answer(obj["question"], obj["answer"], rubric, lang=lang)
    out: dict[str, Any] = {"id": obj.get("id"), **result.to_json()}
    duration = obj.get("duration_seconds")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        # Shown apart from the score; the scorer never saw it.
        out["delivery"] = delivery_figures(obj["answer"], result.lang, float(duration))
    return out


def score_file(args: argparse.Namespace) -> int:
    from core.errors import EdgehrError

    failed = 0
    try:
        lines = list(_lines(args.file))
    except OSError as exc:
        raise EdgehrError(f"Cannot read {args.file}: {exc.strerror or exc}.", "Give a JSON lines file.") from None
    for number, line in lines:
        ident: Any = None
        try:
            obj = json.loads(line)
            ident = obj.get("id") if isinstance(obj, dict) else None
            row = score_line(obj)
        except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
            failed += 1
            row = {"id": ident, "line": number, "error": str(exc)}
        except EdgehrError as exc:  # a model missing: every line would fail the same way
            raise exc
        if args.json:
            print(json.dumps(row, ensure_ascii=False), flush=True)
        elif "error" in row:
            print(f"{row['id']}: line {number}: error: {row['error']}", flush=True)
        else:
            score = "no answer" if row["score"] is None else f"{row['score']:.2f}/{row['scale_max']}"
            subs = " ".join(f"{k}={v:.2f}" for k, v in row["subscores"].items() if v is not None)
            print(f"{row['id']}: {score}  {subs}", flush=True)
    return 1 if failed else 0


def bank_check(args: argparse.Namespace) -> int:
    from core.errors import ConfigError
    from device.interview.bank import load_bank, shipped_banks

    paths = [Path(f) for f in args.files] or shipped_banks()
    status = 0
    for path in paths:
        try:
            bank = load_bank(path)
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            status = 1
            continue
        print(f"{path}: ok: {bank.bank_id} ({bank.lang}), {len(bank.competencies)} competencies, "
              f"{len(bank.questions)} questions")
    return status
