"""Properties of the timesheet computation: no punch ever disappears, and the same inputs always give
the same output (whatever order the punches come in)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.server.timesheet_contract import compute_case

FIRST = date(2026, 3, 2)
BASE = datetime(2026, 3, 1, 0, 0)

times = st.integers(min_value=0, max_value=6 * 24 * 60).map(lambda m: (BASE + timedelta(minutes=m)).isoformat())
punch = st.fixed_dictionaries({"time": times, "dir": st.sampled_from(["in", "out", None])})
hhmm = st.integers(min_value=0, max_value=24 * 4 - 1).map(lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}")


@st.composite
def shifts(draw: st.DrawFn, name: str) -> dict[str, Any]:
    start, end = draw(hhmm), draw(hhmm)
    if start == end:
        end = "23:59" if start != "23:59" else "00:00"
    return {
        "name": name, "start": start, "end": end,
        "checkin_before_start_min": draw(st.integers(0, 720)), "checkout_after_end_min": draw(st.integers(0, 720)),
        "late_grace_min": draw(st.integers(0, 60)), "early_grace_min": draw(st.integers(0, 60)),
        "late_marking": draw(st.booleans()), "early_marking": draw(st.booleans()),
        "half_day_below_hours": draw(st.none() | st.integers(0, 8)),
        "absent_below_hours": draw(st.none() | st.integers(0, 4)),
        "direction": draw(st.sampled_from(["typed", "alternate"])),
        "hours": draw(st.sampled_from(["pairs", "first_last"])),
        "mark_on_holidays": draw(st.booleans()),
        "weekdays": draw(st.none() | st.lists(st.integers(0, 6), unique=True)),
    }


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    a, b = draw(shifts("a")), draw(shifts("b"))
    day = st.integers(0, 4).map(lambda n: (FIRST + timedelta(days=n)).isoformat())
    assignments = draw(st.lists(st.fixed_dictionaries({"shift": st.sampled_from(["a", "b"]), "from": day,
                                                       "to": st.none() | day}), max_size=3))
    assignments = [x for x in assignments if x["to"] is None or x["to"] >= x["from"]]
    return {
        "id": "p", "shifts": [a, b], "default_shift": draw(st.sampled_from([None, "a", "b"])),
        "assignments": assignments, "holidays": draw(st.lists(day, max_size=2)),
        "manual": draw(st.lists(st.fixed_dictionaries({"date": day, "status": st.sampled_from(["on_leave", "present"]),
                                                       "shift": st.sampled_from([None, "a"])}), max_size=2)),
        "punches": draw(st.lists(punch, max_size=14)), "from": FIRST.isoformat(),
        "to": (FIRST + timedelta(days=3)).isoformat(), "now": draw(times),
    }


@settings(max_examples=150, deadline=None)
@given(cases())
def test_no_punch_ever_disappears(case: dict[str, Any]) -> None:
    out = compute_case(case)
    assert [p["time"] for p in out["punches"]] == [p["time"] for p in case["punches"]]
    rows = {(d["date"], d["shift"]) for d in out["days"]}
    for p in out["punches"]:
        if p["date"] is not None and case["from"] <= p["date"] <= case["to"]:
            assert (p["date"], p["shift"]) in rows  # attached to a row the report shows
    # every row's worked time comes only from punches attached to it
    for d in out["days"]:
        attached = [p for p in out["punches"] if (p["date"], p["shift"]) == (d["date"], d["shift"])]
        assert d["worked_hours"] == 0 or len(attached) >= 2


@settings(max_examples=100, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_computation_is_deterministic_and_order_free(case: dict[str, Any], rnd: Any) -> None:
    first = json.dumps(compute_case(case), sort_keys=True)
    assert json.dumps(compute_case(json.loads(json.dumps(case))), sort_keys=True) == first
    shuffled = dict(case, punches=list(case["punches"]))
    rnd.shuffle(shuffled["punches"])
    again = compute_case(shuffled)
    assert sorted(json.dumps(p, sort_keys=True) for p in again["punches"]) == sorted(
        json.dumps(p, sort_keys=True) for p in json.loads(first)["punches"])
    assert json.dumps(again["days"], sort_keys=True) == json.dumps(json.loads(first)["days"], sort_keys=True)
