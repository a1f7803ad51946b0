from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from core.supervisor import Supervisor
from tests.conftest import child_pids


def test_stop_ends_the_whole_group_including_grandchildren(tmp_path: Path) -> None:
    # The child starts a grandchild that would outlive its parent unless the whole group is killed.
    script = (
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "time.sleep(60)\n"
    )
    with Supervisor(tmp_path) as supervisor:
        supervisor.start("sleeper", [sys.executable, "-c", script])
        supervisor.wait_until(lambda: len(child_pids()) >= 2, 10, "the grandchild")
        assert supervisor.children["sleeper"].running()
    assert child_pids() == set()


def test_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    # A supervisor process that is SIGKILLed must not leave its child running (PR_SET_PDEATHSIG).
    pid_file = tmp_path / "child.pid"
    code = (
        "import sys, time, os; from pathlib import Path; from core.supervisor import Supervisor\n"
        f"s = Supervisor(Path({str(tmp_path)!r}))\n"
        "c = s.start('sleeper', [sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"Path({str(pid_file)!r}).write_text(str(c.pid))\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 20
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists()


def test_kill_and_restart_keeps_the_log(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as supervisor:
        argv = [sys.executable, "-c", "print('hello', flush=True); import time; time.sleep(60)"]
        supervisor.start("worker", argv)
        supervisor.wait_until(lambda: "hello" in (tmp_path / "worker.log").read_text(), 10, "output")
        supervisor.kill("worker")
        assert not supervisor.children["worker"].running()
        supervisor.start("worker", argv)
        supervisor.wait_until(lambda: (tmp_path / "worker.log").read_text().count("hello") == 2, 10, "restart")
        assert supervisor.children["worker"].starts == 2
