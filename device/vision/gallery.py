"""The gallery: every enrolled template in one contiguous float32 matrix, searched 1:N with one matvec.

Templates are unit vectors, so a score is a cosine similarity (a dot product). A person may have several
templates; a person's score is their best template's. A search is accepted only when the best person's
score reaches the threshold AND beats the best OTHER person's score by the margin, so two look-alikes
enrolled on the same device are never confused silently.

Changes never touch the matrix a search may be reading: ``add`` and ``remove`` build a new index and swap
one reference (atomic in CPython), under a lock that serialises writers. ``remove`` takes effect for
every search that starts after it returns.

Speed (``edgehr bench search``, one thread):
- The matrix is stored transposed, DIM x N (one row per embedding dimension), and a search is
  ``query @ columns``: OpenBLAS streams that layout about 3x faster than ``rows @ query`` on the same bytes
  (50,000 templates: about 2 ms instead of 7-10 ms on the development x86).
- No per-person reduction over all templates: rows are grouped by person, so the best row names the best
  person, and the best OTHER person's score is the maximum outside that person's block of rows. Two
  passes over the scores, exact whatever the number of templates per person.
- Storage is float32 only. int8 templates were measured: numpy has no int8 BLAS (its int8 matvec is
  slower than float32), and ONNX Runtime's u8 x s8 kernel, although fast, saturates 16-bit intermediate
  sums on AVX2 and gave wrong dot products; a 50k x 128 gallery (25 MB float32) does not need the saving.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.types import Vector
from device.vision.types import Match

DIM = 128


@dataclass(frozen=True)
class _Index:
    """Immutable snapshot: templates grouped by person (person i owns templates starts[i]:starts[i+1])."""

    columns: np.ndarray  # DIM x N float32, C-contiguous: template j is column j
    people: tuple[str, ...]
    starts: np.ndarray  # P int64, first row of each person
    row_of: dict[str, tuple[int, int]]


def _empty_index() -> _Index:
    return _Index(np.zeros((DIM, 0), np.float32), (), np.zeros(0, np.int64), {})


def _check_vectors(vectors: np.ndarray) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != DIM or array.shape[0] == 0:
        raise InputError(f"Templates must be N x {DIM} (N >= 1), got shape {array.shape}.",
                         "Pass the embedder's output for this person.")
    norms = np.linalg.norm(array, axis=1)
    if not np.all(np.isfinite(norms)) or np.any(np.abs(norms - 1.0) > 1e-3):
        raise InputError("Templates must be unit vectors (L2-normalised).", "Pass the embedder's output unchanged.")
    return array


def _build(templates: Mapping[str, np.ndarray]) -> _Index:
    people = tuple(sorted(templates))
    if not people:
        return _empty_index()
    blocks = [templates[p] for p in people]
    counts = np.array([b.shape[0] for b in blocks], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    columns = np.ascontiguousarray(np.concatenate(blocks, axis=0).T, dtype=np.float32)
    row_of = {p: (int(s), int(s + c)) for p, s, c in zip(people, starts, counts, strict=True)}
    return _Index(columns, people, starts, row_of)


class Gallery:
    """1:N and 1:1 matching of unit-vector templates (see module docstring)."""

    def __init__(self, threshold: float, margin: float) -> None:
        if not -1.0 <= threshold <= 1.0 or not 0.0 <= margin <= 2.0:
            raise ValueError("threshold must be in [-1, 1] and margin in [0, 2]")
        self.threshold = threshold
        self.margin = margin
        self._templates: dict[str, np.ndarray] = {}
        self._index = _empty_index()
        self._write_lock = threading.Lock()

    # --- changes: rebuild, then swap the reference -------------------------------------------------

    def add(self, employee_no: str, vectors: np.ndarray) -> None:
        """Add templates for a person (appended to any they already have)."""
        self.add_many({employee_no: vectors})

    def add_many(self, items: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]]) -> None:
        """Add templates for many people with ONE rebuild (loading a gallery from the store)."""
        pairs = items.items() if isinstance(items, Mapping) else items
        checked = [(str(no), _check_vectors(v)) for no, v in pairs]
        with self._write_lock:
            templates = dict(self._templates)
            for no, vectors in checked:
                if not no:
                    raise InputError("An employee number is empty.", "Give every template its employee number.")
                old = templates.get(no)
                templates[no] = vectors if old is None else np.concatenate([old, vectors], axis=0)
            index = _build(templates)
            self._templates = templates
            self._index = index

    def replace(self, employee_no: str, vectors: np.ndarray) -> None:
        """Set a person's templates to exactly ``vectors`` (re-enrolment)."""
        checked = _check_vectors(vectors)
        with self._write_lock:
            templates = dict(self._templates)
            templates[employee_no] = checked
            self._index = _build(templates)
            self._templates = templates

    def remove(self, employee_no: str) -> bool:
        """Forget a person; searches that start after this returns can no longer match them."""
        with self._write_lock:
            if employee_no not in self._templates:
                return False
            templates = {k: v for k, v in self._templates.items() if k != employee_no}
            self._index = _build(templates)
            self._templates = templates
            return True

    # --- reads: one snapshot per call ---------------------------------------------------------------

    def __len__(self) -> int:
        """Number of templates."""
        return int(self._index.columns.shape[1])

    @property
    def people(self) -> tuple[str, ...]:
        return self._index.people

    def __contains__(self, employee_no: object) -> bool:
        return employee_no in self._index.row_of

    def person_scores(self, vector: Vector) -> tuple[tuple[str, ...], np.ndarray]:
        """Every person's best score for ``vector`` (same order as ``people``)."""
        index = self._index
        query = _check_vectors(vector)[0]
        if not index.people:
            return (), np.zeros(0, np.float32)
        scores = query @ index.columns
        if len(index.people) == scores.shape[0]:  # one template each: the scores are the people's
            return index.people, scores
        return index.people, np.maximum.reduceat(scores, index.starts)

    def search(self, vector: Vector) -> Match:
        """Best person, their score, the best OTHER person's score, and whether it is accepted."""
        index = self._index
        query = _check_vectors(vector)[0]
        if not index.people:
            return Match(None, -1.0, -1.0, False)
        scores = query @ index.columns
        # The best template belongs to the best person (a person's score is their best template's).
        top_row = int(np.argmax(scores))
        top = int(np.searchsorted(index.starts, top_row, side="right")) - 1
        first, end = index.row_of[index.people[top]]
        return self._match(index.people[top], float(scores[top_row]), _best_outside(scores, first, end))

    def _match(self, employee_no: str, score: float, runner_up: float) -> Match:
        accepted = score >= self.threshold and score - runner_up >= self.margin
        return Match(employee_no, score, runner_up, accepted, lookalike=score >= self.threshold and not accepted)

    def verify(self, employee_no: str, vector: Vector) -> Match:
        """1:1: the claimed person's best score; runner_up is the best other person's (margin applies)."""
        index = self._index
        query = _check_vectors(vector)[0]
        rows = index.row_of.get(employee_no)
        if rows is None:
            return Match(employee_no, -1.0, -1.0, False)
        scores = query @ index.columns
        claimed = float(scores[rows[0]:rows[1]].max())
        return self._match(employee_no, claimed, _best_outside(scores, rows[0], rows[1]))


def _best_outside(scores: np.ndarray, first: int, end: int) -> float:
    """The best score outside rows first:end (one person's block), or -1.0 when there is none."""
    before = float(scores[:first].max()) if first > 0 else -1.0
    after = float(scores[end:].max()) if end < scores.shape[0] else -1.0
    return max(before, after)
