"""Static int8 (QDQ) quantization of the converted dlib face ResNet, with ONNX Runtime.

Calibration chips are made the way the kiosk makes them: YuNet (cv2.FaceDetectorYN) finds the
face and its 5 landmarks in a full image, device.vision.alignment.align_chip cuts the 150 x 150
chip. Sources (all under $EDGEHR_SHARED/datasets/faces, never copied):
  calibration  every face in celeb-dev (colour), orl s*/10.pgm, yale subject*.normal
  gate         every 28th lfw-dev image, orl s*/5.pgm, yale subject*.happy
The gate set is disjoint from the calibration set; it measures each variant against the float
model (cosine of the descriptors). LFW identities are not used for calibration, so
models/parity.py's LFW verification figures are not fitted to them.

Variants (dlib-resnet.md): "all_int8", "reduce_range" (7-bit weights; avoids the u8 x s8
saturation of x86 kernels without VNNI), "conv1_float" (first convolution left in float32,
the rest int8), "conv1_float_reduce_range". CHOSEN_VARIANT is the one built; it must keep the
minimum cosine to the float model >= MIN_COSINE on the gate set or the build fails.
`python models/recipes/quantize_embedder.py --compare` measures them all again.

Determinism: MinMax calibration, then every calibrated range is rounded OUTWARD to 8
significant bits before quantizing, so last-bit float differences in the calibration pass
(thread count, CPU kernels) do not change a single scale; the model is serialised with
deterministic=True. Same inputs + same onnxruntime version -> same bytes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

CHECKOUT = Path(__file__).resolve().parents[2]
YUNET_REL = "models-src/yunet/yunet_s_640_640.onnx"
YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
MIN_COSINE = 0.99
# Chosen from `--compare` on this project's reference x86 machine (AVX2, no VNNI); see the
# table in models/manifest.toml. conv1_float is also the variant that does not depend on
# which int8 kernels a CPU has: the saturation-prone layer is simply not int8.
CHOSEN_VARIANT = "conv1_float"


@dataclass(frozen=True)
class Variant:
    name: str
    reduce_range: bool
    conv1_float: bool


VARIANTS = {
    v.name: v
    for v in (
        Variant("all_int8", reduce_range=False, conv1_float=False),
        Variant("reduce_range", reduce_range=True, conv1_float=False),
        Variant("conv1_float", reduce_range=False, conv1_float=True),
        Variant("conv1_float_reduce_range", reduce_range=True, conv1_float=True),
    )
}

Chips = NDArray[np.uint8]


def shared_dir() -> Path:
    _ensure_checkout_on_path()
    from core.paths import shared_dir as _shared_dir

    return _shared_dir()


def _ensure_checkout_on_path() -> None:
    # The recipes run as plain scripts from the checkout; device/ must be importable for the
    # alignment code the kiosk itself uses.
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))




# ---------------------------------------------------------------------------------------------
# Chips
# ---------------------------------------------------------------------------------------------


class ChipMaker:
    """YuNet on the full image, then align_chip: the kiosk's own pipeline."""

    def __init__(self, shared: Path, score_threshold: float = 0.6) -> None:
        import cv2

        model = shared / YUNET_REL
        if not model.is_file():
            raise SystemExit(f"YuNet model {model} not found; set EDGEHR_SHARED to the shared data folder")
        _ensure_checkout_on_path()
        from device.vision.model_files import file_sha256

        if file_sha256(model) != YUNET_SHA256:
            raise SystemExit(f"{model} does not have the sha256 in models/manifest.toml; restore the original file")
        self._cv2 = cv2
        self._detector = cv2.FaceDetectorYN.create(str(model), "", (320, 320), score_threshold, 0.3, 100)

    def detect(self, rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
        """YuNet rows (x, y, w, h, 10 landmark coords, score), most confident first."""
        h, w = rgb.shape[:2]
        self._detector.setInputSize((w, h))
        # detect() returns None when there is no face, which OpenCV's stubs do not say.
        faces: Any = self._detector.detect(self._cv2.cvtColor(rgb, self._cv2.COLOR_RGB2BGR))[1]
        if faces is None:
            return np.zeros((0, 15), dtype=np.float32)
        order = np.argsort(-faces[:, 14], kind="stable")
        return np.asarray(faces[order], dtype=np.float32)

    def chips(self, rgb: NDArray[np.uint8], *, min_size: float = 40.0, only_central: bool = False) -> list[Chips]:
        _ensure_checkout_on_path()
        from device.vision.alignment import align_chip

        faces = self.detect(rgb)
        faces = faces[(faces[:, 2] >= min_size) & (faces[:, 3] >= min_size)]
        if only_central and len(faces):
            h, w = rgb.shape[:2]
            d = (faces[:, 0] + faces[:, 2] / 2 - w / 2) ** 2 + (faces[:, 1] + faces[:, 3] / 2 - h / 2) ** 2
            faces = faces[[int(np.argmin(d))]]
        return [align_chip(rgb, f[4:14].reshape(5, 2)) for f in faces]


def load_rgb(path: Path) -> NDArray[np.uint8]:
    from PIL import Image  # reads PGM (ORL) and GIF (Yale), which OpenCV does not all read

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _subjects(root: Path, pattern: str) -> list[Path]:
    return sorted(root.glob(pattern))


def calibration_files(faces: Path) -> list[tuple[Path, bool]]:
    """(image, only the central face?) for the calibration set, in a fixed order."""
    files = [(p, False) for p in sorted((faces / "celeb-dev").glob("*.jpg"))]
    files += [(p, True) for p in _subjects(faces / "orl", "s*/10.pgm")]
    files += [(p, True) for p in _subjects(faces / "yale", "subject*.normal")]
    return files


def gate_files(faces: Path) -> list[tuple[Path, bool]]:
    with (faces / "lfw-dev" / "pairs.csv").open(newline="") as f:
        names = sorted({row[k] for row in csv.DictReader(f) for k in ("a", "b")})
    files = [(faces / "lfw-dev" / n, True) for n in names[::28]]
    files += [(p, True) for p in _subjects(faces / "orl", "s*/5.pgm")]
    files += [(p, True) for p in _subjects(faces / "yale", "subject*.happy")]
    return files


def make_chips(maker: ChipMaker, files: Sequence[tuple[Path, bool]]) -> Chips:
    chips: list[Chips] = []
    for path, central in files:
        chips += maker.chips(load_rgb(path), only_central=central)
    if not chips:
        raise SystemExit("no faces found for calibration; check $EDGEHR_SHARED/datasets/faces")
    return np.stack(chips)


def to_input(chips: Chips) -> NDArray[np.float32]:
    return np.ascontiguousarray(chips.transpose(0, 3, 1, 2), dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Quantization
# ---------------------------------------------------------------------------------------------


def _round_outward(value: float, up: bool, bits: int = 8) -> float:
    if value == 0.0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log2(abs(value))) - (bits - 1)
    step = 2.0**exponent
    q = value / step
    return (math.ceil(q) if up else math.floor(q)) * step


def calibrate(float_model: Path, chips: Chips, cache: Path) -> int:
    """MinMax ranges of every tensor over the chips, rounded outward, saved for quantize_static."""
    from onnxruntime.quantization.calibrate import (
        CalibrationDataReader,
        CalibrationMethod,
        TensorData,
        TensorsData,
        create_calibrator,
        save_tensors_data,
    )

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._it: Iterator[dict[str, NDArray[np.float32]]] = ({"chips": to_input(c[None])} for c in chips)

        def get_next(self) -> dict[str, NDArray[np.float32]] | None:
            return next(self._it, None)

    with tempfile.TemporaryDirectory(prefix="edgehr-calib-") as tmp:
        calibrator = create_calibrator(
            float_model,
            augmented_model_path=str(Path(tmp) / "augmented.onnx"),
            calibrate_method=CalibrationMethod.MinMax,
        )
        calibrator.collect_data(Reader())
        ranges = calibrator.compute_data()
        del calibrator
    rounded: dict[str, Any] = {}
    for name, data in sorted(ranges.items()):
        lo, hi = (float(np.asarray(v).reshape(())) for v in data.range_value)
        rounded[name] = TensorData(
            lowest=np.array(_round_outward(lo, up=False), dtype=np.float32),
            highest=np.array(_round_outward(hi, up=True), dtype=np.float32),
        )
    save_tensors_data(TensorsData(CalibrationMethod.MinMax, rounded), cache)
    return len(rounded)


def quantize(float_model: Path, cache: Path, variant: Variant, out: Path) -> str:
    """Write the int8 QDQ model for one variant; returns its sha256."""
    import inspect

    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    if "calibration_cache_path" not in inspect.signature(quantize_static).parameters:
        raise SystemExit("this recipe needs onnxruntime >= 1.32 (quantize_static(calibration_cache_path=...))")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edgehr-quant-") as tmp:
        raw = Path(tmp) / "q.onnx"
        quantize_static(
            str(float_model),
            str(raw),
            calibration_data_reader=None,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=variant.reduce_range,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=["conv1"] if variant.conv1_float else [],
            calibration_cache_path=str(cache),
            extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
        )
        model = onnx.load(str(raw))
    model.doc_string = (
        f"int8 QDQ ({variant.name}, per-channel weights) of the dlib face ResNet; "
        "input float32 N x 3 x 150 x 150 RGB 0..255; output raw 128-d descriptor. "
        "Built by edgehr models/recipes/quantize_embedder.py."
    )
    blob = model.SerializeToString(deterministic=True)
    tmp_out = out.with_suffix(out.suffix + ".tmp")
    tmp_out.write_bytes(blob)
    tmp_out.replace(out)
    return hashlib.sha256(blob).hexdigest()


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------


def session(path: Path, threads: int = 1) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def descriptors(sess: Any, chips: Chips, batch: int = 32) -> NDArray[np.float32]:
    parts = [sess.run(None, {"chips": to_input(chips[i : i + batch])})[0] for i in range(0, len(chips), batch)]
    return np.concatenate(parts).astype(np.float32)


def cosines(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float64]:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return np.asarray(
        (a64 * b64).sum(1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)), dtype=np.float64
    )


