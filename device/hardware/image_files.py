"""Decoding a still image file into the BGR frame every vision stage takes, refusing what is unsafe.

JPEG, PNG, PGM and the other formats OpenCV reads are decoded by OpenCV (the decoder the rest of the
pipeline uses); GIF, which OpenCV cannot read, by Pillow. The header is read first with Pillow, which
does not decode pixels, so a huge image (a decompression bomb, or a 50-megapixel photo that would stall a
Pi) is refused before any memory is spent on it.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from device.errors import InputError
from device.vision.types import Image

#: Images above this many pixels are refused (a 12 MP phone photo passes; a 50 MP one does not).
DEFAULT_MAX_PIXELS = 40_000_000
#: Files above this size are refused before they are read (no still photo a camera makes is larger).
MAX_FILE_BYTES = 100 * 1024 * 1024


def read_image_file(
    path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, fit: tuple[int, int] | None = None
) -> Image:
    """The image in ``path`` as H x W x 3 uint8 BGR; InputError says why a file cannot be used.

    ``fit`` = (width, height) scales a larger image down to fit inside that box (never up).
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"{path.name}: file is {size // (1024 * 1024)} MiB, larger than the {MAX_FILE_BYTES // (1024 * 1024)} "
                "MiB an image may be.",
                "Use a smaller photo.",
                code="image-too-large",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path.name}: cannot be read ({exc.strerror or exc}).", "Check the file.") from exc
    return decode_image_bytes(data, path.name, max_pixels=max_pixels, fit=fit)


def decode_image_bytes(
    data: bytes, name: str, *, max_pixels: int = DEFAULT_MAX_PIXELS, fit: tuple[int, int] | None = None
) -> Image:
    """Decode an encoded image (``name`` only labels errors) into H x W x 3 uint8 BGR, see read_image_file."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(data)) as header:
            width, height = header.size
            fmt = header.format or ""
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        # Pillow raises SyntaxError for some malformed headers (e.g. a broken PGM).
        raise InputError(
            f"{name}: not an image in a known format.",
            "Use a JPEG, PNG, PGM or GIF photo.",
            code="image-unreadable",
        ) from exc
    if width * height > max_pixels:
        raise InputError(
            f"{name}: image is {width}x{height} ({width * height / 1e6:.0f} megapixels), more than the "
            f"{max_pixels / 1e6:.0f} megapixels allowed.",
            "Scale the photo down first.",
            code="image-too-large",
        )
    scale = 1.0 if fit is None else min(1.0, fit[0] / width, fit[1] / height)
    if fmt == "GIF":
        image = _decode_with_pillow(data, name)
    else:
        # A JPEG can be decoded at 1/2, 1/4 or 1/8 size directly (DCT scaling): far faster for a large
        # photo that is going to be shrunk anyway. Only a factor that keeps enough pixels is used.
        reduce = next((f for f in (8, 4, 2) if fmt == "JPEG" and f * scale <= 1.0), 1)
        image = _decode_with_opencv(data, name, fmt, reduce)
    if scale < 1.0:
        image = _resize(image, (max(1, round(width * scale)), max(1, round(height * scale))))
    return image


def _resize(image: Image, size: tuple[int, int]) -> Image:
    import cv2

    if (image.shape[1], image.shape[0]) == size:
        return image
    out: Image = np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    return out


def _decode_with_opencv(data: bytes, name: str, fmt: str, reduce: int = 1) -> Image:
    import cv2

    # IMREAD_COLOR turns greyscale into 3-channel BGR, drops alpha and applies EXIF orientation.
    flag = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8}[reduce]
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if image is None:
        raise InputError(
            f"{name}: the {fmt or 'image'} data is corrupt or truncated.",
            "Copy the file again from its source.",
            code="image-corrupt",
        )
    out: Image = np.ascontiguousarray(image, dtype=np.uint8)
    return out


def _decode_with_pillow(data: bytes, name: str) -> Image:
    from PIL import Image as PILImage

    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            picture.seek(0)  # an animated GIF is replayed by its first frame
            rgb = np.asarray(picture.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(
            f"{name}: the GIF data is corrupt or truncated.",
            "Copy the file again from its source.",
            code="image-corrupt",
        ) from exc
    out: Image = np.ascontiguousarray(rgb[:, :, ::-1])
    return out
