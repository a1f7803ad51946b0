"""Safe image loading: every format, grey and colour, EXIF rotation, corrupt and huge files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from core.errors import InputError
from core.images import MAX_PIXELS, load_image
from tests.vision.conftest import FACES, needs_faces


def _check_bgr(image: np.ndarray, height: int, width: int) -> None:
    assert image.dtype == np.uint8
    assert image.shape == (height, width, 3)
    assert image.flags["C_CONTIGUOUS"]


@needs_faces
def test_dataset_formats_load_as_bgr() -> None:
    _check_bgr(load_image(FACES / "orl" / "s1" / "1.pgm"), 112, 92)  # PGM, grey
    _check_bgr(load_image(FACES / "yale" / "subject01.glasses"), 243, 320)  # GIF without suffix, grey
    _check_bgr(load_image(FACES / "lfw-dev" / "AJ_Cook" / "AJ_Cook_0001.jpg"), 250, 250)  # JPEG, colour
    grey = load_image(FACES / "orl" / "s1" / "1.pgm")
    assert np.array_equal(grey[..., 0], grey[..., 2])  # grey replicated into 3 channels


def test_png_grey_colour_and_alpha(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    colour = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "colour.png"), colour)
    assert np.array_equal(load_image(tmp_path / "colour.png"), colour)
    grey = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    assert np.array_equal(load_image(tmp_path / "grey.png")[..., 1], grey)
    rgba = np.dstack([colour, np.full((30, 40), 128, np.uint8)])
    cv2.imwrite(str(tmp_path / "alpha.png"), rgba)
    assert np.array_equal(load_image(tmp_path / "alpha.png"), colour)


def test_gif_colour_reads_rgb_in_bgr_order(tmp_path: Path) -> None:
    pixels = np.zeros((10, 12, 3), np.uint8)
    pixels[..., 0] = 255  # pure red in RGB
    PILImage.fromarray(pixels).save(tmp_path / "red.gif")
    image = load_image(tmp_path / "red.gif")
    _check_bgr(image, 10, 12)
    assert image[5, 5, 2] > 200 and image[5, 5, 0] < 50  # red lands in BGR's last channel


def test_jpeg_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = np.zeros((20, 40, 3), np.uint8)  # stored landscape, 40 wide
    pixels[:, :20] = 255  # left half white
    exif = PILImage.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display": a phone held upright
    PILImage.fromarray(pixels).save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    image = load_image(tmp_path / "phone.jpg")
    _check_bgr(image, 40, 20)  # displayed portrait
    assert image[5, 10].mean() > 200 and image[35, 10].mean() < 50  # the left half is now the top


@pytest.mark.parametrize(
    "content",
    [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, b"\xff\xd8\xff\xe0" + b"\x00" * 50],
    ids=["empty", "text", "png-garbage", "jpeg-garbage"],
)
def test_corrupt_files_are_unreadable(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        load_image(path)
    assert caught.value.code == "unreadable"
    assert "bad.jpg" in str(caught.value)


@needs_faces
def test_truncated_jpeg_is_unreadable(tmp_path: Path) -> None:
    data = (FACES / "celeb-dev" / "img1.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as caught:
        load_image(tmp_path / "cut.jpg")
    assert caught.value.code == "unreadable"


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_image(tmp_path / "absent.png")
    assert caught.value.code == "unreadable"


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (valid CRC), with a token pixel stream."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(
        b"IEND", b"")


def test_huge_image_is_refused_from_its_header(tmp_path: Path) -> None:
    side = int(np.sqrt(MAX_PIXELS)) + 100
    (tmp_path / "bomb.png").write_bytes(_png_claiming(side, side))
    with pytest.raises(InputError) as caught:
        load_image(tmp_path / "bomb.png")
    assert caught.value.code == "too-large"
    assert f"{side} x {side}" in str(caught.value)


def test_a_pillow_bomb_is_too_large_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "bomb.png").write_bytes(_png_claiming(60_000, 60_000))  # past Pillow's own bomb limit
    with pytest.raises(InputError) as caught:
        load_image(tmp_path / "bomb.png")
    assert caught.value.code == "too-large" and "bomb.png" in str(caught.value)


def test_a_lower_pixel_limit_is_applied(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "wide.png"), np.zeros((100, 200, 3), np.uint8))
    assert load_image(tmp_path / "wide.png", max_pixels=20_000).shape == (100, 200, 3)
    with pytest.raises(InputError) as caught:
        load_image(tmp_path / "wide.png", max_pixels=19_999)
    assert caught.value.code == "too-large" and "200 x 100" in str(caught.value)


def _gradient(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.dstack([xx * 255 // width, yy * 255 // height, np.full((height, width), 90)]).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_fit_shrinks_to_the_box_keeping_the_aspect(tmp_path: Path, suffix: str) -> None:
    pixels = _gradient(900, 1600)
    cv2.imwrite(str(tmp_path / f"big{suffix}"), pixels)
    image = load_image(tmp_path / f"big{suffix}", fit=(320, 240))
    _check_bgr(image, 180, 320)  # 1600 x 900 -> 320 x 180: width is the limit
    # Same picture, smaller (a JPEG decoded at 1/4 scale, then area-resized): compare to a full decode.
    expected = cv2.resize(pixels, (320, 180), interpolation=cv2.INTER_AREA).astype(np.int16)
    assert np.abs(image.astype(np.int16) - expected).mean() < 3


def test_fit_never_enlarges(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "small.jpg"), _gradient(60, 80))
    _check_bgr(load_image(tmp_path / "small.jpg", fit=(640, 480)), 60, 80)


def test_fit_applies_to_the_upright_picture(tmp_path: Path) -> None:
    """A portrait phone JPEG is stored landscape with EXIF orientation 6: fit must use the upright size."""
    exif = PILImage.Exif()
    exif[0x0112] = 6
    stored = _gradient(600, 800)[..., ::-1]  # RGB for Pillow
    PILImage.fromarray(np.ascontiguousarray(stored)).save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    image = load_image(tmp_path / "phone.jpg", fit=(300, 300))
    _check_bgr(image, 300, 225)  # upright 600 x 800 (w x h) -> 225 x 300


def test_decode_image_names_the_file_given_as_text() -> None:
    from core.images import decode_image

    with pytest.raises(InputError) as caught:
        decode_image(b"nope", "upload-7.jpg")
    assert caught.value.code == "unreadable" and "upload-7.jpg" in str(caught.value)
