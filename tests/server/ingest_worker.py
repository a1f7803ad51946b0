"""A separate ingest process for the concurrency tests: ingests seqs 1..N in batches, in a given order.

Usage: python -m tests.server.ingest_worker URL DEVICE N BATCH reverse|forward
Prints one JSON line: {"stored": [...], "duplicates": [...], "conflicts": [...]}.
"""

from __future__ import annotations

import json
import sys

from sync.server.store import open_hr_store, records
from tests.server.builders import punch_record


def main() -> int:
    url, device, n, batch, order = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    store = open_hr_store(url, "Asia/Shanghai")
    seqs = list(range(1, n + 1))
    if order == "reverse":
        seqs.reverse()
    stored: list[int] = []
    duplicates: list[int] = []
    conflicts: list[int] = []
    try:
        for start in range(0, n, batch):
            result = records.ingest(store, device, [punch_record(seq) for seq in seqs[start : start + batch]])
            stored += result.stored
            duplicates += result.duplicates
            conflicts += result.conflicts
    finally:
        store.close()
    print(json.dumps({"stored": stored, "duplicates": duplicates, "conflicts": conflicts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
