"""What enrolment judges the same way at a terminal (``device.attendance.enrolment``) and on the HR server
(``sync.server.enrolment``): which faces of one person's photos look like someone else, and the reason an
unusable photo file is reported under. One implementation, so a photo set the server accepts is one the
terminal would accept too.
"""

from __future__ import annotations

import numpy as np

from core.errors import InputError
from core.types import Vector


def outliers(vectors: list[Vector], threshold: float | None) -> list[int]:
    """Indexes of vectors unlike the others: cosine to the mean of the rest (leave-one-out) below
    ``threshold``. None without a threshold or with fewer than three vectors (no majority to judge by)."""
    if threshold is None or len(vectors) < 3:
        return []
    matrix = np.stack([np.asarray(v, dtype=np.float32) for v in vectors])
    total = matrix.sum(axis=0)
    out = []
    for i, vector in enumerate(matrix):
        others = total - vector
        norm = float(np.linalg.norm(others))
        if norm > 0 and float(vector @ others) / norm < threshold:
            out.append(i)
    return out


def unusable_photo_reason(error: InputError) -> str:
    """Decoders name their problems with their own codes; enrolment reports one of two."""
    return "too-large" if "too-large" in error.code else "unreadable"
