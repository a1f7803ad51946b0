"""Verification metrics and the match threshold: pair protocols, FAR/FRR, ROC AUC, and models/calibration.toml.

A "genuine" pair is two images of one person, an "impostor" pair two people. Scores are cosine
similarities (higher = more alike). FAR(t) = share of impostor pairs scoring >= t; FRR(t) = share of
genuine pairs scoring < t. The operating threshold is the smallest t with FAR(t) <= the target.

Margin (1:N gallery simulation): the kiosk accepts a search only when the best person's score reaches
the threshold AND beats the best OTHER person's by recognition.margin. ``gallery_split`` enrols the first
``enrol_k`` images (sorted by path) of each person who has more, except every ``holdout_every``-th such
person, who is held out as unknown with everyone who has too few images; each remaining image probes
the real ``Gallery``. ``margin_rows`` then counts, per margin: genuine acceptance (right person
accepted), wrong-person acceptance (an enrolled person's probe accepted as someone else) and unknown
acceptance (a held-out person accepted as anyone). ``choose_margin`` picks the default by a written
rule (see there); models/calibration.toml records the run it came from.

The kiosk reads the threshold chosen here from models/calibration.toml (``device.vision.thresholds``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from device.vision.gallery import Gallery

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".pgm", ".gif"}
#: Impostor pairs are sampled down to this many (fixed seed) so a large folder stays bounded.
MAX_IMPOSTORS = 200_000
SEED = 20240601


def labelled_images(root: Path) -> list[tuple[str, Path]]:
    """(person, path) for every image in ROOT/<person>/, sorted (ROOT/<person>/<image>)."""
    items = []
    for person_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(person_dir.iterdir()):
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                items.append((person_dir.name, path))
    return items


def pair_protocol(
    labels: Sequence[str], *, max_impostors: int = MAX_IMPOSTORS, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray]:
    """All genuine pairs and a fixed-seed sample of at most ``max_impostors`` impostor pairs (index arrays K x 2)."""
    by_person: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_person.setdefault(label, []).append(i)
    genuine = [pair for idx in by_person.values() for pair in itertools.combinations(idx, 2)]
    n = len(labels)
    total_pairs = n * (n - 1) // 2
    n_impostor = total_pairs - len(genuine)
    label_ids = np.unique(np.asarray(labels), return_inverse=True)[1]
    if n_impostor <= max_impostors:
        a, b = np.triu_indices(n, k=1)
        keep = label_ids[a] != label_ids[b]
        impostor = np.stack([a[keep], b[keep]], axis=1)
    else:
        rng = np.random.default_rng(seed)
        chosen: set[tuple[int, int]] = set()
        # Bounded: each round draws a batch; impostors are at least half of all pairs here, so few rounds.
        for _ in range(100):
            a = rng.integers(0, n, size=max_impostors * 2)
            b = rng.integers(0, n, size=max_impostors * 2)
            for x, y in zip(a.tolist(), b.tolist(), strict=True):
                if label_ids[x] != label_ids[y]:
                    chosen.add((min(x, y), max(x, y)))
                    if len(chosen) >= max_impostors:
                        break
            if len(chosen) >= max_impostors:
                break
        impostor = np.array(sorted(chosen), dtype=np.int64)
    return np.array(genuine, dtype=np.int64).reshape(-1, 2), impostor.reshape(-1, 2).astype(np.int64)


def pair_scores(embeddings: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Cosine score of each pair (rows of unit embeddings; NaN rows give NaN scores)."""
    if len(pairs) == 0:
        return np.zeros(0, np.float64)
    scores: np.ndarray = np.einsum("ij,ij->i", embeddings[pairs[:, 0]], embeddings[pairs[:, 1]])
    return scores.astype(np.float64)


def far(impostor: np.ndarray, threshold: float) -> float:
    return float(np.mean(impostor >= threshold)) if impostor.size else 0.0


def frr(genuine: np.ndarray, threshold: float) -> float:
    return float(np.mean(genuine < threshold)) if genuine.size else 0.0


def threshold_at_far(impostor: np.ndarray, target_far: float) -> float:
    """Smallest threshold whose FAR on these impostor scores is at most ``target_far``."""
    if impostor.size == 0:
        raise ValueError("no impostor scores")
    ordered = np.sort(impostor)[::-1]
    allowed = int(np.floor(target_far * impostor.size))  # impostors that may score >= t
    # t just above the (allowed+1)-th highest impostor score lets exactly `allowed` through.
    return float(np.nextafter(ordered[allowed], np.inf)) if allowed < ordered.size else float(ordered[-1])


def roc_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Probability a random genuine pair outscores a random impostor pair (ties count half)."""
    scores = np.concatenate([genuine, impostor])
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(scores.size, np.float64)
    sorted_scores = scores[order]
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    n_g, n_i = genuine.size, impostor.size
    return float((ranks[:n_g].sum() - n_g * (n_g + 1) / 2.0) / (n_g * n_i))


def best_accuracy(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """(accuracy, threshold) maximising the share of pairs classified right (on these same pairs)."""
    candidates = np.unique(np.concatenate([genuine, impostor]))
    g = np.sort(genuine)
    i = np.sort(impostor)
    correct = (g.size - np.searchsorted(g, candidates, side="left")) + np.searchsorted(i, candidates, side="left")
    best = int(np.argmax(correct))
    return float(correct[best] / (g.size + i.size)), float(candidates[best])


def accuracy_at(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> float:
    return float((np.sum(genuine >= threshold) + np.sum(impostor < threshold)) / (genuine.size + impostor.size))


@dataclass(frozen=True)
class Verification:
    """Summary of a pair protocol's scores."""

    genuine_pairs: int
    impostor_pairs: int
    auc: float
    tar_at_far_1e3: float
    threshold_at_far_1e3: float
    best_accuracy: float
    best_threshold: float


