"""The terminal's in-memory gallery, filled from the store's encrypted templates and kept in step with it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from core.datakey import DataKey
from device.attendance.ports import GalleryView
from device.store import Store
from device.store.employees import load_templates


def load_gallery(store: Store, key: DataKey, gallery: GalleryView, model: str) -> int:
    """Fill ``gallery`` with every active employee's templates for ``model``; returns the people loaded."""
    people: dict[str, list[Any]] = defaultdict(list)
    for template in load_templates(store, key, model):
        people[template.employee_no].append(template.vector)
    for employee_no, vectors in people.items():
        gallery.remove(employee_no)
        gallery.add(employee_no, np.stack(vectors).astype(np.float32))
    return len(people)


def templates_marker(store: Store) -> tuple[int, int]:
    row = store.conn.execute("SELECT count(*), coalesce(max(id), 0) FROM face_templates").fetchone()
    return int(row[0]), int(row[1])
