"""The admin panel's roster for sites with thousands of people: search by number or name, one page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from device.store.database import Store

PAGE_SIZE = 50


@dataclass(frozen=True)
class RosterRow:
    employee_no: str
    name: str
    templates: int
    consent_version: str | None
    consent_at: str | None
    consent_by: str | None


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere (its %, _ and \\ taken literally, ESCAPE '\\')."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(store: Store, purpose: str, query: str = "", *, page: int = 0,
           page_size: int = PAGE_SIZE) -> tuple[list[RosterRow], int]:
    """Active employees whose number or name contains ``query`` (all when empty), ordered by number, with
    their template count and latest consent for ``purpose``: (one page, the total that matched)."""
    where, params = "e.active = 1", []
    if query:
        where += " AND (e.employee_no LIKE ? ESCAPE '\\' OR e.name LIKE ? ESCAPE '\\')"
        params = [like_pattern(query)] * 2
    total = int(store.conn.execute(f"SELECT count(*) FROM employees e WHERE {where}", params).fetchone()[0])  # noqa: S608
    rows = store.conn.execute(
        "SELECT e.employee_no, e.name,"  # noqa: S608 - fixed text
        " (SELECT count(*) FROM face_templates t WHERE t.employee_id = e.id),"
        " c.text_version, c.recorded_at, c.recorded_by"
        " FROM employees e LEFT JOIN consents c ON c.id = ("
        "   SELECT max(id) FROM consents WHERE subject_kind = 'employee' AND subject_ref = e.employee_no"
        "   AND purpose = ? AND withdrawn_at IS NULL)"
        f" WHERE {where} ORDER BY e.employee_no LIMIT ? OFFSET ?",
        [purpose, *params, page_size, max(0, page) * page_size],
    ).fetchall()
    return [RosterRow(str(r[0]), str(r[1]), int(r[2]), r[3], r[4], r[5]) for r in rows], total
