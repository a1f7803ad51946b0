"""SYNTHETIC presentation attacks, made from real dataset faces, for liveness tests and benchmarks only.

The face datasets hold no spoof images and none may be downloaded, so attacks are simulated: these are
NOT real prints or screens re-photographed, and MiniFAS's behaviour on them says only how it reacts
to these artefacts. Each function takes a live face photo (BGR) and returns a kiosk-size frame
(640 x 480 BGR) of a re-photographed attack. Deterministic for a given ``seed``.

- ``printed_photo``: the face printed small (resolution loss), with printer gamut compression (paper
  white is not 255, ink black is not 0), a halftone dot screen, paper grain, held on a background at a
  slight tilt, then re-photographed (blur, sensor noise, JPEG).
- ``screen_replay``: the face shown on a phone screen: an RGB sub-pixel grid, moire from the grid beating
  against the camera's sampling, a screen's blue cast, a glare spot, a black bezel, then re-photographed.
"""

from __future__ import annotations

import numpy as np

from core.types import Image

FRAME_W, FRAME_H = 640, 480


def _background(rng: np.random.Generator) -> Image:
    """An indoor-looking background: a smooth colour gradient with a little noise."""
    base = rng.uniform(60, 200, size=3)
    tilt = rng.uniform(-40, 40, size=3)
    ramp = np.linspace(0.0, 1.0, FRAME_W, dtype=np.float32)[None, :, None]
    img = base[None, None, :] + tilt[None, None, :] * ramp + rng.normal(0, 3, (FRAME_H, FRAME_W, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _place(canvas: Image, item: Image, rng: np.random.Generator, tilt_degrees: float) -> Image:
    """Paste ``item`` near the centre of ``canvas`` with a small perspective tilt."""
    import cv2

    h, w = item.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    cx = FRAME_W / 2 + rng.uniform(-40, 40)
    cy = FRAME_H / 2 + rng.uniform(-20, 20)
    shear = np.tan(np.radians(tilt_degrees)) * h * 0.15
    dst = np.array([
        [cx - w / 2 + shear, cy - h / 2],
        [cx + w / 2 - shear, cy - h / 2 + shear * 0.3],
        [cx + w / 2, cy + h / 2],
        [cx - w / 2, cy + h / 2 - shear * 0.3],
    ], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(item, matrix, (FRAME_W, FRAME_H), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (FRAME_W, FRAME_H))
    out = canvas.copy()
    out[mask > 127] = warped[mask > 127]
    return out


def _rephotograph(frame: Image, rng: np.random.Generator) -> Image:
    """Camera artefacts of the re-capture: defocus, sensor noise, JPEG compression."""
    import cv2

    blurred = cv2.GaussianBlur(frame, (0, 0), rng.uniform(0.6, 1.2))
    noisy = np.clip(blurred.astype(np.float32) + rng.normal(0, 3.0, frame.shape), 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 90))])
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode an in-memory frame")
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), dtype=np.uint8)


def _fit(face_photo: Image, height: int) -> Image:
    import cv2

    scale = height / face_photo.shape[0]
    size = (max(1, round(face_photo.shape[1] * scale)), height)
    return np.asarray(cv2.resize(face_photo, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC))


