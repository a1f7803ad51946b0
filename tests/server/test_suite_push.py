"""Punches pushed into WeCom, DingTalk and Feishu against a local receiver that checks the documented
request shapes and answers with the documented error codes (token expired, rate limited, bad user id)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from sync.server.store import HRStore, webhook_rows
from sync.server.suite_config import SuitesSection
from sync.server.suite_push import SuitePusher
from tests.suite_receiver import APP_ID, SECRET, SuiteReceiver

USERS = {f"E{i:03d}" for i in range(300)}
LIMITS = {"wecom-api": 200, "dingtalk": 1, "feishu": 50}


@pytest.fixture
def receiver() -> Iterator[SuiteReceiver]:
    r = SuiteReceiver(USERS)
    yield r
    r.close()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> SuitesSection:
    for env in ("EDGEHR_TEST_WECOM", "EDGEHR_TEST_DINGTALK", "EDGEHR_TEST_FEISHU"):
        monkeypatch.setenv(env, SECRET)
    return SuitesSection(wecom_corp_id=APP_ID, wecom_secret_env="EDGEHR_TEST_WECOM", dingtalk_app_key=APP_ID,
                         dingtalk_secret_env="EDGEHR_TEST_DINGTALK", feishu_app_id=APP_ID,
                         feishu_secret_env="EDGEHR_TEST_FEISHU")


def queue(store: HRStore, url: str, suite: str, employees: list[str]) -> None:
    webhook_rows.create(store, url=url, secret="s" * 20, events=["punch"], actor="t", body_format=suite)
    bodies: list[dict[str, Any]] = [
        {"uid": f"u{i}", "device_id": "gate-1", "employee_no": no, "direction": "in", "work_day": "2026-03-02",
         "device_time": "2026-03-02T09:00:00+08:00", "device_time_ms": 1772413200000 + i * 1000,
         "clock_synced": i % 2 == 0}
        for i, no in enumerate(employees)
    ]
    with store.db.transaction() as tx:
        webhook_rows.enqueue_events(tx, "punch", bodies, store.now())


def pusher(settings: SuitesSection) -> SuitePusher:
    return SuitePusher(settings, allow_private=True, timeout=5.0)


def pushed_records(receiver: SuiteReceiver) -> int:
    total = 0
    for suite, body in receiver.pushes:
        total += {"wecom": lambda b: len(b["records"]), "dingtalk": lambda b: 1,
                  "feishu": lambda b: len(b["flow_records"])}[suite](body)
    return total


@pytest.mark.parametrize("suite", ["wecom-api", "dingtalk", "feishu"])
def test_punches_go_in_documented_batches_with_one_cached_token(
    store: HRStore, receiver: SuiteReceiver, settings: SuitesSection, suite: str
) -> None:
    count = 3 if suite == "dingtalk" else LIMITS[suite] + 7
    queue(store, receiver.url, suite, sorted(USERS)[:count])
    p = pusher(settings)
    assert p.deliver(store, limit=1000) == {"delivered": count, "retry": 0, "failed": 0, "held": 0}
    assert receiver.problems == []
    assert pushed_records(receiver) == count
    assert len(receiver.pushes) == -(-count // LIMITS[suite])  # full batches, then the rest
    assert receiver.token_fetches == 1
    assert webhooks_listed_as(store, suite)


def webhooks_listed_as(store: HRStore, suite: str) -> bool:
    return [w["format"] for w in webhook_rows.list_all(store)] == [suite]


@pytest.mark.parametrize("suite", ["wecom-api", "dingtalk", "feishu"])
def test_an_expired_token_is_fetched_again_and_the_batch_resent(
    store: HRStore, receiver: SuiteReceiver, settings: SuitesSection, suite: str
) -> None:
    queue(store, receiver.url, suite, ["E001"])
    p = pusher(settings)
    receiver.script = ["expire"]
    assert p.deliver(store)["delivered"] == 1
    assert receiver.token_fetches == 2 and receiver.problems == []


@pytest.mark.parametrize("suite", ["wecom-api", "dingtalk", "feishu"])
def test_a_token_is_refreshed_before_it_expires(
    store: HRStore, receiver: SuiteReceiver, settings: SuitesSection, suite: str
) -> None:
    receiver.token_life = 400  # with the 300 s margin it is reused for 100 s
    queue(store, receiver.url, suite, ["E001"])
    p = pusher(settings)
    start = store.now()
    assert p.deliver(store)["delivered"] == 1
    queue_more(store, "E002")
    store.clock = lambda: start + timedelta(seconds=50)
    assert p.deliver(store)["delivered"] == 1 and receiver.token_fetches == 1
    queue_more(store, "E003")
    store.clock = lambda: start + timedelta(seconds=101)
    assert p.deliver(store)["delivered"] == 1 and receiver.token_fetches == 2


def queue_more(store: HRStore, employee_no: str) -> None:
    body = {"uid": employee_no, "device_id": "gate-1", "employee_no": employee_no, "direction": "out",
            "work_day": "2026-03-02", "device_time": "", "device_time_ms": 1772445600000, "clock_synced": True}
    with store.db.transaction() as tx:
        webhook_rows.enqueue_events(tx, "punch", [body], store.now())


@pytest.mark.parametrize("suite", ["wecom-api", "dingtalk", "feishu"])
def test_rate_limited_waits_with_backoff_then_delivers(
    store: HRStore, receiver: SuiteReceiver, settings: SuitesSection, suite: str
) -> None:
    queue(store, receiver.url, suite, ["E001", "E002"])
    p = pusher(settings)
    start = store.now()
    receiver.script = ["rate"]
    first = p.deliver(store)
    assert first["retry"] >= 1 and first["delivered"] + first["retry"] + first["held"] == 2
    errors = {d["last_error"] for d in webhook_rows.deliveries(store) if d["attempts"]}
    assert any("rate limited" in e for e in errors)
    again = p.deliver(store)  # not due yet, and the endpoint is held: nothing is tried
    assert again["delivered"] == again["retry"] == again["failed"] == 0
    store.clock = lambda: start + p.policy.delay(1) + timedelta(seconds=1)
    p.deliver(store)
    assert all(d["delivered_at"] for d in webhook_rows.deliveries(store))


@pytest.mark.parametrize("suite", ["wecom-api", "dingtalk", "feishu"])
def test_an_unknown_user_is_dead_lettered_alone(
    store: HRStore, receiver: SuiteReceiver, settings: SuitesSection, suite: str
) -> None:
    queue(store, receiver.url, suite, ["E001", "NOBODY", "E002"])
    counts = pusher(settings).deliver(store)
    assert counts == {"delivered": 2, "retry": 0, "failed": 1, "held": 0}
    (dead,) = webhook_rows.dead_letters(store)
    assert "unknown user id" in dead["last_error"] and receiver.problems == []


def test_missing_credentials_retry_and_say_which_variable(
    store: HRStore, receiver: SuiteReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDGEHR_WECOM_SECRET", raising=False)
    queue(store, receiver.url, "wecom-api", ["E001"])
    assert pusher(SuitesSection(wecom_corp_id=APP_ID)).deliver(store)["retry"] == 1
    (row,) = webhook_rows.deliveries(store)
    assert "EDGEHR_WECOM_SECRET" in row["last_error"] and receiver.token_fetches == 0


def test_plain_webhooks_do_not_take_suite_deliveries(store: HRStore, receiver: SuiteReceiver) -> None:
    from sync.server import webhooks

    queue(store, receiver.url, "feishu", ["E001"])
    assert webhooks.deliver_pending(store, webhooks.httpx_post, allow_private=True)["delivered"] == 0
