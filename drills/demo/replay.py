"""The demo camera's recording: frames composed from held-apart photos, in the order people walk up.

Each photo is placed on a 640x480 scene, as a person standing in front of the terminal would appear;
an empty scene separates people so the kiosk sees each arrival as a new person. A manifest records who
each frame shows, so a test can check every punch against the truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.images import load_image
from core.types import Image
from drills.demo.dataset import DemoPerson

WIDTH, HEIGHT = 640, 480


@dataclass(frozen=True)
class ReplayFrame:
    file: str
    kind: str  # "employee", "stranger", "spoof" or "empty"
    employee_no: str | None  # who is really in front of the camera (None: nobody enrolled)


def scene(photo: Image | None, scale: float = 1.6) -> Image:
    """A plain wall-coloured 640x480 frame with ``photo`` scaled and centred on it."""
    import cv2

    canvas = np.full((HEIGHT, WIDTH, 3), (168, 176, 180), dtype=np.uint8)
    if photo is None:
        return canvas
    h, w = photo.shape[:2]
    factor = min(scale, (HEIGHT - 20) / h, (WIDTH - 20) / w)
    resized = cv2.resize(photo, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_LINEAR)
    rh, rw = resized.shape[:2]
    top, left = (HEIGHT - rh) // 2, (WIDTH - rw) // 2
    canvas[top:top + rh, left:left + rw] = resized
    return canvas


def write_replay(folder: Path, people: list[DemoPerson], strangers: list[DemoPerson],
                 spoofs: list[Image] | None = None) -> list[ReplayFrame]:
    """Write numbered JPEG frames into ``folder`` (nothing else: the camera replays every file there)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    shots: list[tuple[Image | None, str, str | None]] = []
    rounds = max((len(p.replay) for p in people), default=0)
    for index in range(rounds):  # round-robin: everyone passes once per round, with their next photo
        for person in people:
            if index < len(person.replay):
                photo = load_image(Path(person.replay[index]))
                shots += [(photo, "employee", person.employee_no), (None, "empty", None)]
        if index < len(strangers):
            shots += [(load_image(Path(strangers[index].replay[0])), "stranger", None), (None, "empty", None)]
    for attack in spoofs or []:  # an enrolled person's photo held up to the camera: no punch may result
        shots += [(attack, "spoof", None), (None, "empty", None)]
    manifest = []
    for number, (shot, kind, employee_no) in enumerate(shots):
        name = f"{number:04d}.jpg"
        # A spoof frame is already a whole scene (the attack photographed); everything else is placed.
        frame = scene(shot) if kind != "spoof" or shot is None else shot
        cv2.imwrite(str(folder / name), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
        manifest.append(ReplayFrame(name, kind, employee_no))
    return manifest


def save_manifest(path: Path, manifest: list[ReplayFrame]) -> None:
    path.write_text(json.dumps([m.__dict__ for m in manifest], indent=1))


def load_manifest(path: Path) -> list[ReplayFrame]:
    return [ReplayFrame(**item) for item in json.loads(path.read_text())]
