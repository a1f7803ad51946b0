"""A device panel with the enrolment pages over a real store, data key and the REAL face pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fastapi import FastAPI

from core.clock import SystemClock
from core.datakey import load_or_create
from core.uploads import DEFAULT_LIMITS, Limits
from device.attendance.enrolment import Enroller
from device.config.device import DeviceConfig
from device.health import collect
from device.panel.admin_auth import AdminAuth, password_path, write_password
from device.panel.app import create_app
from device.panel.enrolment import CameraEnrol, enrolment_router
from device.store import Store, open_store
from device.store.snapshots import SnapshotStore
from tests.attendance.real_vision import CELEB, celeb_identities, recognition_settings

PASSWORD = "correct horse battery"  # set by the test itself: the repository holds no password


def device_config(state: Path) -> DeviceConfig:
    return DeviceConfig.model_validate({"device": {"id": "gate-1", "state_dir": str(state), "language": "zh-CN"},
                                        "enrolment": {"min_good_images": 3},
                                        "recognition": recognition_settings()})


@dataclass
class Site:
    app: FastAPI
    store: Store
    enroller: Enroller
    auth: AdminAuth
    snapshots: SnapshotStore | None = None


def build_site(state: Path, vision: Any, *, limits: Limits = DEFAULT_LIMITS, camera: CameraEnrol | None = None,
               password: str | None = PASSWORD, with_snapshots: bool = False) -> Site:
    config = device_config(state)
    store = open_store(state / "device.db", check_same_thread=False)
    enroller = Enroller(store=store, key=load_or_create(state / "keys" / "data.key"), embedder=vision.pipeline,
                        model=vision.template_model, clock=SystemClock(), settings=config.enrolment,
                        gallery=vision.gallery, same_person_threshold=vision.same_person_threshold)
    if password is not None:
        write_password(password_path(state), password)
    auth = AdminAuth(password_path(state))
    snapshots = SnapshotStore(store, enroller.key, state / "snapshots", enroller.clock,
                              retention_days=7) if with_snapshots else None
    app = create_app(health=lambda: collect("gate-1", store, state, SystemClock()), default_language="zh-CN",
                     extra_routers=[enrolment_router(enroller, auth, default_language="zh-CN", camera=camera,
                                                     limits=limits, snapshots=snapshots)])
    return Site(app, store, enroller, auth, snapshots)


def good_photos() -> list[Path]:
    """Four photos of one person that pass the quality gate (tests/attendance/test_enrolment_real.py)."""
    return celeb_identities()["id00"][:4]


def bad_photos() -> list[tuple[str, bytes, str]]:
    """(file name, bytes, the reason code the enrolment report must give)."""
    sharp = cv2.imdecode(np.frombuffer(good_photos()[0].read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    blurred = cv2.GaussianBlur(sharp, (0, 0), sigmaX=max(sharp.shape[:2]) / 60)
    return [
        ("couple.jpg", (CELEB / "couple.jpg").read_bytes(), "many-faces"),
        ("blurred.jpg", cv2.imencode(".jpg", blurred)[1].tobytes(), "blurred"),
        ("notes.jpg", b"this is not a photo", "unreadable"),
        ("cut.jpg", good_photos()[1].read_bytes()[:3000], "unreadable"),  # a truncated JPEG
    ]
