"""Device health as the panel and the server see it: disk, temperature, clock, backlog, camera, models."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.clock import Clock
from device.store import Store, outbox

_THERMAL = Path("/sys/class/thermal/thermal_zone0/temp")


@dataclass(frozen=True)
class Health:
    device_id: str
    ok: bool
    disk_free_bytes: int
    disk_free_fraction: float
    cpu_temp_c: float | None
    clock_synced: bool
    backlog: int
    database_ok: bool
    camera: str
    models: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def cpu_temperature(path: Path = _THERMAL) -> float | None:
    try:
        return int(path.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None  # not a Pi, or no thermal zone exposed


def collect(
    device_id: str,
    store: Store,
    state_dir: Path,
    clock: Clock,
    *,
    camera_status: Callable[[], str] = lambda: "not started",
    models: dict[str, str] | None = None,
    disk_alert_fraction: float = 0.8,
) -> Health:
    usage = shutil.disk_usage(state_dir)
    free_fraction = usage.free / usage.total if usage.total else 0.0
    problems = []
    try:
        store.conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
        database_ok = True
        backlog = outbox.backlog(store)
    except Exception as exc:
        database_ok, backlog = False, -1
        problems.append(f"database: {exc}")
    if 1 - free_fraction >= disk_alert_fraction:
        problems.append("disk: filling up")
    synced = clock.synced()
    if not synced:
        problems.append("clock: not synchronised")
    camera = camera_status()
    if camera.startswith("error"):
        problems.append(f"camera: {camera}")
    return Health(
        device_id=device_id,
        ok=database_ok and not any(p.startswith(("disk", "camera")) for p in problems),
        disk_free_bytes=usage.free,
        disk_free_fraction=round(free_fraction, 4),
        cpu_temp_c=cpu_temperature(),
        clock_synced=synced,
        backlog=backlog,
        database_ok=database_ok,
        camera=camera,
        models=dict(models or {}),
        problems=problems,
    )
