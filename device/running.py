"""What the terminal's and the booth's runners share about their life cycle: the panel's web server on
``panel.host``/``panel.port``, the courier's thread, and the order a clean stop takes (courier thread joined,
server stopped, then every part closed once, a part failing to close keeping no other open)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

from core.errors import EdgehrError
from device.config.screens import PanelSection

#: How long a stop waits for the courier to finish its round.
JOIN_SECONDS = 30


class RunningParts:
    def __init__(self) -> None:
        self.courier_thread: threading.Thread | None = None
        self.server: Any = None
        self._closed = False

    def serve(self, app: Any, panel: PanelSection) -> None:
        from core.serve import BackgroundServer

        self.server = BackgroundServer(app, panel.host, panel.port, ssl_certfile=panel.tls_cert_file,
                                       ssl_keyfile=panel.tls_key_file)
        self.server.start()

    def stop(self, closers: Sequence[Callable[[], None]]) -> None:
        """Idempotent; the caller has set its stop event (the courier shares it) and joined its own loop."""
        if self.courier_thread is not None:
            self.courier_thread.join(timeout=JOIN_SECONDS)
            self.courier_thread = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self._closed:
            return
        self._closed = True
        for close in closers:
            with contextlib.suppress(EdgehrError):
                close()
