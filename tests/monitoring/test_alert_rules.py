"""ops/monitoring: the alert rules pass ``promtool check rules`` and their unit tests (``promtool test rules``),
and the example scrape configuration passes ``promtool check config``. promtool is Debian's ``prometheus``
package (ops/setup.sh installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from core.paths import CHECKOUT

MONITORING = CHECKOUT / "ops" / "monitoring"


def promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is not installed: it comes with Debian's 'prometheus' package "
                    "(apt-get install prometheus, or run ops/setup.sh)")
    return subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", "edgehr.rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alert_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", "tests.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_the_issue_asks_for_is_there_and_tested() -> None:
    rules = (MONITORING / "edgehr.rules.yml").read_text()
    tests = (MONITORING / "tests.yml").read_text()
    for alert in ("EdgehrDeviceOffline", "EdgehrDeviceBacklogGrowing", "EdgehrDeviceClockUnsynced",
                  "EdgehrDeviceDiskFilling", "EdgehrSpoofSpike", "EdgehrDeadLetters", "EdgehrWebhookDeadLetters"):
        assert f"alert: {alert}\n" in rules
        assert f"alertname: {alert}\n" in tests


def test_the_example_scrape_config_is_valid(tmp_path: Path) -> None:
    # The example names files under /etc/prometheus; promtool checks that they exist, so point them here.
    text = (MONITORING / "prometheus.yml").read_text().replace("/etc/prometheus/", f"{tmp_path}/")
    for name in ("edgehr-server.token", "edgehr-device.token", "edgehr-ca.crt"):
        (tmp_path / name).write_text("placeholder\n")
    (tmp_path / "prometheus.yml").write_text(text)
    shutil.copy(MONITORING / "edgehr.rules.yml", tmp_path)
    result = promtool("check", "config", str(tmp_path / "prometheus.yml"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_name_only_metrics_the_exporters_export(tmp_path: Path) -> None:
    import re

    from prometheus_client.parser import text_string_to_metric_families

    from device.attendance.kiosk import KioskCounters
    from device.panel.metrics import DeviceMetrics, DeviceSources
    from sync.server.metrics import ServerMetrics
    from sync.server.store import open_hr_store
    from tests.monitoring.test_device_metrics import health

    device = DeviceMetrics(DeviceSources("gate-1", health=lambda: health(55.0), counters=KioskCounters,
                                         last_ack=lambda: 1.0, courier=lambda: ({}, {})))
    device.observe_decision("punched", 0.1)
    store = open_hr_store(f"sqlite:///{tmp_path / 'hr.db'}", "Asia/Shanghai")
    try:
        pages = device.render().decode() + ServerMetrics(store, server_name="hr").render().decode()
    finally:
        store.close()
    exported = {s.name for family in text_string_to_metric_families(pages) for s in family.samples}
    named = set(re.findall(r"\bedgehr_(?:device|server)_[a-z_]+", (MONITORING / "edgehr.rules.yml").read_text()))
    assert named and named <= exported, sorted(named - exported)
