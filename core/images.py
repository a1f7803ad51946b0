"""Safe image loading: any photo an admin uploads, a dataset holds or a replay folder holds becomes a BGR
uint8 H x W x 3 array. The one image decoder of the product (vision, enrolment, the server's photo
uploads and the folder camera all use it).

The size is read from the file's header (Pillow opens lazily) before any pixel is decoded, so a
"decompression bomb" or a photo above ``max_pixels`` is refused without allocating its pixels. JPEG, PNG
and PGM are decoded by OpenCV from bytes (``cv2.imread`` cannot take non-ASCII paths on every platform,
bytes can); GIF by Pillow (OpenCV has no GIF reader), first frame only. Grey, 16-bit and alpha images
become 8-bit BGR. Phone JPEGs carry their rotation in EXIF: it is applied, so a portrait selfie is
upright for the detector. ``fit`` = (width, height) scales a larger image down to fit that box (never
up), as a camera set to that resolution would deliver it; a JPEG is then decoded at 1/2, 1/4 or 1/8
size directly (DCT scaling), far faster for a large photo. Every refusal is an InputError with code
"unreadable" or "too-large" and a message naming the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.types import Image

#: Largest image accepted, in pixels (about a 48 MP phone photo is refused; 40 MP is plenty for a face).
MAX_PIXELS = 40_000_000
#: Largest file accepted, in bytes.
MAX_BYTES = 64 * 1024 * 1024


def _unreadable(path: Path, why: str) -> InputError:
    return InputError(
        f"Image {path.name} cannot be read: {why}.",
        "Use a JPEG, PNG, PGM or GIF photo that opens in an image viewer.",
        code="unreadable",
    )


def _too_large(path: Path, width: int, height: int, max_pixels: int = MAX_PIXELS) -> InputError:
    if width * height == 0:  # Pillow's own bomb check fired before the size was known
        return InputError(
            f"Image {path.name} declares more pixels than any photo needs (a decompression bomb?).",
            "Use an ordinary photo (a face needs only a few hundred pixels).",
            code="too-large",
        )
    return InputError(
        f"Image {path.name} is {width} x {height} pixels, above the limit of {max_pixels / 1e6:g} megapixels.",
        "Resize the photo (a face needs only a few hundred pixels) and try again.",
        code="too-large",
    )


def _header_size(path: Path, data: bytes) -> tuple[int, int, str, int]:
    """Width, height, format and EXIF orientation from the header only (no pixel decoding)."""
    import io
    import warnings

    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns about large images; this module applies its own, lower, limit.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as img:
                orientation = 1
                if img.format == "JPEG":
                    orientation = int(img.getexif().get(0x0112, 1) or 1)
                return int(img.width), int(img.height), str(img.format or ""), orientation
    except PILImage.DecompressionBombError as exc:
        raise _too_large(path, 0, 0) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise _unreadable(path, "not a recognised image format") from exc


def _apply_orientation(image: Image, orientation: int) -> Image:
    """EXIF orientation 1-8 (TIFF tag 274) -> upright pixels."""
    import cv2

    if orientation == 2:
        out = cv2.flip(image, 1)
    elif orientation == 3:
        out = cv2.rotate(image, cv2.ROTATE_180)
    elif orientation == 4:
        out = cv2.flip(image, 0)
    elif orientation == 5:
        out = cv2.flip(cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE), 1)
    elif orientation == 6:
        out = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    elif orientation == 7:
        out = cv2.flip(cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE), 1)
    elif orientation == 8:
        out = cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    else:
        return image
    return np.ascontiguousarray(out, dtype=np.uint8)


def to_bgr(pixels: np.ndarray) -> Image:
    """Grey (H x W or H x W x 1), BGR, or BGRA uint8 -> BGR uint8 H x W x 3."""
    import cv2

    if pixels.dtype == np.uint16:
        pixels = (pixels >> 8).astype(np.uint8)
    if pixels.dtype != np.uint8:
        raise InputError(f"Image has pixel type {pixels.dtype}, expected 8-bit.", "Save the photo as 8-bit.")
    if pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 1):
        out = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        out = cv2.cvtColor(pixels, cv2.COLOR_BGRA2BGR)
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        out = pixels
    else:
        raise InputError(f"Image has shape {pixels.shape}, expected grey or colour.", "Save the photo as RGB.")
    return np.ascontiguousarray(out, dtype=np.uint8)


def decode_image(
    data: bytes, path: Path | str, *, max_pixels: int = MAX_PIXELS, fit: tuple[int, int] | None = None
) -> Image:
    """Decode image bytes (``path`` only names the file in messages) into BGR uint8; see module docstring."""
    import cv2

    path = Path(path)
    if not data:
        raise _unreadable(path, "the file is empty")
    if len(data) > MAX_BYTES:
        raise InputError(
            f"Image {path.name} is {len(data) // (1024 * 1024)} MB, above the {MAX_BYTES // (1024 * 1024)} MB limit.",
            "Resize or re-compress the photo and try again.",
            code="too-large",
        )
    width, height, fmt, orientation = _header_size(path, data)
    if width * height > max_pixels:
        raise _too_large(path, width, height, max_pixels)
    if width < 1 or height < 1:
        raise _unreadable(path, "it has no pixels")
    rotated = fmt == "JPEG" and orientation in (5, 6, 7, 8)  # EXIF turns these a quarter: upright w/h swap
    upright = (height, width) if rotated else (width, height)
    scale = 1.0 if fit is None else min(1.0, fit[0] / upright[0], fit[1] / upright[1])
    reduce = 1
    if fmt == "GIF":
        pixels = _decode_with_pillow(data, path)
    else:
        # DCT scaling only by a factor that still leaves at least the pixels ``fit`` asks for.
        reduce = next((f for f in (8, 4, 2) if fmt == "JPEG" and f * scale <= 1.0), 1)
        flag = {1: cv2.IMREAD_UNCHANGED, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                8: cv2.IMREAD_REDUCED_COLOR_8}[reduce]
        decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag | cv2.IMREAD_IGNORE_ORIENTATION)
        # OpenCV returns None for corrupt data and for the few formats Pillow identifies but this
        # OpenCV build lacks: Pillow then decodes it, or raises "unreadable" for corrupt pixels.
        if decoded is None:
            pixels, reduce = _decode_with_pillow(data, path), 1
        else:
            pixels = np.asarray(decoded)
    image = to_bgr(pixels)
    # libjpeg's scaled size is the ceiling of size / factor.
    if image.shape[0] != -(-height // reduce) or image.shape[1] != -(-width // reduce):
        raise _unreadable(path, "the decoded size differs from the header (truncated or corrupt file)")
    if fmt == "JPEG":
        image = _apply_orientation(image, orientation)
    if scale < 1.0:
        size = (max(1, round(upright[0] * scale)), max(1, round(upright[1] * scale)))
        if (image.shape[1], image.shape[0]) != size:
            image = np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return image


def _decode_with_pillow(data: bytes, path: Path) -> np.ndarray:
    import io
    import warnings

    from PIL import Image as PILImage

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as img:
                img.seek(0)  # first frame of an animated GIF
                rgb = img.convert("RGB")
                rgb.load()
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise _unreadable(path, "the pixel data is corrupt or truncated") from exc
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[..., ::-1])


def read_image_file(path: Path, *, limit: int = MAX_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; InputError otherwise.

    Every image file edgehr reads goes through here. The file's size in ``stat`` cannot be trusted: a
    device (``/dev/zero``), a ``/proc`` file or a file still being written reports 0 or less than it
    yields, so the read itself is bounded. Only regular files are read: a FIFO would block the reader
    forever and a device never ends. The file is opened non-blocking (opening a FIFO with no writer
    would otherwise hang before any check) and checked on the open descriptor, so a name swapped for
    something else between a check and the read changes nothing.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _unreadable(path, "the file does not exist or cannot be opened") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # checked before fdopen, which refuses a folder on its own terms
            raise _unreadable(path, "it is not a regular file (a folder, device, pipe or socket)")
        if info.st_size > limit:
            raise _over_limit(path, info.st_size, limit)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise _unreadable(path, "the file cannot be read") from exc
    if len(data) > limit:  # grew while it was read, or its size was not what stat said
        raise _over_limit(path, len(data), limit)
    return data


def _over_limit(path: Path, size: int, limit: int) -> InputError:
    return InputError(
        f"Image {path.name} is over {size // (1024 * 1024)} MB, above the {limit // (1024 * 1024)} MB limit.",
        "Resize or re-compress the photo and try again.",
        code="too-large",
    )


def load_image(path: Path, *, max_pixels: int = MAX_PIXELS, fit: tuple[int, int] | None = None) -> Image:
    """Read an image file into BGR uint8 H x W x 3; InputError (code unreadable/too-large) if it cannot be used."""
    return decode_image(read_image_file(path), path, max_pixels=max_pixels, fit=fit)
