"""``edgehr faces compare|liveness|calibrate``: output format, error lines, and accuracy on LFW pairs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from drills.vision import calibration as cal
from tests.vision.conftest import FACES, needs_embedder, needs_faces

pytestmark = [needs_faces, needs_embedder]
LFW = FACES / "lfw-dev"


def run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> list[dict[str, object]]:
    assert main(argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_compare_lines_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    root.mkdir()
    for name in ("Aaron_Peirsol_0001.jpg", "Aaron_Peirsol_0002.jpg"):
        (root / name).symlink_to(LFW / "Aaron_Peirsol" / name)
    (root / "orl.pgm").symlink_to(FACES / "orl" / "s1" / "1.pgm")
    (root / "yale.gif").symlink_to(FACES / "yale" / "subject01.normal")
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "a,b,note\n"
        "Aaron_Peirsol_0001.jpg,Aaron_Peirsol_0002.jpg,same\n"
        "Aaron_Peirsol_0001.jpg,orl.pgm,different\n"
        "orl.pgm,yale.gif,different\n"
        "Aaron_Peirsol_0001.jpg,missing.jpg,absent\n"
        "corrupt.jpg,Aaron_Peirsol_0002.jpg,corrupt\n"
        "../pairs.csv,orl.pgm,escapes\n",
        encoding="utf-8",
    )
    lines = run_json(capsys, ["faces", "compare", "--root", str(root), "--pairs", str(pairs), "--json"])
    assert len(lines) == 7
    rows, last = lines[:-1], lines[-1]
    assert all(set(r) == {"a", "b", "score", "error"} for r in rows)
    same, diff, grey, missing, corrupt, escape = rows
    assert same["error"] is None and diff["error"] is None and grey["error"] is None
    assert isinstance(same["score"], float) and isinstance(diff["score"], float)
    assert same["score"] > diff["score"]
    assert missing["score"] is None and missing["error"] == "unreadable"
    assert corrupt["score"] is None and corrupt["error"] == "unreadable"
    assert escape["score"] is None and escape["error"] == "outside-root"
    assert set(last) == {"threshold"} and 0 < float(last["threshold"]) < 1  # type: ignore[arg-type]


def test_compare_needs_a_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("x.jpg,y.jpg\n", encoding="utf-8")
    assert main(["faces", "compare", "--root", str(tmp_path), "--pairs", str(pairs), "--json"]) == 1
    assert "a,b" in capsys.readouterr().err


def test_liveness_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (320, 240), (90, 90, 90)).save(blank)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"nope")
    live = FACES / "celeb-dev" / "img2.jpg"  # MiniFAS: 0.99999 real, above any configured threshold
    lines = run_json(capsys, ["faces", "liveness", str(live), str(blank), str(corrupt), "--json"])
    assert [set(line) for line in lines] == [{"path", "live", "score", "reason"}] * 3
    assert lines[0]["live"] is True and lines[0]["reason"] is None and float(lines[0]["score"]) >= 0.99  # type: ignore[arg-type]
    assert lines[1] == {"path": str(blank), "live": False, "score": None, "reason": "no-face"}
    assert lines[2] == {"path": str(corrupt), "live": False, "score": None, "reason": "unreadable"}


def _attack_frame(tmp_path: Path) -> Path:
    """A synthetic print attack saved as PNG: MiniFAS gives it a middling score, room for thresholds both sides."""
    import cv2

    from core.images import load_image
    from drills.vision.attacks import printed_photo

    path = tmp_path / "print.png"
    cv2.imwrite(str(path), printed_photo(load_image(FACES / "celeb-dev" / "img5.jpg"), seed=1))
    return path


def test_liveness_threshold_comes_from_the_option_or_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _attack_frame(tmp_path)
    (default,) = run_json(capsys, ["faces", "liveness", str(frame), "--json"])
    score = float(default["score"])  # type: ignore[arg-type]
    assert 0.001 < score < 0.999, "the test image needs a score away from 0 and 1"
    assert default["live"] is (score >= 0.9)  # recognition.liveness_threshold's default
    below, above = score / 2, (score + 1) / 2
    (low,) = run_json(capsys, ["faces", "liveness", str(frame), "--threshold", f"{below}", "--json"])
    (high,) = run_json(capsys, ["faces", "liveness", str(frame), "--threshold", f"{above}", "--json"])
    assert low == {"path": str(frame), "live": True, "score": default["score"], "reason": None}
    assert high == {"path": str(frame), "live": False, "score": default["score"], "reason": "spoof"}
    config = tmp_path / "device.toml"
    config.write_text(f'[device]\nid = "t1"\n\n[recognition]\nliveness_threshold = {below}\n', encoding="utf-8")
    (configured,) = run_json(capsys, ["faces", "liveness", str(frame), "--config", str(config), "--json"])
    assert configured == low
    # --threshold wins over the config file.
    (both,) = run_json(capsys, ["faces", "liveness", str(frame), "--config", str(config), "--threshold",
                                f"{above}", "--json"])
    assert both == high


def test_liveness_refuses_a_threshold_outside_0_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faces", "liveness", str(FACES / "celeb-dev" / "img2.jpg"), "--threshold", "1.5", "--json"]) == 1
    err = capsys.readouterr().err
    assert "--threshold 1.5" in err


def test_calibrate_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "people"
    for subject in ("s1", "s2", "s3", "s4", "s5", "s6"):
        (root / subject).mkdir(parents=True)
        for i in range(1, 6):
            (root / subject / f"{i}.pgm").symlink_to(FACES / "orl" / subject / f"{i}.pgm")
    lines = run_json(capsys, ["faces", "calibrate", "--root", str(root), "--far", "0.01", "--json"])
    summary = lines[-1]  # the summary stays the last line
    table = [r for r in lines[:-1] if set(r) == {"threshold", "far", "frr"}]
    margins = [r for r in lines[:-1] if "margin" in r]
    assert len(table) + len(margins) == len(lines) - 1
    assert lines[:len(table)] == table  # the FAR/FRR table first, as before
    assert [r["margin"] for r in margins] == list(cal.TABLE_MARGINS)
    assert all(set(r) == {"margin", "threshold", "genuine_accept", "wrong_person_accept", "unknown_accept"}
               for r in margins)
    genuine = [float(r["genuine_accept"]) for r in margins]  # type: ignore[arg-type]
    assert genuine == sorted(genuine, reverse=True)  # a larger margin never accepts more
    # 6 people with 5 images each, k = 1: every 5th person held out (s5), 5 enrolled with 4 probes each.
    assert summary["gallery_people"] == 5 and summary["known_probes"] == 20 and summary["unknown_probes"] == 5
    assert summary["chosen_margin"] in cal.TABLE_MARGINS
    fars = [float(r["far"]) for r in table]  # type: ignore[arg-type]
    assert fars == sorted(fars, reverse=True)  # FAR falls as the threshold rises
    assert summary["genuine_pairs"] == 6 * 10 and summary["impostor_pairs"] == 15 * 25
    assert summary["images"] == 30 and summary["failed_images"] == 0
    assert float(summary["far"]) <= 0.01  # type: ignore[arg-type]
    assert float(summary["auc"]) > 0.95  # type: ignore[arg-type]


def test_threshold_at_far_semantics() -> None:
    impostor = np.linspace(0, 1, 1000)
    t = cal.threshold_at_far(impostor, 0.01)
    assert cal.far(impostor, t) <= 0.01
    assert cal.far(impostor, float(np.nextafter(impostor[-11], -np.inf))) > 0.01  # nothing lower would do
    assert cal.roc_auc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert cal.roc_auc(np.array([0.5]), np.array([0.5])) == 0.5


#: Measured on lfw-dev pairs.csv (2,200 pairs) with the kiosk's int8 embedder through `faces compare`:
#: AUC 0.9929, best-threshold accuracy 0.9845 (0.950 at the FAR-1e-3 operating threshold), no face missed.
#: The floors are those minus a small tolerance.
LFW_AUC_FLOOR = 0.985
LFW_ACCURACY_FLOOR = 0.975


@pytest.mark.slow
def test_compare_accuracy_on_lfw_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    lines = run_json(capsys, ["faces", "compare", "--root", str(LFW), "--pairs", str(LFW / "pairs.csv"), "--json"])
    rows = lines[:-1]
    truth = [r["same"] == "1" for r in csv.DictReader((LFW / "pairs.csv").open())]
    assert len(rows) == len(truth) == 2200
    scores = np.array([-1.0 if r["score"] is None else float(r["score"]) for r in rows])  # type: ignore[arg-type]
    same = np.array(truth)
    auc = cal.roc_auc(scores[same], scores[~same])
    accuracy, _ = cal.best_accuracy(scores[same], scores[~same])
    assert sum(r["error"] is not None for r in rows) == 0  # every LFW face is found
    assert auc >= LFW_AUC_FLOOR
    assert accuracy >= LFW_ACCURACY_FLOOR
