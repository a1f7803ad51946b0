"""``edgehr bench hardware``: how fast the replay adapters deliver, and how closely pacing keeps time.

Measured on one thread (cv2.setNumThreads(1); numpy's element-wise work is single-threaded) over the
shared datasets read in place: image-folder replay of ORL (small PGM) and celeb-dev (large JPEG scaled to
640x480), MJPG video replay (a clip written to a temp folder from ORL images), WAV loading with and
without 22.05 -> 16 kHz conversion, and the lateness of paced frames at 15 fps on the real clock.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from core.paths import shared_dir


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    detail: str


def _frames_per_second(camera: object, limit: int) -> tuple[float, int]:
    read = camera.read  # type: ignore[attr-defined]
    start = time.perf_counter()
    count = 0
    for _ in range(limit):
        if read() is None:
            break
        count += 1
    return count / (time.perf_counter() - start), count


def run() -> list[Figure]:
    import cv2

    from device.hardware.camera_fake import FakeCamera
    from device.hardware.camera_replay import ImageFolderCamera, VideoFileCamera
    from device.hardware.microphone import SAMPLE_RATE, load_wav_pcm16

    cv2.setNumThreads(1)
    faces = shared_dir() / "datasets" / "faces"
    speech = shared_dir() / "datasets" / "speech" / "en"
    figures: list[Figure] = []

    orl = sorted((faces / "orl").glob("s*/*.pgm"))
    with tempfile.TemporaryDirectory(prefix="edgehr-bench-") as tmp:
        folder = Path(tmp) / "orl"
        folder.mkdir()
        for i, path in enumerate(orl):  # one flat folder of links: the replay reads the files in place
            (folder / f"{i:03d}.pgm").symlink_to(path)
        with ImageFolderCamera(folder, paced=False, loop=False, frames_per_image=1) as camera:
            fps, n = _frames_per_second(camera, 10_000)
        figures.append(Figure("folder replay, ORL 92x112 PGM", fps, "frames/s", f"{n} images, 1 frame each"))

        with ImageFolderCamera(
            faces / "celeb-dev", paced=False, loop=False, frames_per_image=1, max_size=(640, 480)
        ) as camera:
            fps, n = _frames_per_second(camera, 10_000)
        figures.append(Figure("folder replay, celeb-dev JPEG -> 640x480", fps, "frames/s", f"{n} images decoded"))
        with ImageFolderCamera(
            faces / "celeb-dev", paced=False, loop=False, frames_per_image=5, max_size=(640, 480)
        ) as camera:
            fps, n = _frames_per_second(camera, 10_000)
        figures.append(Figure("folder replay, celeb-dev, 5 frames/image", fps, "frames/s", f"{n} frames"))

        clip = Path(tmp) / "orl.avi"
        writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (92, 112))
        for path in orl:
            image = cv2.imread(str(path))
            if image is not None:
                writer.write(image)
        writer.release()
        with VideoFileCamera(clip, paced=False, loop=False) as video:
            fps, n = _frames_per_second(video, 10_000)
        figures.append(Figure("video replay, MJPG 92x112", fps, "frames/s", f"{n} frames"))

    for label, path in (("16 kHz mono (copy)", speech / "jfk" / "jfk_16k_mono.wav"),
                        ("22.05 kHz -> 16 kHz", speech / "ljspeech" / "LJ001-0001.wav")):
        start = time.perf_counter()
        pcm = load_wav_pcm16(path)
        elapsed = time.perf_counter() - start
        seconds = len(pcm) / 2 / SAMPLE_RATE
        figures.append(Figure(f"WAV load, {label}", seconds / elapsed, "x real time", f"{seconds:.1f} s of audio"))

    fps = 15.0
    with FakeCamera(width=640, height=480, fps=fps, paced=True, frames=31) as camera:
        frames = list(iter(camera.read, None))
    period = 1e9 / fps
    lateness = [(f.monotonic_ns - frames[0].monotonic_ns - i * period) / 1e6 for i, f in enumerate(frames)]
    figures.append(Figure("pacing at 15 fps: mean lateness", sum(lateness) / len(lateness), "ms", "30 periods"))
    figures.append(Figure("pacing at 15 fps: worst lateness", max(lateness), "ms", "never early by design"))
    return figures


def bench_hardware(args: argparse.Namespace) -> int:
    figures = run()
    if args.json:
        print(json.dumps([asdict(f) for f in figures], indent=2))
        return 0
    width = max(len(f.name) for f in figures)
    print(f"{'measure':<{width}}  {'value':>10}  unit          detail")
    for f in figures:
        print(f"{f.name:<{width}}  {f.value:>10.2f}  {f.unit:<12}  {f.detail}")
    print("one thread (cv2.setNumThreads(1)); data read in place from the shared datasets")
    return 0
