"""Writes punches as fast as it can, printing each uid only after record_punch returned (= durable).

Run by test_crash.py, which SIGKILLs it at random moments.
"""

from __future__ import annotations

import sys
from pathlib import Path

from device.store import open_store, punches
from tests.factories import punch


def main() -> None:
    store = open_store(Path(sys.argv[1]))
    start = int(sys.argv[2])
    for i in range(start, start + 100_000):
        stored = punches.record_punch(
            store, punch(f"E{i % 50:03d}", "in" if i % 2 else "out", 1_790_000_000_000 + i), "crash-test"
        )
        sys.stdout.write(stored.uid + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
