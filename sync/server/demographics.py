"""The self-reported demographic categories a bias audit compares (the protocol's list,
``sync.protocol.demographics``: the booth's form and HR's entries use the same one).

The audit compares each dimension alone and sex x ethnicity (the law's intersection).
"""

from __future__ import annotations

from sync.protocol.demographics import DIMENSIONS, PREFER_NOT_TO_SAY, allowed

INTERSECTIONS: tuple[tuple[str, str], ...] = (("sex", "ethnicity"),)

__all__ = ["DIMENSIONS", "INTERSECTIONS", "PREFER_NOT_TO_SAY", "allowed"]