def ms_per_face(sess: Any, chips: Chips, repeats: int = 3) -> float:
    x = to_input(chips)
    sess.run(None, {"chips": x[:1]})  # warm-up: first run allocates
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(len(x)):
            sess.run(None, {"chips": x[i : i + 1]})
        best = min(best, (time.perf_counter() - t0) / len(x))
    return best * 1000.0


@dataclass(frozen=True)
class GateResult:
    variant: str
    min_cosine: float
    mean_cosine: float
    same_side_06: float  # share of gate pairs judged alike by dlib's raw 0.6 rule, float vs int8
    ms_per_face: float
    sha256: str

    def line(self) -> str:
        return (
            f"{self.variant:26s} min cos {self.min_cosine:.5f}  mean cos {self.mean_cosine:.6f}  "
            f"0.6-rule agreement {self.same_side_06 * 100:.2f}%  {self.ms_per_face:.2f} ms/face"
        )


def gate(float_model: Path, int8_model: Path, chips: Chips, variant: str, sha: str) -> GateResult:
    ref = descriptors(session(float_model), chips)
    sess = session(int8_model)
    q = descriptors(sess, chips)
    cos = cosines(ref, q)

    def same(d: NDArray[np.float32]) -> NDArray[np.bool_]:
        dist = np.linalg.norm(d[:, None, :] - d[None, :, :], axis=2)
        iu = np.triu_indices(len(d), 1)
        return np.asarray(dist[iu] <= 0.6)

    agree = float(np.mean(same(ref) == same(q)))
    return GateResult(variant, float(cos.min()), float(cos.mean()), agree, ms_per_face(sess, chips[:40]), sha)


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def build(float_model: Path, out: Path, *, shared: Path | None = None, log: Any = print) -> GateResult:
    """Build CHOSEN_VARIANT at `out`; raises SystemExit when it fails the cosine gate."""
    faces = (shared or shared_dir()) / "datasets" / "faces"
    maker = ChipMaker(shared or shared_dir())
    calib = make_chips(maker, calibration_files(faces))
    held_out = make_chips(maker, gate_files(faces))
    log(f"  calibration chips: {len(calib)}, gate chips: {len(held_out)}")
    with tempfile.TemporaryDirectory(prefix="edgehr-calib-") as tmp:
        cache = Path(tmp) / "ranges.json"
        n = calibrate(float_model, calib, cache)
        log(f"  calibrated {n} tensors (MinMax, ranges rounded outward to 8 significant bits)")
        sha = quantize(float_model, cache, VARIANTS[CHOSEN_VARIANT], out)
    result = gate(float_model, out, held_out, CHOSEN_VARIANT, sha)
    log("  " + result.line())
    if result.min_cosine < MIN_COSINE:
        out.unlink()
        raise SystemExit(f"int8 model fails the gate: min cosine {result.min_cosine:.4f} < {MIN_COSINE}")
    return result


