"""Independent appearances at a terminal, made from every shared face set, for ``edgehr bench attempts``.

A *person* is enrolled from a few photos; an *appearance* is one walk-up: several camera frames of ONE
held-apart photo under ONE realistic perturbation of its own (camera roll, distance, blur, exposure,
noise, sensor JPEG), with a little frame-to-frame jitter (a person is never perfectly still). Two
appearances never share both the photo and the perturbation, so each is an independent trial of the
kiosk loop rather than a repeat of the same frames.

Sets (read in place from ``$EDGEHR_SHARED/datasets/faces``; nothing is copied):
- ORL (40 people x 10 grey 92 x 112 photos, pose series): people s1..s34 enrolled from photos 1-3,
  appearing with 4-10; s35..s40 never enrolled (strangers, one appearance each from photos 1 and 5).
- Yale (15 people x 11 conditions, light and expression): subject01..13 enrolled from normal,
  noglasses and glasses, appearing with the 8 others; subject14..15 strangers.
- LFW (lfw-dev): the people with 6+ photos enrolled from their first 4, appearing with the rest
  (up to 3); people with a single photo are strangers (every 40th of them by name).
- celeb-dev: identities with 4+ photos enrolled from their first 2, appearing with the rest; the
  2-photo identities are strangers.
Attacks (SYNTHETIC, drills.vision.attacks): every 3rd genuine appearance's photo also appears printed
and on a phone screen, each with its own seed.

Small photos are enlarged so the face is about as wide as a person's at a kiosk (ORL 2.6x, Yale 1.3x,
LFW 1.6x as in the demo): upscaling is part of the test, as in the demo's replay.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.images import load_image
from core.types import Image

WIDTH, HEIGHT = 640, 480
WALL = (168, 176, 180)


@dataclass(frozen=True)
class Person:
    employee_no: str
    dataset: str
    enrol: tuple[Path, ...]
    appear: tuple[Path, ...]
    scale: float  # photo enlargement on the scene
    identity: str = ""  # a stranger's name in its set, where the photo's path does not say it


@dataclass(frozen=True)
class Appearance:
    kind: str  # "genuine", "stranger", "print", "screen"
    dataset: str
    photo: Path
    employee_no: str | None  # who really is in front of the camera (None: nobody enrolled)
    scale: float
    seed: int
    identity: str = ""  # whose photo it is (the employee number; a stranger's photo folder or name)

    @property
    def split(self) -> str:
        """"calibration" or "held-out": thresholds are chosen on the first, figures reported on the second.

        The rule: every identity falls on one side by the parity of a CRC-32 of its name, so a person's
        genuine appearances and the attacks made from their photos are always on the same side."""
        return "calibration" if zlib.crc32(self.identity.encode()) % 2 == 0 else "held-out"


def _orl(root: Path) -> tuple[list[Person], list[Person]]:
    people, strangers = [], []
    for n in range(1, 41):
        photos = [root / f"s{n}" / f"{i}.pgm" for i in range(1, 11)]
        if n <= 34:
            people.append(Person(f"ORL{n:02d}", "orl", tuple(photos[:3]), tuple(photos[3:]), 2.6))
        else:
            strangers.append(Person("", "orl", (), (photos[0], photos[4]), 2.6))
    return people, strangers


YALE_ENROL = ("normal", "noglasses", "glasses")
YALE_APPEAR = ("centerlight", "happy", "leftlight", "rightlight", "sad", "sleepy", "surprised", "wink")


def _yale(root: Path) -> tuple[list[Person], list[Person]]:
    people, strangers = [], []
    for n in range(1, 16):
        subject = f"subject{n:02d}"
        enrol = tuple(root / f"{subject}.{c}" for c in YALE_ENROL)
        appear = tuple(root / f"{subject}.{c}" for c in YALE_APPEAR if (root / f"{subject}.{c}").is_file())
        if n <= 13:
            people.append(Person(f"YALE{n:02d}", "yale", enrol, appear, 1.3))
        else:
            strangers.append(Person("", "yale", (), appear[:2], 1.3))
    return people, strangers


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def _lfw(root: Path) -> tuple[list[Person], list[Person]]:
    people: list[Person] = []
    singles: list[Path] = []
    for folder in sorted(d for d in root.iterdir() if d.is_dir()):
        photos = _images(folder)
        if len(photos) >= 6:
            people.append(Person(f"LFW{len(people) + 1:02d}", "lfw", tuple(photos[:4]), tuple(photos[4:7]), 1.6))
        elif len(photos) == 1:
            singles.append(photos[0])
    strangers = [Person("", "lfw", (), (p,), 1.6) for p in singles[::40]]
    return people, strangers


def _celeb(root: Path) -> tuple[list[Person], list[Person]]:
    found: dict[str, list[Path]] = {}
    with (root / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            found.setdefault(row["identity"], []).append(root / row["image"])
    people, strangers = [], []
    for identity, photos in sorted(found.items()):
        if len(photos) >= 4:
            people.append(Person(f"CEL{identity[2:]}", "celeb", tuple(photos[:2]), tuple(photos[2:]), 1.0))
        else:
            strangers.append(Person("", "celeb", (), tuple(photos), 1.0, identity))
    return people, strangers


def site_people(faces_root: Path) -> tuple[list[Person], list[Person]]:
    """Everybody enrolled at the benchmark's one site, and the strangers, over every shared face set."""
    people: list[Person] = []
    strangers: list[Person] = []
    for maker, name in ((_orl, "orl"), (_yale, "yale"), (_lfw, "lfw-dev"), (_celeb, "celeb-dev")):
        enrolled, others = maker(faces_root / name)
        people += enrolled
        strangers += others
    return people, strangers


