"""A benchmark part that fails leaves an error row and keeps the rows measured before it (a full
``bench faces`` takes half an hour: one failing step must not throw the rest away)."""

from __future__ import annotations

from drills.vision import benchmark


def test_a_failing_part_becomes_an_error_row() -> None:
    rows = benchmark._child("no-such-part")
    assert len(rows) == 1
    assert rows[0]["bench"] == "no-such-part"
    assert "usage: python -m drills.vision.benchmark" in rows[0]["error"]