def summarise(genuine: np.ndarray, impostor: np.ndarray) -> Verification:
    t = threshold_at_far(impostor, 1e-3)
    acc, best_t = best_accuracy(genuine, impostor)
    return Verification(int(genuine.size), int(impostor.size), roc_auc(genuine, impostor), 1.0 - frr(genuine, t), t,
                        acc, best_t)


def far_frr_rows(genuine: np.ndarray, impostor: np.ndarray, thresholds: Sequence[float]) -> list[dict[str, float]]:
    return [{"threshold": float(t), "far": far(impostor, t), "frr": frr(genuine, t)} for t in thresholds]


#: Margins the gallery simulation reports.
TABLE_MARGINS = (0.0, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1)
#: ``choose_margin``: how many retries of a genuine person one wrong-name (or stranger) punch is worth.
MARGIN_ERROR_COST = 10.0


@dataclass(frozen=True)
class GallerySplit:
    """Indexes into the labelled images: who is enrolled with which images, and the probes."""

    enrolled: dict[str, list[int]]
    known_probes: list[int]  # images of enrolled people not used as templates
    unknown_probes: list[int]  # images of people held out of the gallery


def gallery_split(labels: Sequence[str], enrol_k: int = 1, holdout_every: int = 5) -> GallerySplit:
    """Enrol k images per person, probe with the rest, hold some people out (see module docstring)."""
    if enrol_k < 1 or holdout_every < 2:
        raise ValueError("enrol_k must be >= 1 and holdout_every >= 2")
    by_person: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_person.setdefault(label, []).append(i)
    enrolled: dict[str, list[int]] = {}
    known: list[int] = []
    unknown: list[int] = []
    eligible = 0
    for person in sorted(by_person):
        images = by_person[person]
        if len(images) <= enrol_k:
            unknown.extend(images)
            continue
        eligible += 1
        if eligible % holdout_every == 0:
            unknown.extend(images)
            continue
        enrolled[person] = images[:enrol_k]
        known.extend(images[enrol_k:])
    return GallerySplit(enrolled, sorted(known), sorted(unknown))


@dataclass(frozen=True)
class ProbeResult:
    """One probe searched in the simulated gallery (``expected`` None = a held-out person)."""

    expected: str | None
    best: str | None
    score: float
    runner_up: float


def gallery_probes(embeddings: np.ndarray, labels: Sequence[str], split: GallerySplit) -> list[ProbeResult]:
    """Search every probe in a real ``Gallery`` holding the enrolled templates."""
    gallery = Gallery(threshold=-1.0, margin=0.0)  # scores only: the acceptance rule is applied per margin
    gallery.add_many((person, embeddings[idx]) for person, idx in split.enrolled.items())
    results = []
    for i in split.known_probes + split.unknown_probes:
        match = gallery.search(embeddings[i])
        expected = labels[i] if labels[i] in split.enrolled else None
        results.append(ProbeResult(expected, match.employee_no, match.score, match.runner_up))
    return results


def margin_rows(probes: Sequence[ProbeResult], threshold: float, margins: Sequence[float]) -> list[dict[str, float]]:
    """Per margin: genuine, wrong-person and unknown acceptance rates (``Gallery.search``'s rule)."""
    known = [p for p in probes if p.expected is not None]
    unknown = [p for p in probes if p.expected is None]
    rows = []
    for margin in margins:
        def accepted(p: ProbeResult, m: float = margin) -> bool:
            return p.score >= threshold and p.score - p.runner_up >= m

        rows.append({
            "margin": float(margin),
            "threshold": round(float(threshold), 6),
            "genuine_accept": _share(sum(accepted(p) and p.best == p.expected for p in known), len(known)),
            "wrong_person_accept": _share(sum(accepted(p) and p.best != p.expected for p in known), len(known)),
            "unknown_accept": _share(sum(accepted(p) for p in unknown), len(unknown)),
        })
    return rows


def _share(count: int, total: int) -> float:
    return round(count / total, 6) if total else 0.0


def choose_margin(rows: Sequence[dict[str, float]], error_cost: float = MARGIN_ERROR_COST) -> float:
    """The margin maximising genuine acceptance - ``error_cost`` x (wrong-person + unknown acceptance).

    Why this rule: a larger margin turns some genuine punches into "look again" (a retry, seconds) and
    some wrong-name or stranger punches into rejections (the one error a terminal must not make). Taking
    a wrong punch as ``error_cost`` (10) times as costly as a retry states that trade-off in one number;
    ties go to the smaller margin.
    """
    if not rows:
        raise ValueError("no margin rows")

    def value(row: dict[str, float]) -> float:
        return row["genuine_accept"] - error_cost * (row["wrong_person_accept"] + row["unknown_accept"])

    best = max(value(r) for r in rows)
    return min(r["margin"] for r in rows if value(r) >= best - 1e-12)