def appearances(people: list[Person], strangers: list[Person], *, attack_every: int = 3) -> list[Appearance]:
    """Every genuine and stranger appearance, plus the synthetic attacks, in a fixed shuffled order."""
    genuine = [Appearance("genuine", p.dataset, photo, p.employee_no, p.scale, 0, p.employee_no)
               for p in people for photo in p.appear]
    outsiders = [Appearance("stranger", s.dataset, photo, None, s.scale, 0, _stranger_identity(s, photo))
                 for s in strangers for photo in s.appear]
    attacks = [Appearance(kind, g.dataset, g.photo, None, g.scale, 0, g.identity)
               for g in genuine[::attack_every] for kind in ("print", "screen")]
    order = genuine + outsiders + attacks
    # A fixed shuffle: the kiosk sees kinds mixed, as at a real door, and a run is repeatable.
    shuffled = [order[i] for i in np.random.default_rng(21).permutation(len(order))]
    return [Appearance(a.kind, a.dataset, a.photo, a.employee_no, a.scale, seed, a.identity)
            for seed, a in enumerate(shuffled)]


def _stranger_identity(stranger: Person, photo: Path) -> str:
    # ORL and LFW keep one folder per person, Yale's file names start with the subject, celeb's label is kept.
    if stranger.identity:
        return stranger.identity
    return photo.name.split(".")[0] if stranger.dataset == "yale" else photo.parent.name


@dataclass(frozen=True)
class Perturbation:
    roll_degrees: float  # camera roll (the whole scene rotates; borders are replicated, never black)
    scale: float  # distance from the camera, relative to the set's enlargement
    shift: tuple[float, float]
    blur_sigma: float  # defocus / motion, 0 = none
    gain: float  # exposure
    gamma: float
    noise_sigma: float
    jpeg_quality: int

    @staticmethod
    def draw(seed: int) -> Perturbation:
        rng = np.random.default_rng(10_000 + seed)
        return Perturbation(
            roll_degrees=float(rng.uniform(-10, 10)),
            scale=float(rng.uniform(0.85, 1.25)),
            shift=(float(rng.uniform(-50, 50)), float(rng.uniform(-25, 25))),
            blur_sigma=float(rng.choice([0.0, rng.uniform(0.4, 1.2)])),
            gain=float(rng.uniform(0.75, 1.25)),
            gamma=float(rng.uniform(0.85, 1.15)),
            noise_sigma=float(rng.uniform(1.0, 4.0)),
            jpeg_quality=int(rng.integers(70, 95)),
        )


