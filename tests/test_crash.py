"""SIGKILL a writer in the middle of punch writes, many times; nothing it reported durable may be lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from device.store import open_store

ROOT = Path(__file__).resolve().parent.parent
KILLS = 25


def test_sigkill_during_punch_writes_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "device.db"
    rng = random.Random(7)
    reported: set[str] = set()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "crash_writer.py"), str(db), str(round_ * 100_000)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        # Wait until the writer is really writing, then kill it at a random moment.
        first = proc.stdout.readline()
        assert first, "writer produced nothing"
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        # Only complete lines were reported after the commit returned; a torn last line was not.
        lines = (first + rest).split("\n")
        reported.update(line for line in lines[:-1] if len(line) == 36)

        store = open_store(db)
        try:
            assert store.integrity_ok()
            stored = {r[0] for r in store.conn.execute("SELECT uid FROM punches")}
            assert reported <= stored, f"round {round_}: {len(reported - stored)} durable punches lost"
            orphans = store.conn.execute(
                "SELECT count(*) FROM punches p LEFT JOIN outbox o ON o.ref = p.uid WHERE o.seq IS NULL"
            ).fetchone()[0]
            assert orphans == 0
            ghosts = store.conn.execute(
                "SELECT count(*) FROM outbox o LEFT JOIN punches p ON p.uid = o.ref WHERE p.id IS NULL"
            ).fetchone()[0]
            assert ghosts == 0
        finally:
            store.close()
    assert len(reported) > KILLS * 5
