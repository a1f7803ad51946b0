"""ImageFolderCamera over a temp folder of real dataset photos (PGM, JPEG, extension-less GIF) and junk."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from core.errors import InputError
from device.config.device import CameraSection
from device.hardware.camera import open_camera
from device.hardware.camera_replay import ImageFolderCamera, natural_key
from tests.hardware.conftest import CELEB, ORL, YALE, need


def _gif_as_bgr(path: Path) -> np.ndarray:
    with PILImage.open(path) as picture:
        return np.asarray(picture.convert("RGB"))[:, :, ::-1]


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, list[np.ndarray]]:
    """Six files; natural order is 1, 2, 3-yale, 4-corrupt, 5-notes, 10. Returns the expected images."""
    shutil.copy(need(ORL / "s1" / "1.pgm"), tmp_path / "1.pgm")
    shutil.copy(need(CELEB / "img1.jpg"), tmp_path / "2.jpg")
    shutil.copy(need(YALE / "subject01.normal"), tmp_path / "3-yale")  # a GIF without an extension
    data = (CELEB / "img2.jpg").read_bytes()
    (tmp_path / "4-corrupt.jpg").write_bytes(data[: len(data) // 3])  # truncated JPEG
    (tmp_path / "5-notes.txt").write_text("not a photo\n")
    shutil.copy(need(ORL / "s2" / "1.pgm"), tmp_path / "10.pgm")
    expected = [
        cv2.imread(str(tmp_path / "1.pgm")),
        cv2.imread(str(tmp_path / "2.jpg")),
        _gif_as_bgr(tmp_path / "3-yale"),
        cv2.imread(str(tmp_path / "10.pgm")),
    ]
    return tmp_path, expected


def test_frames_come_in_natural_order_each_repeated_and_unusable_files_are_skipped(
    folder: tuple[Path, list[np.ndarray]], caplog: pytest.LogCaptureFixture
) -> None:
    path, expected = folder
    caplog.set_level(logging.WARNING)
    with ImageFolderCamera(path, loop=False, paced=False, frames_per_image=3) as camera:
        frames = [camera.read() for _ in range(12)]
        assert camera.status() == "ok"
        assert camera.read() is None
        assert camera.status() == "no frames"
        assert set(camera.skipped) == {"4-corrupt.jpg", "5-notes.txt"}
    images = [f.image for f in frames if f is not None]
    assert len(images) == 12
    assert [f.index for f in frames if f is not None] == list(range(12))
    for i, image in enumerate(images):
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert np.array_equal(image, expected[i // 3]), f"frame {i} is not image {i // 3}"
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "4-corrupt.jpg" in warned and "5-notes.txt" in warned


def test_frames_are_owned_copies(folder: tuple[Path, list[np.ndarray]]) -> None:
    path, expected = folder
    with ImageFolderCamera(path, loop=False, paced=False, frames_per_image=2) as camera:
        first = camera.read()
        assert first is not None
        first.image[:] = 0  # a consumer drawing on its frame must not change the next one
        second = camera.read()
    assert second is not None and np.array_equal(second.image, expected[0])


def test_loop_starts_again_and_warns_once_per_bad_file(
    folder: tuple[Path, list[np.ndarray]], caplog: pytest.LogCaptureFixture
) -> None:
    path, expected = folder
    caplog.set_level(logging.WARNING)
    with ImageFolderCamera(path, loop=True, paced=False, frames_per_image=1) as camera:
        frames = [camera.read() for _ in range(9)]
    for i, frame in enumerate(frames):
        assert frame is not None and np.array_equal(frame.image, expected[i % 4])
    assert sum("4-corrupt.jpg" in r.getMessage() for r in caplog.records) == 1


def test_large_images_are_scaled_to_fit_the_frame_size(tmp_path: Path) -> None:
    shutil.copy(need(CELEB / "img1.jpg"), tmp_path / "big.jpg")
    source = cv2.imread(str(tmp_path / "big.jpg"))
    shutil.copy(need(ORL / "s1" / "1.pgm"), tmp_path / "small.pgm")
    with ImageFolderCamera(tmp_path, loop=False, paced=False, frames_per_image=1, max_size=(320, 240)) as camera:
        big, small = camera.read(), camera.read()
    assert big is not None and small is not None
    height, width = big.image.shape[:2]
    assert width <= 320 and height <= 240 and (width == 320 or height == 240)
    assert abs(width / height - source.shape[1] / source.shape[0]) < 0.02
    # The JPEG was decoded at reduced size: the picture must still match a full decode scaled down.
    reference = cv2.resize(source, (width, height), interpolation=cv2.INTER_AREA)
    assert np.abs(big.image.astype(int) - reference.astype(int)).mean() < 3.0
    assert small.image.shape == (112, 92, 3)  # never scaled up


def test_an_image_over_the_pixel_limit_is_skipped_without_decoding(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 8000 x 6000 = 48 megapixels: a 1-bit PNG keeps the file small, the header still says 48 MP.
    PILImage.new("1", (8000, 6000)).save(tmp_path / "a-huge.png")
    shutil.copy(need(ORL / "s1" / "1.pgm"), tmp_path / "b.pgm")
    caplog.set_level(logging.WARNING)
    with ImageFolderCamera(tmp_path, loop=False, paced=False, frames_per_image=1) as camera:
        frame = camera.read()
        assert "megapixels" in camera.skipped["a-huge.png"]
    assert frame is not None and frame.image.shape == (112, 92, 3)
    assert any("a-huge.png" in r.getMessage() for r in caplog.records)


def test_a_folder_of_unusable_files_ends_with_an_error_status(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    (tmp_path / "b.txt").write_text("hello")
    with ImageFolderCamera(tmp_path, loop=True, paced=False) as camera:
        assert camera.read() is None
        assert camera.read() is None
        assert camera.status().startswith("error: no readable image")


def test_missing_or_empty_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a folder"):
        ImageFolderCamera(tmp_path / "nowhere")
    with pytest.raises(InputError, match="holds no files"):
        ImageFolderCamera(tmp_path)


def test_natural_order() -> None:
    names = ["10.pgm", "2.pgm", "1.pgm", "b", "a10", "a9"]
    assert sorted(names, key=natural_key) == ["1.pgm", "2.pgm", "10.pgm", "a9", "a10", "b"]


def test_open_camera_builds_the_folder_replay_from_config(folder: tuple[Path, list[np.ndarray]]) -> None:
    path, expected = folder
    config = CameraSection(source="folder", path=path, width=640, height=480, loop=False)
    with open_camera(config, paced=False, frames_per_image=1) as camera:
        assert isinstance(camera, ImageFolderCamera)
        frames = [camera.read() for _ in range(4)]
        assert camera.read() is None
    assert all(f is not None for f in frames)
    assert frames[0] is not None and np.array_equal(frames[0].image, expected[0])
