"""Webhook subscriptions and their delivery outbox (rows only; HTTP and signing live in sync.server.webhooks).

An event is queued in the same transaction as the change it reports, so a stored punch always gets its
webhook calls and a rolled-back one never does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from sync.server.store import audit
from sync.server.store.database import Param, Tx

if TYPE_CHECKING:
    from sync.server.store.hr_store import HRStore

EVENTS = ("punch", "correction", "employee.erased", "interview.completed")
FORMATS = ("json", "wecom", "wecom-api", "dingtalk", "feishu")
#: Formats delivered by ``sync.server.suite_push`` (an HR suite's own API, with an access token); stored in
#: ``webhook_suites`` beside a ``webhooks`` row whose ``format`` column keeps 'json'.
SUITE_FORMATS = ("wecom-api", "dingtalk", "feishu")
_FORMAT_SQL = "COALESCE(s.suite, w.format)"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Subscription:
    """A webhook to create: where to POST, the HMAC secret, which events, and the body format."""

    url: str
    secret: str
    events: tuple[str, ...]
    body_format: str = "json"


def create(store: HRStore, *, url: str, secret: str, events: list[str], actor: str, body_format: str = "json") -> int:
    """``subscribe`` with the subscription spelled out as keywords (tools and tests)."""
    return subscribe(store, Subscription(url, secret, tuple(events), body_format), actor)


def subscribe(store: HRStore, hook: Subscription, actor: str) -> int:
    """Store an active subscription; return its id."""
    url, secret, events, body_format = hook.url, hook.secret, list(hook.events), hook.body_format
    if not url.startswith(("https://", "http://")):
        raise InputError(f"Webhook URL {url!r} is not http(s).", "Give the full https:// address of the receiver.")
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise InputError(f"Unknown webhook events {unknown or events}.", f"Choose from: {', '.join(EVENTS)}.")
    if body_format not in FORMATS:
        raise InputError(f"Unknown webhook format {body_format!r}.", f"Choose from: {', '.join(FORMATS)}.")
    if body_format != "json" and set(events) != {"punch"}:
        raise InputError(f"The {body_format} format carries punches only.", "Subscribe it to 'punch' alone.")
    if len(secret) < 16:
        raise InputError("The webhook secret is shorter than 16 characters.", "Use a long random secret.")
    with store.db.transaction() as tx:
        new_id = tx.execute(
            "INSERT INTO webhooks (url, secret, events, format, active, created_at) VALUES (?, ?, ?, ?, 1, ?)"
            " RETURNING id",
            (url, secret, ",".join(sorted(set(events))), "json" if body_format in SUITE_FORMATS else body_format,
             store.now_iso()),
        ).scalar()
        if body_format in SUITE_FORMATS:
            tx.execute("INSERT INTO webhook_suites (webhook_id, suite) VALUES (?, ?)", (new_id, body_format))
        audit.record(tx, store.now_iso(), actor, "webhook.create", f"webhook:{new_id}", {"url": url, "events": events})
    return int(new_id)


def list_all(store: HRStore) -> list[dict[str, Any]]:
    """Subscriptions without their secrets (shown once, at creation, by the caller)."""
    with store.db.read() as tx:
        rows = tx.execute(
            f"SELECT w.id, w.url, w.events, {_FORMAT_SQL} AS format, w.active, w.created_at FROM webhooks w"  # noqa: S608
            " LEFT JOIN webhook_suites s ON s.webhook_id = w.id ORDER BY w.id"
        ).dicts()
    for row in rows:
        row["events"] = row["events"].split(",")
        row["active"] = bool(row["active"])
    return rows


def deactivate(store: HRStore, webhook_id: int, actor: str) -> bool:
    with store.db.transaction() as tx:
        changed = tx.execute("UPDATE webhooks SET active = 0 WHERE id = ? AND active = 1", (webhook_id,)).rowcount
        if changed:
            audit.record(tx, store.now_iso(), actor, "webhook.deactivate", f"webhook:{webhook_id}")
    return bool(changed)


def enqueue_event(tx: Tx, event: str, body: dict[str, Any], now: datetime) -> int:
    """Queue one delivery per active webhook subscribed to ``event``; return how many were queued."""
    hooks = tx.execute("SELECT id, events FROM webhooks WHERE active = 1").all()
    payload = json.dumps({"event": event, "data": body}, ensure_ascii=False, sort_keys=True)
    queued = 0
    for hook_id, events in hooks:
        if event in events.split(","):
            tx.execute(
                "INSERT INTO webhook_deliveries (webhook_id, event, body, created_at, attempts, next_attempt_ms)"
                " VALUES (?, ?, ?, ?, 0, ?)",
                (hook_id, event, payload, now.astimezone(UTC).isoformat(), _ms(now)),
            )
            queued += 1
    return queued


def enqueue_events(tx: Tx, event: str, bodies: Iterable[dict[str, Any]], now: datetime) -> int:
    """``enqueue_event`` for many events of one kind (a batch of punches): the subscriptions are read
    once, the bodies (a lazy iterable) built only when someone subscribes, and the rows written in one
    executemany; events keep their order. Returns rows queued."""
    hooks = [hook_id for hook_id, events in tx.execute("SELECT id, events FROM webhooks WHERE active = 1").all()
             if event in events.split(",")]
    if not hooks:
        return 0
    created_at, next_ms = now.astimezone(UTC).isoformat(), _ms(now)
    rows: list[tuple[Param, ...]] = []
    for body in bodies:
        payload = json.dumps({"event": event, "data": body}, ensure_ascii=False, sort_keys=True)
        rows += [(hook_id, event, payload, created_at, next_ms) for hook_id in hooks]
    tx.executemany(
        "INSERT INTO webhook_deliveries (webhook_id, event, body, created_at, attempts, next_attempt_ms)"
        " VALUES (?, ?, ?, ?, 0, ?)",
        rows,
    )
    return len(rows)


def due(
    store: HRStore, now: datetime, limit: int, formats: Iterable[str] = ("json", "wecom")
) -> list[dict[str, Any]]:
    """Deliveries due now of webhooks in one of ``formats`` (the plain ones by default)."""
    wanted = list(formats)
    marks = ", ".join("?" for _ in wanted)
    with store.db.read() as tx:
        return tx.execute(
            f"SELECT d.id, d.webhook_id, d.event, d.body, d.attempts, w.url, w.secret, {_FORMAT_SQL} AS format"  # noqa: S608
            " FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
            " LEFT JOIN webhook_suites s ON s.webhook_id = w.id"
            " WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_ms <= ? AND w.active = 1"
            f" AND {_FORMAT_SQL} IN ({marks})"
            " ORDER BY d.next_attempt_ms, d.id LIMIT ?",
            (_ms(now), *wanted, limit),
        ).dicts()


def mark_delivered(store: HRStore, delivery_id: int, now: datetime) -> None:
    with store.db.transaction() as tx:
        tx.execute(
            "UPDATE webhook_deliveries SET delivered_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?",
            (now.astimezone(UTC).isoformat(), delivery_id),
        )


def mark_failed_attempt(
    store: HRStore, delivery_id: int, error: str, next_attempt: datetime | None, now: datetime
) -> None:
    """Record a failed attempt; ``next_attempt`` None means give up (the row stays for an operator)."""
    with store.db.transaction() as tx:
        if next_attempt is None:
            tx.execute(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = ?, failed_at = ? WHERE id = ?",
                (error[:500], now.astimezone(UTC).isoformat(), delivery_id),
            )
        else:
            tx.execute(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_ms = ?"
                " WHERE id = ?",
                (error[:500], _ms(next_attempt), delivery_id),
            )


def public_error(error: str) -> str:
    """A delivery's error as the API may show it: a receiver's reply text never (older rows stored its
    first 200 characters after the status, "HTTP 500: <body>"; it could be an internal page)."""
    if error.startswith("HTTP "):
        return error.split(":", 1)[0]
    return error


def _shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["last_error"] = public_error(str(row["last_error"] or ""))
    return rows


def deliveries(store: HRStore, webhook_id: int | None = None) -> list[dict[str, Any]]:
    with store.db.read() as tx:
        sql = (
            "SELECT id, webhook_id, event, created_at, attempts, next_attempt_ms, delivered_at, failed_at, last_error"
            " FROM webhook_deliveries"
        )
        if webhook_id is None:
            return _shown(tx.execute(sql + " ORDER BY id").dicts())
        return _shown(tx.execute(sql + " WHERE webhook_id = ? ORDER BY id", (webhook_id,)).dicts())


def dead_letters(store: HRStore, limit: int = 1000) -> list[dict[str, Any]]:
    """Deliveries given up on after their last attempt (newest first), with the receiver's URL and error."""
    with store.db.read() as tx:
        rows = tx.execute(
            "SELECT d.id, d.webhook_id, w.url, d.event, d.created_at, d.attempts, d.failed_at, d.last_error"
            " FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
            " WHERE d.failed_at IS NOT NULL ORDER BY d.failed_at DESC, d.id DESC LIMIT ?",
            (limit,),
        ).dicts()
    return _shown(rows)


def requeue(store: HRStore, delivery_id: int, actor: str) -> bool:
    """Give a dead-lettered delivery a fresh schedule (due now); False if it is not dead-lettered."""
    now = store.now()
    with store.db.transaction() as tx:
        changed = tx.execute(
            "UPDATE webhook_deliveries SET failed_at = NULL, attempts = 0, next_attempt_ms = ?"
            " WHERE id = ? AND failed_at IS NOT NULL",
            (_ms(now), delivery_id),
        ).rowcount
        if changed:
            audit.record(tx, store.now_iso(), actor, "webhook.requeue", f"delivery:{delivery_id}")
    return bool(changed)
