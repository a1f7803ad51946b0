"""The demo's people: chosen from the labelled photos in the shared datasets, split into enrolment
photos and held-apart replay photos, plus strangers who are never enrolled.

The photos are read in place from the shared folder and are never part of what edgehr ships; the
replay frames made from them live in the demo's state folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import InputError

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".pgm", ".gif", ".bmp"}


@dataclass(frozen=True)
class DemoPerson:
    employee_no: str
    name: str
    enrol: tuple[str, ...]  # photos whose templates are enrolled
    replay: tuple[str, ...]  # photos held apart: shown to the camera, never enrolled


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)


def choose_people(faces_root: Path, *, candidates: int = 15, enrol_photos: int = 4, strangers: int = 4,
                  min_photos: int = 6) -> tuple[list[DemoPerson], list[DemoPerson]]:
    """Up to ``candidates`` people with at least ``min_photos`` photos (deterministic: most photos, then
    name) to enrol, and ``strangers`` people who are shown but never enrolled."""
    if not faces_root.is_dir():
        raise InputError(f"The demo's face photos folder {faces_root} does not exist.",
                         "Set EDGEHR_SHARED to the shared data folder, or pass --faces DIR.")
    folders = [d for d in sorted(faces_root.iterdir()) if d.is_dir()]
    counted = sorted(((len(_images(d)), d) for d in folders), key=lambda item: (-item[0], item[1].name))
    rich = [d for n, d in counted if n >= min_photos][:candidates]
    if not rich:
        raise InputError(f"{faces_root} has nobody with {min_photos} or more photos.",
                         "Use a folder with several photos per person.")
    people = []
    for number, folder in enumerate(rich, start=1):
        photos = [str(p) for p in _images(folder)]
        people.append(DemoPerson(f"D{number:03d}", folder.name.replace("_", " "),
                                 tuple(photos[:enrol_photos]), tuple(photos[enrol_photos:])))
    others = [d for n, d in counted if d not in rich and n >= 1]
    # Strangers from the middle of the list: ordinary people with a photo or two, never enrolled.
    chosen = others[len(others) // 2: len(others) // 2 + strangers]
    outsiders = [DemoPerson("", d.name.replace("_", " "), (), tuple(str(p) for p in _images(d)[:1])) for d in chosen]
    return people, outsiders


def own_people(faces_root: Path) -> list[DemoPerson]:
    """``--faces DIR``: every sub-folder is a person; all their photos are enrolled, none replayed."""
    if not faces_root.is_dir():
        raise InputError(f"{faces_root} is not a folder.", "Pass --faces DIR with one sub-folder per person.")
    people = []
    for number, folder in enumerate(d for d in sorted(faces_root.iterdir()) if d.is_dir()):
        photos = tuple(str(p) for p in _images(folder))
        if photos:
            people.append(DemoPerson(f"P{number + 1:03d}", folder.name.replace("_", " "), photos, ()))
    if not people:
        raise InputError(f"{faces_root} holds no photos in sub-folders.", "Use DIR/<person name>/<photo>.jpg.")
    return people


def save(path: Path, people: list[DemoPerson], strangers: list[DemoPerson]) -> None:
    path.write_text(json.dumps({"people": [asdict(p) for p in people],
                                "strangers": [asdict(p) for p in strangers]}, indent=1, ensure_ascii=False))


def load(path: Path) -> tuple[list[DemoPerson], list[DemoPerson]]:
    data = json.loads(path.read_text())

    def person(item: dict[str, object]) -> DemoPerson:
        return DemoPerson(str(item["employee_no"]), str(item["name"]),
                          tuple(map(str, item["enrol"])), tuple(map(str, item["replay"])))  # type: ignore[call-overload]

    return [person(p) for p in data["people"]], [person(p) for p in data["strangers"]]
