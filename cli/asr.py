"""Handlers of ``edgehr asr transcribe`` and ``edgehr bench asr`` (contract: see cli/asr_cmd.py)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.errors import InputError


def _emit(obj: dict[str, Any], as_json: bool, text: str) -> None:
    print(json.dumps(obj, ensure_ascii=False) if as_json else text, flush=True)


def transcribe(args: argparse.Namespace) -> int:
    from device.config.device import AsrSection
    from device.config.loader import load_device_config
    from device.interview.asr import open_engine, transcribe_file

    config = load_device_config(args.config).asr if args.config else AsrSection()
    engine = open_engine(config, args.lang, engine=args.engine)
    failed = 0
    for path in args.files:
        try:
            result = transcribe_file(path, engine)
        except InputError as exc:
            failed += 1
            _emit({"path": str(path), "error": str(exc), "code": exc.code}, args.json, f"{path}\tERROR\t{exc}")
            continue
        row: dict[str, Any] = {"path": result.path, "text": result.text, "audio_seconds": result.audio_seconds,
                               "seconds": result.seconds, "engine": result.engine}
        if result.warnings:
            row["warnings"] = result.warnings
        _emit(row, args.json, f"{path}\t{result.text}")
    return 1 if failed else 0


def bench_asr(args: argparse.Namespace) -> int:
    """``edgehr bench asr``: see drills.asr_bench for the method."""
    from drills.asr_bench import iter_asr_bench, print_table

    rows = iter_asr_bench(langs=args.lang, settings=args.setting, max_clips=args.max_clips, threads=args.threads,
                          jobs=args.jobs)
    if args.json:  # each row as it is measured: a long run shows its progress
        for row in rows:
            print(json.dumps(row, ensure_ascii=False), flush=True)
    else:
        print_table(list(rows))
    return 0
