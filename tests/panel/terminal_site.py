"""A terminal's whole admin panel (dashboard, punches, settings, diagnostics, audit) over a real store, a
real config file and gpiozero's MockFactory pins, without the face pipeline (these pages never embed)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI

from core.clock import SystemClock
from core.datakey import load_or_create
from device.attendance.enrolment import Enroller
from device.attendance.rules import PunchRules, site_zone
from device.config import load_device_config
from device.hardware.feedback import GpioFeedback
from device.hardware.gpio import make_pin_factory
from device.health import collect
from device.panel.admin_auth import AdminAuth, password_path, write_account, write_password
from device.panel.app import create_app
from device.panel.enrolment import enrolment_router
from device.panel.site_admin import recent_errors
from device.panel.terminal_tools import TerminalTools
from device.store import Store, open_store
from device.store.punches import NewPunch, Punch, record_punch

PASSWORD = "correct horse battery"  # set by the test itself: the repository holds no password
VIEWER_PASSWORD = "viewer staple battery"
PINS = {"buzzer": 13, "relay": 19}
_seq = itertools.count(1)

CONFIG = """\
schema_version = 1
role = "device"

[device]
id = "gate-1"
name = "Gate 1"
timezone = "Asia/Shanghai"
language = "zh-CN"
state_dir = "{state}"

[camera]
source = "fake"

[gpio]
pin_factory = "mock"
buzzer = 13
relay = 19
relay_pulse_seconds = 0.2
"""


@dataclass
class TerminalSite:
    app: FastAPI
    store: Store
    config_path: Path
    factory: Any
    tools: TerminalTools
    restarts: list[int] = field(default_factory=list)

    def close(self) -> None:
        self.tools.feedback.close()
        self.factory.close()
        self.factory.reset()
        self.store.close()


def build_terminal_site(state: Path, *, password: str | None = PASSWORD, viewer: bool = True,
                        device_id: str = "gate-1", extra_config: str = "") -> TerminalSite:
    """The panel over ``state``; ``extra_config`` (TOML tables, e.g. a site's ``[sync]``) is appended to the
    config, so a provisioned device of ``drills.chaos_site`` can be served with its courier's settings."""
    state.mkdir(parents=True, exist_ok=True)
    config_path = state / "device.toml"
    config_path.write_text(CONFIG.format(state=state).replace('id = "gate-1"', f'id = "{device_id}"', 1) + extra_config)
    config = load_device_config(config_path)
    store = open_store(state / "device.db", check_same_thread=False)
    clock = SystemClock(assume_synced=True)
    enroller = Enroller(store=store, key=load_or_create(state / "keys" / "data.key"), embedder=None,  # type: ignore[arg-type]
                        model="none", clock=clock, settings=config.enrolment)
    for number, name in (("E1", "Li Lei"), ("E2", "Han Meimei"), ("E3", "Zhang San")):
        enroller.record_consent(number, name, text_version="test-1", recorded_by="test")
    if password is not None:
        write_password(password_path(state), password)
        if viewer:
            write_account(password_path(state), "audrey", "viewer", VIEWER_PASSWORD)
    factory = make_pin_factory("mock")
    feedback = GpioFeedback(config.gpio, factory)
    restarts: list[int] = []
    tools = TerminalTools(config=config, config_path=config_path, clock=clock, feedback=feedback,
                          frame=lambda: np.full((120, 160, 3), 128, np.uint8), restart=lambda: restarts.append(1),
                          errors=recent_errors())
    app = create_app(health=lambda: collect(device_id, store, state, clock, camera_status=lambda: "ok"),
                     default_language="zh-CN",
                     extra_routers=[enrolment_router(enroller, AdminAuth(password_path(state)),
                                                     default_language="zh-CN", tools=tools)])
    return TerminalSite(app, store, config_path, factory, tools, restarts)


def punch(site: TerminalSite, employee_no: str, direction: str = "in", *, minutes_ago: int = 5) -> Punch:
    """A punch recorded through the real store, as the kiosk loop records one (now, in the site's work day)."""
    config = site.tools.config
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    zone = site_zone(config.device.timezone)
    rules = PunchRules(config.attendance, zone)
    local = moment.astimezone(zone)
    new = NewPunch(employee_no=employee_no, direction=direction, work_day=rules.work_day(moment),  # type: ignore[arg-type]
                   device_time=local.isoformat(), device_time_ms=int(moment.timestamp() * 1000),
                   monotonic_ns=next(_seq), clock_synced=True, source="face", match_score=0.8, liveness_score=0.97)
    return record_punch(site.store, new, config.device.id)