def _compose(photo: Image, scale: float, shift: tuple[float, float]) -> Image:
    import cv2

    canvas = np.full((HEIGHT, WIDTH, 3), WALL, dtype=np.uint8)
    h, w = photo.shape[:2]
    factor = min(scale, (HEIGHT - 10) / h, (WIDTH - 10) / w)
    resized = cv2.resize(photo, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_LINEAR)
    rh, rw = resized.shape[:2]
    top = int(np.clip((HEIGHT - rh) // 2 + shift[1], 0, HEIGHT - rh))
    left = int(np.clip((WIDTH - rw) // 2 + shift[0], 0, WIDTH - rw))
    canvas[top:top + rh, left:left + rw] = resized
    return canvas


def _camera(scene: Image, p: Perturbation, rng: np.random.Generator, jitter: float) -> Image:
    """One camera frame of ``scene``: roll (+ jitter), blur, exposure, sensor noise, JPEG."""
    import cv2

    angle = p.roll_degrees + rng.normal(0, 0.5) * jitter
    dx, dy = rng.normal(0, 1.5, 2) * jitter
    matrix = cv2.getRotationMatrix2D((WIDTH / 2, HEIGHT / 2), angle, 1.0)
    matrix[:, 2] += (dx, dy)
    frame = cv2.warpAffine(scene, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if p.blur_sigma > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), p.blur_sigma)
    light = 255.0 * np.clip(p.gain * (frame.astype(np.float32) / 255.0) ** p.gamma, 0, 1)
    noisy = np.clip(light + rng.normal(0, p.noise_sigma, frame.shape), 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, p.jpeg_quality])
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode an in-memory frame")
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), dtype=np.uint8)


def frames(appearance: Appearance, count: int) -> Iterator[Image]:
    """``count`` camera frames of one appearance (see module docstring)."""
    from drills.vision.attacks import printed_photo, screen_replay

    photo = load_image(appearance.photo, fit=(1024, 1024))
    p = Perturbation.draw(appearance.seed)
    rng = np.random.default_rng(appearance.seed)
    if appearance.kind in ("print", "screen"):
        # The attack photo: the enrolled person's held-apart photo at kiosk size, printed or on a screen,
        # re-photographed (the attack functions place it on a background themselves).
        face = _compose(photo, appearance.scale, (0.0, 0.0))
        attack = printed_photo if appearance.kind == "print" else screen_replay
        scene = attack(_crop_to_photo(face, photo, appearance.scale), seed=appearance.seed)
        # A held photo moves with the hand; the camera's exposure and noise still apply, not its blur twice.
        p = Perturbation(p.roll_degrees / 2, 1.0, (0.0, 0.0), 0.0, p.gain, p.gamma, p.noise_sigma, p.jpeg_quality)
    else:
        scene = _compose(photo, appearance.scale * p.scale, p.shift)
    for _ in range(count):
        yield _camera(scene, p, rng, jitter=1.0)


def _crop_to_photo(scene: Image, photo: Image, scale: float) -> Image:
    """The enlarged photo itself, cut back out of its scene (what gets printed or shown on the phone)."""
    h, w = photo.shape[:2]
    factor = min(scale, (HEIGHT - 10) / h, (WIDTH - 10) / w)
    rh, rw = max(1, round(h * factor)), max(1, round(w * factor))
    top, left = (HEIGHT - rh) // 2, (WIDTH - rw) // 2
    return np.ascontiguousarray(scene[top:top + rh, left:left + rw])


def empty_frame() -> Image:
    return np.full((HEIGHT, WIDTH, 3), WALL, dtype=np.uint8)
