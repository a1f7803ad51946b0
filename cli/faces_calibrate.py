"""Handler of ``edgehr faces calibrate --root DIR [--far F] [--enrol-k K] [--json]``.

Output, in this order (the first two parts and the last line's existing fields are stable):
1. the FAR/FRR table over pairs: ``{"threshold", "far", "frr"}`` per line;
2. the 1:N margin table (device.vision.calibration ``gallery_split``/``margin_rows``): per margin
   ``{"margin", "threshold", "genuine_accept", "wrong_person_accept", "unknown_accept"}``, at the
   threshold chosen for the target FAR;
3. the summary, last: threshold for the target FAR, its FAR/FRR, AUC and counts, plus the gallery
   simulation's counts and ``chosen_margin`` (``choose_margin``'s rule).
"""

from __future__ import annotations

import argparse

import numpy as np

from cli.faces import TABLE_THRESHOLDS, _emit
from core.errors import InputError
from device.config.device import RecognitionSection


def calibrate(args: argparse.Namespace) -> int:
    from core.images import load_image
    from device.vision.pipeline import real_pipeline
    from drills.vision import calibration as cal

    if not 0 < args.far < 1:
        raise InputError(f"--far {args.far} is not a rate between 0 and 1.", "Give e.g. --far 1e-3.")
    if args.enrol_k < 1:
        raise InputError(f"--enrol-k {args.enrol_k} enrols no image.", "Give 1 or more images per person.")
    items = cal.labelled_images(args.root)
    if not items:
        raise InputError(f"{args.root} holds no ROOT/<person>/<image> files.",
                         "Point --root at a folder with one sub-folder of photos per person.")
    pipeline = real_pipeline(RecognitionSection())
    labels: list[str] = []
    vectors: list[np.ndarray] = []
    failed = 0
    for person, path in items:
        try:
            vector, _ = pipeline.embed_for_compare(load_image(path))
        except InputError:
            vector = None
        if vector is None:
            failed += 1
            continue
        labels.append(person)
        vectors.append(vector)
    genuine_idx, impostor_idx = cal.pair_protocol(labels)
    if len(genuine_idx) == 0 or len(impostor_idx) == 0:
        raise InputError("Calibration needs at least two images of one person and two people.",
                         "Add more labelled photos under --root.")
    matrix = np.stack(vectors)
    genuine = cal.pair_scores(matrix, genuine_idx)
    impostor = cal.pair_scores(matrix, impostor_idx)
    for row in cal.far_frr_rows(genuine, impostor, TABLE_THRESHOLDS):
        _emit(row, args.json, f"threshold {row['threshold']:.3f}  FAR {row['far']:.5f}  FRR {row['frr']:.4f}")
    threshold = cal.threshold_at_far(impostor, args.far)

    split = cal.gallery_split(labels, enrol_k=args.enrol_k)
    margins: list[dict[str, float]] = []
    if split.enrolled and split.known_probes:
        probes = cal.gallery_probes(matrix, labels, split)
        margins = cal.margin_rows(probes, threshold, cal.TABLE_MARGINS)
        for row in margins:
            _emit(row, args.json, f"margin {row['margin']:.3f}  genuine accepted {row['genuine_accept']:.4f}  "
                                  f"wrong person accepted {row['wrong_person_accept']:.5f}  "
                                  f"unknown accepted {row['unknown_accept']:.5f}  (1:N at threshold {threshold:.4f})")

    summary: dict[str, object] = {
        "target_far": args.far,
        "threshold": round(threshold, 6),
        "far": cal.far(impostor, threshold),
        "frr": cal.frr(genuine, threshold),
        "auc": round(cal.roc_auc(genuine, impostor), 6),
        "genuine_pairs": int(genuine.size),
        "impostor_pairs": int(impostor.size),
        "images": len(items),
        "failed_images": failed,
        "embedder": pipeline.embedder.name,
        "version": pipeline.embedder.version,
        "enrol_k": args.enrol_k,
        "gallery_people": len(split.enrolled),
        "known_probes": len(split.known_probes),
        "unknown_probes": len(split.unknown_probes),
        "chosen_margin": cal.choose_margin(margins) if margins else None,
    }
    if impostor.size * args.far < 10:
        summary["warning"] = "fewer than 10 impostor pairs lie above the target FAR: the threshold is uncertain"
    margin_text = (f"; margin {summary['chosen_margin']:g} (best genuine acceptance - "
                   f"{cal.MARGIN_ERROR_COST:g} x wrong acceptance in a {len(split.enrolled)}-person gallery)"
                   if margins else "; no person has more than --enrol-k images: no margin simulation")
    _emit(summary, args.json,
          f"threshold for FAR <= {args.far:g}: {threshold:.4f} (FAR {summary['far']:.5f}, FRR {summary['frr']:.4f}, "
          f"AUC {summary['auc']:.4f}; {summary['genuine_pairs']} genuine / {summary['impostor_pairs']} impostor "
          f"pairs; {failed} of {len(items)} images without a face){margin_text}")
    return 0
