"""VideoFileCamera over a short MJPG video written from ORL photos; pacing on the monotonic clock."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.clock import FakeClock
from core.errors import InputError
from device.config.device import CameraSection
from device.hardware.camera import open_camera
from device.hardware.camera_fake import FakeCamera
from device.hardware.camera_replay import VideoFileCamera
from device.hardware.pacing import Pacer
from tests.hardware.conftest import ORL, SleepRecorder, need

FRAMES = 6


@pytest.fixture
def video(tmp_path: Path) -> tuple[Path, list[np.ndarray]]:
    sources = [cv2.imread(str(need(ORL / f"s{i + 1}" / "1.pgm"))) for i in range(FRAMES)]
    path = tmp_path / "walk-up.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (92, 112))
    assert writer.isOpened()
    for image in sources:
        writer.write(image)
    writer.release()
    return path, sources


def _nearest(image: np.ndarray, sources: list[np.ndarray]) -> int:
    return int(np.argmin([np.abs(image.astype(int) - s.astype(int)).mean() for s in sources]))


def test_video_replays_every_frame_in_order_then_ends(video: tuple[Path, list[np.ndarray]]) -> None:
    path, sources = video
    with VideoFileCamera(path, loop=False, paced=False) as camera:
        frames = [camera.read() for _ in range(FRAMES)]
        assert camera.status() == "ok"
        assert camera.read() is None
        assert camera.read() is None
        assert camera.status() == "no frames"
    assert [f.index for f in frames if f is not None] == list(range(FRAMES))
    for i, frame in enumerate(frames):
        assert frame is not None and frame.image.dtype == np.uint8 and frame.image.shape == (112, 92, 3)
        assert _nearest(frame.image, sources) == i  # MJPG is lossy: each frame is closest to its source


def test_video_loops_back_to_the_first_frame(video: tuple[Path, list[np.ndarray]]) -> None:
    path, _ = video
    with VideoFileCamera(path, loop=True, paced=False) as camera:
        frames = [camera.read() for _ in range(2 * FRAMES + 1)]
    assert all(f is not None for f in frames)
    first, again, twice = frames[0], frames[FRAMES], frames[2 * FRAMES]
    assert first is not None and again is not None and twice is not None
    assert np.array_equal(first.image, again.image) and np.array_equal(first.image, twice.image)
    assert [f.index for f in frames if f is not None] == list(range(2 * FRAMES + 1))


def test_paced_replay_never_delivers_a_frame_before_it_is_due(
    video: tuple[Path, list[np.ndarray]], fake_clock: FakeClock, fake_sleep: SleepRecorder
) -> None:
    path, _ = video
    with VideoFileCamera(path, fps=10.0, loop=True, paced=True, clock=fake_clock, sleep=fake_sleep) as camera:
        frames = [camera.read() for _ in range(8)]
    times = [f.monotonic_ns for f in frames if f is not None]
    assert len(times) == 8
    period = 100_000_000
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [period] * 7
    # It waited by sleeping once per frame for the remaining time, not by spinning on the clock.
    assert fake_sleep.calls == [pytest.approx(0.1)] * 7


def test_paced_fake_camera_on_the_real_clock_keeps_frames_a_period_apart() -> None:
    fps = 50.0
    with FakeCamera(width=160, height=120, fps=fps, paced=True, frames=5) as camera:
        frames = [camera.read() for _ in range(5)]
        assert camera.read() is None
    times = [f.monotonic_ns for f in frames if f is not None]
    period = int(1e9 / fps)
    for i, t in enumerate(times):
        assert t - times[0] >= i * period, f"frame {i} came before its due time"


def test_a_consumer_that_falls_behind_gets_no_burst_of_late_frames(
    fake_clock: FakeClock, fake_sleep: SleepRecorder
) -> None:
    pacer = Pacer(0.1, clock=fake_clock, sleep=fake_sleep)
    start = pacer.wait()
    fake_clock.mono_ns += 1_000_000_000  # the consumer spent a second on something else
    late = pacer.wait()
    after = pacer.wait()
    assert late == start + 1_000_000_000  # delivered at once, not a burst of ten stale ones
    assert after == late + 100_000_000  # and the schedule continues from there


def test_unpaced_replay_does_not_sleep(video: tuple[Path, list[np.ndarray]], fake_clock: FakeClock,
                                       fake_sleep: SleepRecorder) -> None:
    path, _ = video
    with VideoFileCamera(path, loop=False, paced=False, clock=fake_clock, sleep=fake_sleep) as camera:
        while camera.read() is not None:
            pass
    assert fake_sleep.calls == []


def test_missing_or_unreadable_video_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a video file"):
        VideoFileCamera(tmp_path / "missing.avi")
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"RIFF....AVI not really" * 10)
    with pytest.raises(InputError, match="cannot be opened as a video"):
        VideoFileCamera(junk)


def test_open_camera_chooses_video_and_fake_only_as_configured(video: tuple[Path, list[np.ndarray]]) -> None:
    path, _ = video
    with open_camera(CameraSection(source="video", path=path), paced=False) as camera:
        assert isinstance(camera, VideoFileCamera)
    with open_camera(CameraSection(source="fake", width=320, height=240), paced=False) as fake:
        assert isinstance(fake, FakeCamera)
        frame = fake.read()
    assert frame is not None and frame.image.shape == (240, 320, 3)


def test_fake_frames_differ_by_their_counter() -> None:
    with FakeCamera(width=320, height=240, paced=False, frames=2) as camera:
        a, b = camera.read(), camera.read()
    assert a is not None and b is not None and not np.array_equal(a.image, b.image)
    assert time.monotonic_ns() >= b.monotonic_ns >= a.monotonic_ns
