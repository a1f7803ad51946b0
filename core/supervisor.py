"""Start, watch and stop the child processes of a site (broker, server workers, terminal).

Each child runs in its own process group and is asked to die with its parent (PR_SET_PDEATHSIG), so
neither Ctrl-C nor a killed supervisor leaves processes behind. Stopping is SIGTERM, a grace period,
then SIGKILL of the whole group.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import EdgehrError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


_PRCTL: Callable[..., int] | None
try:
    # Loaded here, in the parent: between fork and exec a child may only call what is already loaded.
    _PRCTL = ctypes.CDLL("libc.so.6", use_errno=True).prctl
except OSError:  # not Linux/glibc: stop() still ends the group; only a SIGKILLed supervisor could leak
    _PRCTL = None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: dict[str, Child] = {}

    def start(
        self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> Child:
        """Start (or restart) ``name``; its output is appended to ``<log_dir>/<name>.log``."""
        child = self.children.get(name) or Child(name, list(argv), self.log_dir / f"{name}.log", dict(env or {}))
        if child.running():
            raise EdgehrError(f"Process {name} is already running (pid {child.pid}).", "Stop it first.")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(child.log_path, "ab") as out:
            child.process = subprocess.Popen(  # noqa: S603 - argv built by edgehr, never from user input via a shell
                child.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **child.env},
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        child.starts += 1
        self.children[name] = child
        log.info("started %s", name, extra={"pid": child.pid})
        return child

    def signal(self, name: str, sig: signal.Signals) -> None:
        child = self.children[name]
        if child.running() and child.process is not None:
            os.killpg(child.process.pid, sig)

    def stop(self, name: str, grace: float = 10.0) -> int | None:
        """SIGTERM the child's group, wait up to ``grace`` seconds, then SIGKILL it. Returns the exit code."""
        child = self.children.get(name)
        if child is None or child.process is None:
            return None
        process = child.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killing it", name, grace)
        # The group may hold grandchildren even after the leader exited.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.wait()

    def kill(self, name: str) -> None:
        """SIGKILL without warning: the fault drills use this to simulate a crash or power cut."""
        child = self.children[name]
        if child.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()

    def stop_all(self, grace: float = 10.0) -> None:
        for name in reversed(list(self.children)):  # stop in reverse start order: clients before the broker
            self.stop(name, grace)

    def wait_until(self, check: object, timeout: float, what: str, interval: float = 0.1) -> None:
        """Poll ``check()`` until true; raise a clear error naming ``what`` and the child logs if not."""
        assert callable(check)
        deadline = time.monotonic() + timeout
        while not check():
            dead = [c.name for c in self.children.values() if c.process is not None and not c.running()]
            if dead or time.monotonic() > deadline:
                logs = ", ".join(str(self.children[n].log_path) for n in dead or list(self.children))
                raise EdgehrError(
                    f"Timed out waiting for {what}" + (f"; stopped: {', '.join(dead)}" if dead else "") + ".",
                    f"Read the logs: {logs}",
                )
            time.sleep(interval)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