def printed_photo(face_photo: Image, seed: int = 0) -> Image:
    """A synthetic print attack (see module docstring) as a 640 x 480 frame."""
    import cv2

    rng = np.random.default_rng(seed)
    height = int(rng.integers(300, 380))
    # Printing at low resolution: detail lost below ~1/3 of the final size.
    small = _fit(face_photo, height // 3)
    photo = _fit(small, height).astype(np.float32)
    # Gamut compression and a warm paper cast, slight desaturation.
    grey = photo.mean(axis=2, keepdims=True)
    photo = 0.8 * photo + 0.2 * grey
    photo = 25 + photo * (205 / 255.0)
    photo *= np.array([0.93, 0.98, 1.0], np.float32)  # BGR: paper is yellowish
    # Halftone: a dot screen at 45 degrees, period ~4 px, modulating darkness.
    yy, xx = np.mgrid[0:photo.shape[0], 0:photo.shape[1]].astype(np.float32)
    period = rng.uniform(3.5, 5.0)
    diagonal = period * 1.414
    screen = 0.5 + 0.5 * np.cos(2 * np.pi * (xx + yy) / diagonal) * np.cos(2 * np.pi * (xx - yy) / diagonal)
    photo = photo * (0.85 + 0.15 * screen[..., None])
    # Paper grain.
    grain = cv2.GaussianBlur(rng.normal(0, 6, photo.shape[:2]).astype(np.float32), (0, 0), 1.0)
    photo = np.clip(photo + grain[..., None], 0, 255).astype(np.uint8)
    # White margin of the print.
    margin = max(4, height // 20)
    photo = cv2.copyMakeBorder(photo, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=(225, 232, 235))
    frame = _place(_background(rng), photo, rng, rng.uniform(-8, 8))
    return _rephotograph(frame, rng)


def screen_replay(face_photo: Image, seed: int = 0) -> Image:
    """A synthetic phone-screen replay attack (see module docstring) as a 640 x 480 frame."""
    import cv2

    rng = np.random.default_rng(seed)
    height = int(rng.integers(300, 380))
    shown = _fit(face_photo, height).astype(np.float32)
    # Screen colour: blue cast, raised black level, slight over-contrast.
    shown = shown * np.array([1.08, 1.0, 0.92], np.float32) + 12
    # Sub-pixel grid: each pixel column lit R, G, B in turn; dark lines between pixel rows.
    yy, xx = np.mgrid[0:shown.shape[0], 0:shown.shape[1]]
    pitch = 3
    sub = (xx % pitch).astype(np.int64)
    grid = np.full(shown.shape, 0.7, np.float32)
    for channel, column in ((2, 0), (1, 1), (0, 2)):  # BGR planes: R at column 0, G 1, B 2
        grid[..., channel][sub == column] = 1.0
    grid[(yy % pitch) == 0] *= 0.75
    shown = shown * grid
    # Moire: the grid beating against the camera's pixels, a low-frequency rotated grating.
    angle = rng.uniform(0, np.pi)
    freq = rng.uniform(0.04, 0.08)
    moire = np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle)))
    shown = shown * (1.0 + 0.12 * moire[..., None])
    # Glare: a soft bright spot.
    gx, gy = rng.uniform(0.2, 0.8) * shown.shape[1], rng.uniform(0.1, 0.5) * shown.shape[0]
    radius = shown.shape[0] * rng.uniform(0.15, 0.3)
    glare = np.exp(-(((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * radius**2)))
    shown = np.clip(shown + 90 * glare[..., None], 0, 255).astype(np.uint8)
    # Black bezel of the phone.
    bezel = max(6, height // 12)
    shown = cv2.copyMakeBorder(shown, bezel, bezel * 2, bezel, bezel, cv2.BORDER_CONSTANT, value=(12, 12, 12))
    frame = _place(_background(rng), shown, rng, rng.uniform(-10, 10))
    return _rephotograph(frame, rng)


def live_frame(face_photo: Image, seed: int = 0) -> Image:
    """A LIVE control frame: the same photo placed on the same kind of 640 x 480 background, at the same
    size, without any attack artefact (so a difference in liveness is due to the artefacts, not the canvas)."""
    rng = np.random.default_rng(seed)
    height = int(rng.integers(300, 380))
    canvas = _background(rng)
    photo = _fit(face_photo, height)
    if photo.shape[1] > FRAME_W:
        photo = _fit(photo, photo.shape[0] * FRAME_W // photo.shape[1])
    y0 = (FRAME_H - photo.shape[0]) // 2
    x0 = (FRAME_W - photo.shape[1]) // 2
    canvas[y0:y0 + photo.shape[0], x0:x0 + photo.shape[1]] = photo
    return canvas
