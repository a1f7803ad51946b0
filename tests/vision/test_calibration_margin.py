"""The 1:N margin simulation of ``faces calibrate``: the split, the real Gallery's rule, and the choice."""

from __future__ import annotations

import numpy as np
import pytest

from device.vision.gallery import Gallery
from device.vision.thresholds import read_calibration
from drills.vision import calibration as cal


def test_split_enrols_k_holds_out_every_fifth_and_the_too_few() -> None:
    # p0..p9 with 3 images each, q with 1 image (too few for k = 1 plus a probe).
    labels = [f"p{i}" for i in range(10) for _ in range(3)] + ["q"]
    split = cal.gallery_split(labels, enrol_k=1, holdout_every=5)
    assert sorted(split.enrolled) == ["p0", "p1", "p2", "p3", "p5", "p6", "p7", "p8"]  # p4, p9 held out
    assert split.enrolled["p0"] == [0]  # the first image (labels are in sorted path order)
    assert len(split.known_probes) == 8 * 2
    assert sorted(split.unknown_probes) == [12, 13, 14, 27, 28, 29, 30]  # p4, p9 and q
    two = cal.gallery_split(labels, enrol_k=2)
    assert two.enrolled["p0"] == [0, 1] and len(two.known_probes) == 8
    with pytest.raises(ValueError):
        cal.gallery_split(labels, enrol_k=0)


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, 128)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_margin_rows_apply_the_gallerys_own_rule() -> None:
    """Counted acceptance equals Gallery(threshold, margin).search(...).accepted for every probe."""
    rng = np.random.default_rng(11)
    centres = _unit(rng, 12)
    labels = [f"p{i:02d}" for i in range(12) for _ in range(4)]
    noisy = np.repeat(centres, 4, axis=0) + 0.05 * rng.standard_normal((48, 128)).astype(np.float32)
    vectors = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    split = cal.gallery_split(labels, enrol_k=1)
    probes = cal.gallery_probes(vectors, labels, split)
    threshold = 0.5
    for row in cal.margin_rows(probes, threshold, (0.0, 0.05, 0.3, 0.6)):
        gallery = Gallery(threshold, row["margin"])
        gallery.add_many((p, vectors[idx]) for p, idx in split.enrolled.items())
        right = wrong = unknown = 0
        for i in split.known_probes:
            match = gallery.search(vectors[i])
            right += match.accepted and match.employee_no == labels[i]
            wrong += match.accepted and match.employee_no != labels[i]
        for i in split.unknown_probes:
            unknown += gallery.search(vectors[i]).accepted
        assert row["genuine_accept"] == pytest.approx(right / len(split.known_probes), abs=1e-6)
        assert row["wrong_person_accept"] == pytest.approx(wrong / len(split.known_probes), abs=1e-6)
        assert row["unknown_accept"] == pytest.approx(unknown / len(split.unknown_probes), abs=1e-6)
    rows = cal.margin_rows(probes, threshold, (0.0, 0.8))
    assert rows[0]["genuine_accept"] > 0.9 and rows[0]["unknown_accept"] == 0.0  # clusters are far apart
    assert rows[1]["genuine_accept"] < rows[0]["genuine_accept"]  # 0.8 is more than most gaps


def test_choose_margin_weighs_wrong_punches_ten_times_a_retry() -> None:
    def row(margin: float, genuine: float, wrong: float, unknown: float) -> dict[str, float]:
        return {"margin": margin, "threshold": 0.9, "genuine_accept": genuine, "wrong_person_accept": wrong,
                "unknown_accept": unknown}

    rows = [row(0.0, 0.70, 0.010, 0.030), row(0.01, 0.69, 0.002, 0.017), row(0.02, 0.62, 0.001, 0.008),
            row(0.05, 0.10, 0.0, 0.001)]
    # values: 0.30, 0.50, 0.53, 0.09 -> 0.02
    assert cal.choose_margin(rows) == 0.02
    assert cal.choose_margin(rows, error_cost=0.0) == 0.0  # errors free: genuine acceptance alone decides
    assert cal.choose_margin([row(0.0, 0.5, 0, 0), row(0.01, 0.5, 0, 0)]) == 0.0  # ties: the smaller margin


def test_the_default_margin_is_the_recorded_calibration() -> None:
    from device.config.device import RecognitionSection

    entry = read_calibration()["dlib_resnet_v1_int8"]
    assert entry["margin"] == RecognitionSection().margin
    assert entry["margin"] in cal.TABLE_MARGINS
