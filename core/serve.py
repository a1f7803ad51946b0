"""Run an ASGI app with uvicorn on a background thread that stops cleanly when asked."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from core.errors import EdgehrError


class BackgroundServer:
    def __init__(
        self, app: Any, host: str, port: int, *, ssl_certfile: Path | None = None, ssl_keyfile: Path | None = None
    ) -> None:
        """With ``ssl_certfile`` and ``ssl_keyfile`` (PEM) the app is served over HTTPS only."""
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                                ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
                                ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None)
        self._server = uvicorn.Server(config)
        # uvicorn leaves signal handling alone off the main thread: Ctrl-C belongs to the supervisor.
        self._thread = threading.Thread(target=self._server.run, name=f"http-{port}", daemon=True)
        self.url = f"{'https' if ssl_certfile else 'http'}://{host}:{port}"

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise EdgehrError(
                    f"The web server for {self.url} stopped while starting.",
                    "Another program may hold the port; choose another with --port.",
                )
            if time.monotonic() > deadline:
                raise EdgehrError(
                    f"The web server for {self.url} did not start within {timeout:.0f} s.",
                    "Check the log above for the cause.",
                )
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
