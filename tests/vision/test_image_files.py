"""Image files are read by one bounded reader: only regular files, never more than the limit."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import InputError
from core.images import MAX_BYTES, load_image, read_image_file

ROOT = Path(__file__).resolve().parents[2]


def _bounded_memory() -> None:
    # Before the fix the CLI read /dev/zero until memory ran out: keep that from taking the machine with it.
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_faces_liveness_refuses_a_device_a_fifo_and_a_folder_promptly(tmp_path: Path) -> None:
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)  # nobody ever writes: opening it for reading used to block for good
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "faces", "liveness", "/dev/zero", str(fifo), str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False, preexec_fn=_bounded_memory,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    reasons = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(reasons) == 3 and all('"reason": "unreadable"' in line for line in reasons), done.stdout
    assert time.monotonic() - started < 100


def test_the_reader_trusts_the_bytes_read_not_the_size_stat_reports(tmp_path: Path) -> None:
    # /dev/zero says it is 0 bytes long and never ends; /proc files also report 0.
    with pytest.raises(InputError, match="not a regular file") as info:
        read_image_file(Path("/dev/zero"))
    assert info.value.code == "unreadable"
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff" * 2049)
    with pytest.raises(InputError, match="above the") as too_large:
        read_image_file(big, limit=2048)
    assert too_large.value.code == "too-large"
    assert read_image_file(big, limit=4096) == b"\xff" * 2049
    with pytest.raises(InputError) as folder:
        load_image(tmp_path)
    assert folder.value.code == "unreadable"
    assert MAX_BYTES == 64 * 1024 * 1024
