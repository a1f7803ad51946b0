"""``edgehr server run --config FILE``: the ingest workers and the HR API in one command.

The workers are child processes under a Supervisor (own process groups, dying with this process),
restarted if one exits; the HR API runs on uvicorn in this process, and so does the webhook delivery
loop (a thread with its own store connection, see ``sync.server.webhook_loop``) and the hourly retention job
(``sync.server.retention_loop``). SIGINT or SIGTERM stops
the API, the webhook loop (after its current round), then the workers (SIGTERM, a grace period,
SIGKILL), and returns.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from core import sdnotify
from core.config.loader import load_toml_model
from core.paths import CHECKOUT
from core.serve import BackgroundServer
from core.signals import stop_on_signals
from core.supervisor import Supervisor
from sync.server.config import ServerConfig
from sync.server.ingest_keys import load_server_identity, server_keys_path
from sync.server.retention_loop import RetentionLoop
from sync.server.store.hr_store import database_url, open_hr_store
from sync.server.webhook_loop import WebhookLoop
from sync.server.webhooks import HttpPost, httpx_post

log = logging.getLogger(__name__)

DEFAULT_SHARE_GROUP = "ingest"
#: Restarts of one worker within a run before the server gives up on it and stops.
MAX_RESTARTS = 20


def worker_names(config: ServerConfig) -> list[str]:
    return [f"ingest-{n}" for n in range(1, config.ingest.workers + 1)]


def run_server(config_path: Path, stop: threading.Event, *, http_post: HttpPost = httpx_post) -> int:
    """Run until ``stop`` is set; ``http_post`` is the webhooks' transport (the real one unless a tool
    passes another)."""
    config = load_toml_model(config_path, ServerConfig)
    state = config.server.state_dir
    # Keys and schema first, in this process: workers starting together must not race to create them.
    load_server_identity(state)
    if config.ingest.share_group == DEFAULT_SHARE_GROUP:
        log.warning(
            "ingest.share_group is the default %r: a device that subscribes to $share/%s/... takes turns of the"
            " uplink (the courier resends them, but slowly). Set it to a random name: openssl rand -hex 12",
            DEFAULT_SHARE_GROUP,
            DEFAULT_SHARE_GROUP,
        )
    url = database_url(config.server.database_url, state)
    store = open_hr_store(url, config.server.timezone)
    from sync.server.api import create_app

    api = BackgroundServer(create_app(config, store), config.api.host, config.api.port)
    supervisor = Supervisor(state / "logs")
    env = {"PYTHONPATH": str(CHECKOUT)}
    names = worker_names(config)
    webhooks_stop = threading.Event()
    webhooks_thread: threading.Thread | None = None
    retention_thread: threading.Thread | None = None
    try:
        if config.webhooks.enabled:
            loop = WebhookLoop(
                lambda: open_hr_store(url, config.server.timezone), config.webhooks, webhooks_stop, http_post,
                suites=config.suites,
            )
            webhooks_thread = loop.start_thread()
        retention = RetentionLoop(lambda: open_hr_store(url, config.server.timezone), webhooks_stop)
        retention_thread = retention.start_thread()
        for name in names:
            supervisor.start(
                name,
                [sys.executable, "-m", "sync.server.ingest", "--config", str(config_path), "--worker-id", name],
                env=env,
            )
        api.start()
        log.info(
            "server running: HR API on %s, %d ingest workers; devices need %s",
            api.url,
            len(names),
            server_keys_path(state),
        )
        sdnotify.ready("HR API and ingest workers running")
        while not stop.wait(1.0):
            for name in names:
                child = supervisor.children[name]
                if not child.running():
                    if child.starts > MAX_RESTARTS:
                        log.error("%s keeps exiting; stopping the server. Read %s", name, child.log_path)
                        return 1
                    log.warning("%s exited (code %s); restarting it", name, child.process and child.process.returncode)
                    supervisor.start(name, child.argv, env=env)
    finally:
        sdnotify.stopping()
        api.stop()
        webhooks_stop.set()
        if webhooks_thread is not None:
            # A round ends within batch x timeout; the thread is not a daemon, so this join is the bound.
            webhooks_thread.join(config.webhooks.batch * config.webhooks.timeout_seconds + 5)
        if retention_thread is not None:
            retention_thread.join(30)
        supervisor.stop_all(grace=10.0)
        store.close()
    return 0


def handle(args: argparse.Namespace) -> int:
    """Handler of ``edgehr server run``."""
    with stop_on_signals(threading.Event()) as stop:
        return run_server(args.config, stop)