def compare(float_model: Path, out_dir: Path) -> list[GateResult]:
    shared = shared_dir()
    faces = shared / "datasets" / "faces"
    maker = ChipMaker(shared)
    calib = make_chips(maker, calibration_files(faces))
    held_out = make_chips(maker, gate_files(faces))
    print(f"calibration chips: {len(calib)}, gate chips: {len(held_out)}")
    results = []
    cache = out_dir / "calibration-ranges.json"
    calibrate(float_model, calib, cache)
    print(f"float32: {ms_per_face(session(float_model), held_out[:40]):.2f} ms/face (1 thread)")
    for v in VARIANTS.values():
        path = out_dir / f"embedder-{v.name}.onnx"
        sha = quantize(float_model, cache, v, path)
        r = gate(float_model, path, held_out, v.name, sha)
        print(r.line())
        results.append(r)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--float", dest="float_model", type=Path, default=CHECKOUT / "models/build/dlib_resnet_v1.onnx")
    ap.add_argument("--out", type=Path, default=None, help="output .onnx (default: build the chosen variant)")
    ap.add_argument("--compare", type=Path, metavar="DIR", help="build and measure every variant into DIR")
    args = ap.parse_args(argv)
    if args.compare:
        args.compare.mkdir(parents=True, exist_ok=True)
        results = compare(args.float_model, args.compare)
        (args.compare / "variants.json").write_text(json.dumps([r.__dict__ for r in results], indent=2) + "\n")
        return 0
    out = args.out or CHECKOUT / "models/build/dlib_resnet_v1_int8.onnx"
    r = build(args.float_model, out)
    print(f"wrote {out} sha256 {r.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
