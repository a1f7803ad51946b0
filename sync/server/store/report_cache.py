"""The timesheet pages' computed reports, reused while nothing they are computed from has changed.

Computing a month for thousands of people takes seconds (``timesheet_reader.load``: every person's every
day), while HR pages through it, filters it, searches it and downloads it. So the pages keep the last few
reports, each under a fingerprint of its inputs read in one statement: the punches (count and newest id:
punches are only ever added), the corrections (the same), the audit log's newest id (every change to
shifts, assignments, calendars, leave, employees and devices is audited in its own transaction), and the
minute of the server's clock (a day becomes final with time). Any change makes a new fingerprint, so a
report is never served stale beyond the minute that decides which days are final.

One cache per app process (``app.state``); a process that computes what another did costs time, never
correctness.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from typing import TYPE_CHECKING, Any

from sync.server.store import timesheet_reader
from sync.server.store.timesheet_reader import Report

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

#: Reports kept, each one range for everyone: about 26 kB per person-month (tracemalloc: 5.2 MB retained
#: for 200 people over 31 days), so about 50 MB each for 2,000 people over a month.
KEEP = 2


def fingerprint(store: HRStore) -> tuple[Any, ...]:
    with store.db.read() as tx:
        row = tx.execute(
            "SELECT (SELECT count(*) FROM punches), (SELECT max(id) FROM punches),"
            " (SELECT count(*) FROM corrections), (SELECT max(id) FROM corrections), (SELECT max(id) FROM audit_log)"
        ).one()
    minute = store.now().replace(second=0, microsecond=0)
    return (*(tuple(row) if row is not None else ()), minute.isoformat())


class ReportCache:
    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._reports: OrderedDict[tuple[Any, ...], Report] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0  # how many reports were computed (the rest were reused)

    def _get(self, key: tuple[Any, ...]) -> Report | None:
        with self._lock:
            report = self._reports.get(key)
            if report is not None:
                self._reports.move_to_end(key)
            return report

    def load(self, store: HRStore, first: date, last: date) -> Report:
        """Everyone's rows for [first, last], computed once per change of the inputs. Callers only read it."""
        key = (first, last, *fingerprint(store))
        report = self._get(key)
        if report is not None:
            return report
        report = timesheet_reader.load(store, first, last)
        with self._lock:
            self.computed += 1
            self._reports[key] = report
            while len(self._reports) > self._keep:
                self._reports.popitem(last=False)
        return report

    def person(self, store: HRStore, first: date, last: date, employee_no: str) -> Report:
        """One person's rows: from a current cached report when there is one, else computed for them alone."""
        whole = self._get((first, last, *fingerprint(store)))
        rows = [r for r in whole.rows if r.employee_no == employee_no] if whole is not None else []
        if whole is None or not rows:
            return timesheet_reader.load(store, first, last, employee_no)
        unattached = {employee_no: whole.unattached[employee_no]} if employee_no in whole.unattached else {}
        return Report(rows, unattached)
