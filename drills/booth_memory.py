"""The booth's memory: the peak RSS of a real booth process after it has interviewed in both languages.

Method: a child process (one thread: OMP_NUM_THREADS=1, the recognisers' and encoders' own one-thread
settings) opens a booth exactly as ``edgehr device run`` does for ``device.kind = "booth"``
(device.booth.runner.open_booth with the config's [asr] and [booth] sections; the screen's app is built, not
served; sync off), then runs two interviews through the real flow: a candidate on the shipped English bank
answers one question (jfk_16k_mono.wav) and a candidate on the Mandarin bank answers one (the first aishell
clip); each session is ended, so its answer is transcribed by the language's recogniser and scored by the
scorer with that language's encoder. So both recognisers the config names and both encoders are loaded, as at
a booth that has served candidates in both languages. Reported: VmRSS when the booth is up (nothing loaded
yet: recognisers and encoders load on a session's first question), after the English interview, after the
Mandarin one, and the peak (VmHWM) of the whole process; target <= 600 MB (issue 16).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TARGET_MB = 600
#: (candidate id, shipped bank, answer clip under datasets/speech)
INTERVIEWS = (("MEM-EN", "customer-service-en", "en/jfk/jfk_16k_mono.wav"),
              ("MEM-ZH", "customer-service-zh", "zh/aishell/wav/S0150/BAC009S0150W0121.wav"))


def _memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    values: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = float(value.split()[0]) / 1024
    return round(values.get("VmRSS", 0.0), 1), round(values.get("VmHWM", 0.0), 1)


def _config(folder: Path, answers: Path, config_path: Path | None) -> Any:
    from device.config.device import DeviceConfig

    asr: dict[str, Any] = {}
    booth: dict[str, Any] = {}
    if config_path is not None:  # a site's own recogniser and booth choices
        from device.config.loader import load_device_config

        site = load_device_config(config_path)
        asr, booth = site.asr.model_dump(), site.booth.model_dump()
    return DeviceConfig.model_validate({
        "device": {"id": "booth-memory", "kind": "booth", "state_dir": str(folder / "state")},
        "microphone": {"source": "wav", "path": str(answers)},
        "asr": asr, "booth": {**booth, "integrity_camera": False, "banks_dir": None},
        "sync": {"enabled": False},
    })


def _interview(runner: Any, clock: Any, candidate_id: str) -> None:
    from device.booth.flow import DONE_SECONDS

    booth = runner.booth
    booth.check_in(candidate_id)
    booth.consent("en")
    if booth.phase == "demographics":  # the optional self-report, skipped
        booth.start_questions()
    booth.start_answer()
    for _ in range(6000):  # the recording replays unpaced; recognition takes a few seconds of CPU
        with booth.lock:
            if booth.sub in ("review", "refused"):
                break
        time.sleep(0.05)
    if booth.sub != "review":
        raise RuntimeError(f"the answer of {candidate_id} was not transcribed ({booth.sub})")
    booth.end_session()
    booth.wait_finished(600)
    clock.advance(DONE_SECONDS + 1)
    booth.tick()


def measure(shared: Path, config_path: Path | None = None) -> dict[str, Any]:
    from core.clock import FakeClock
    from device.booth.runner import open_booth
    from device.store import candidates as booth_candidates
    from device.store.candidates import BoothCandidate

    with tempfile.TemporaryDirectory(prefix="booth-memory-") as tmp:
        folder = Path(tmp)
        answers = folder / "answers"
        answers.mkdir()
        for i, (_cid, _bank, clip) in enumerate(INTERVIEWS):  # replayed one per answer, in name order
            shutil.copy(shared / "datasets" / "speech" / clip, answers / f"a{i}.wav")
        config = _config(folder, answers, config_path)
        clock = FakeClock(datetime.now(UTC), mono_ns=time.monotonic_ns())
        runner = open_booth(config, clock=clock, paced_replay=False)
        try:
            until = int((datetime.now(UTC) + timedelta(days=1)).timestamp() * 1000)
            with runner.store.transaction() as conn:
                booth_candidates.replace(conn, [BoothCandidate(cid, cid, "memory", bank, until)
                                                for cid, bank, _clip in INTERVIEWS], command_seq=1, at_ms=0)
            runner.app()  # the booth's screen, as a running booth builds it
            runner.booth.recover()
            row: dict[str, Any] = {"rss_at_start_mb": _memory_mb()[0]}
            for cid, bank, _clip in INTERVIEWS:
                _interview(runner, clock, cid)
                lang = bank.rsplit("-", 1)[1]
                row[f"rss_after_{lang}_mb"], row[f"peak_after_{lang}_mb"] = _memory_mb()
            results = runner.store.conn.execute("SELECT count(*) FROM outbox WHERE type = 'interview-result'")
            scored = int(results.fetchone()[0])
        finally:
            runner.stop()
    peak = _memory_mb()[1]
    engines = [f"{config.asr.engine_en} (en)", f"{config.asr.engine_zh} (zh)"]
    return {"what": "memory: a booth process after one answer transcribed and scored in en and in zh",
            "peak_rss_mb": peak, **row, "target_mb": TARGET_MB, "meets_target": peak <= TARGET_MB,
            "recognisers": engines, "whisper_compute_type": config.asr.whisper_compute_type,
            "interviews_scored": scored}


def run_booth_memory(config_path: Path | None = None) -> dict[str, Any]:
    """``measure`` in a child process of its own (its peak is the booth's alone), one thread."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[1]),
                                                    env.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-m", "drills.booth_memory"]
    if config_path is not None:
        command += ["--config", str(config_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        return {"what": "memory: a booth process", "error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    from core.paths import shared_dir

    parser = argparse.ArgumentParser(description="a booth's peak memory after interviews in en and zh (JSON)")
    parser.add_argument("--config", type=Path, default=None, help="a booth's device config ([asr], [booth])")
    args = parser.parse_args(argv)
    print(json.dumps(measure(shared_dir(), args.config), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
