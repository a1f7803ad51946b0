"""The kiosk process's live state over a Unix socket, for the panel when it runs as its own process.

Served by the kiosk process (``edgehr device run --only kiosk``) at ``<state_dir>/kiosk-live.sock``, mode 0600
inside the 0700 state folder: the panel's unit runs as the same user, nobody else. One request per connection:

- request: one JSON object on one line, at most MAX_REQUEST bytes: ``{"op": OP, ...}`` with OP one of
  ``state`` (screen state and claim view), ``preview`` (the preview JPEG), ``counters``, ``camera``
  (the camera's status), ``claim`` (``employee_no``, ``pin``: strings of at most 64 characters), ``cancel``,
  ``frames`` (``count`` 1..MAX_FRAMES, ``timeout`` seconds <= MAX_BORROW_SECONDS) and ``restart``;
- answer: one JSON object on one line (at most MAX_HEADER bytes), ``{"ok": true, ...}`` or
  ``{"ok": false, "error": "..."}``, with ``"blobs": [size, ...]`` when raw bytes follow it (each at most
  MAX_BLOB bytes: the preview JPEG, or lossless PNG frames, never written anywhere).

Each side gives up on a silent peer after its timeout; nothing here outlives the connection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import ConfigError, ConfigProblem
from core.types import Image

log = logging.getLogger(__name__)

SOCKET_NAME = "kiosk-live.sock"
MAX_REQUEST = 4096
MAX_HEADER = 64 * 1024
#: A frame as lossless PNG: a 1920x1080 colour frame is ~3 MB; 8 MiB leaves room and bounds a bad peer.
MAX_BLOB = 8 * 1024 * 1024
MAX_FRAMES = 30
MAX_BORROW_SECONDS = 15.0
#: The seconds a connection may stay silent (the server side; the client sets its own per request).
SERVER_TIMEOUT = 20.0
MAX_FIELD = 64
#: sockaddr_un's sun_path on Linux (108 bytes with its terminating NUL).
MAX_SOCKET_PATH = 108
OPS = ("state", "preview", "counters", "camera", "claim", "cancel", "frames", "restart")


class LiveError(Exception):
    """The kiosk process is not there, did not answer in time, or answered outside the protocol."""


Answer = tuple[dict[str, Any], list[bytes]]
Handler = Callable[[dict[str, Any]], Answer]


def socket_path(state_dir: Path) -> Path:
    return state_dir / SOCKET_NAME


def _read_line(stream: Any, limit: int) -> bytes:
    line: bytes = stream.readline(limit + 1)
    if len(line) > limit or not line.endswith(b"\n"):
        raise LiveError("a line too long or cut short")
    return line


def _read_exact(stream: Any, size: int) -> bytes:
    data: bytes = stream.read(size)
    if len(data) != size:
        raise LiveError("a blob cut short")
    return data


def check_request(request: object) -> dict[str, Any]:
    """The request, validated against the schema above (LiveError otherwise)."""
    if not isinstance(request, dict) or request.get("op") not in OPS:
        raise LiveError("unknown request")
    op = request["op"]
    if op == "claim":
        number, pin = request.get("employee_no"), request.get("pin")
        if not isinstance(number, str) or not (pin is None or isinstance(pin, str)):
            raise LiveError("claim: employee_no (string) and pin (string or null)")
        if len(number) > MAX_FIELD or len(pin or "") > MAX_FIELD:
            raise LiveError("claim: fields too long")
    if op == "frames":
        count, timeout = request.get("count"), request.get("timeout")
        if not isinstance(count, int) or not 1 <= count <= MAX_FRAMES:
            raise LiveError(f"frames: count 1..{MAX_FRAMES}")
        if not isinstance(timeout, int | float) or not 0 < timeout <= MAX_BORROW_SECONDS:
            raise LiveError(f"frames: timeout 0..{MAX_BORROW_SECONDS} s")
    return request


class _Connection(socketserver.StreamRequestHandler):
    timeout = SERVER_TIMEOUT
    server: _Server

    def handle(self) -> None:
        try:
            request = check_request(json.loads(_read_line(self.rfile, MAX_REQUEST)))
            header, blobs = self.server.answer(request)
            header = {"ok": True, **header, "blobs": [len(b) for b in blobs]}
        except (LiveError, ValueError) as exc:
            header, blobs = {"ok": False, "error": str(exc)[:200]}, []
        except OSError:
            return  # the peer went away
        with contextlib.suppress(OSError):
            self.wfile.write(json.dumps(header).encode() + b"\n")
            for blob in blobs:
                self.wfile.write(blob)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, answer: Handler) -> None:
        self.answer = answer
        super().__init__(path, _Connection)


class LiveServer:
    """The kiosk process's end: answers requests with ``answer`` (device/panel/live.py builds it) on a thread."""

    def __init__(self, state_dir: Path, answer: Handler) -> None:
        self.path = socket_path(state_dir)
        self._answer = answer
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if len(os.fsencode(self.path)) >= MAX_SOCKET_PATH:
            raise ConfigError(str(self.path), [ConfigProblem(None, "device.state_dir", "too long for the kiosk's "
                                                             f"socket (a Unix socket path is under {MAX_SOCKET_PATH} "
                                                             "bytes): choose a shorter state folder")])
        self.path.unlink(missing_ok=True)  # a socket left by a killed kiosk process
        # The state folder is 0700 (nobody else reaches the socket even before the chmod); the umask is left
        # alone: it is the whole process's, and the kiosk loop may be writing files meanwhile.
        self._server = _Server(str(self.path), self._answer)
        os.chmod(self.path, 0o600)
        self._thread = threading.Thread(target=self._server.serve_forever, name="kiosk-live", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self.path.unlink(missing_ok=True)


class LiveClient:
    """The panel process's end: one connection per request."""

    def __init__(self, state_dir: Path, *, timeout: float = 2.0) -> None:
        self.path = socket_path(state_dir)
        self.timeout = timeout

    def ask(self, request: dict[str, Any], *, timeout: float | None = None) -> Answer:
        """The answer's header and blobs; LiveError when the kiosk process is away or refuses."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout or self.timeout)
                sock.connect(str(self.path))
                sock.sendall(json.dumps(request).encode() + b"\n")
                with sock.makefile("rb") as stream:
                    header = json.loads(_read_line(stream, MAX_HEADER))
                    sizes = header.get("blobs", []) if isinstance(header, dict) else None
                    if not isinstance(sizes, list) or not all(isinstance(s, int) and 0 <= s <= MAX_BLOB for s in sizes):
                        raise LiveError("an answer outside the protocol")
                    blobs = [_read_exact(stream, size) for size in sizes]
        except (OSError, ValueError) as exc:
            raise LiveError(f"the kiosk process does not answer ({type(exc).__name__})") from exc
        if not header.get("ok"):
            raise LiveError(str(header.get("error", "refused")))
        return header, blobs


def encode_frame(image: Image) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise LiveError("a frame could not be encoded")
    return bytes(encoded.tobytes())


def decode_frame(blob: bytes) -> Image:
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(blob, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise LiveError("a frame could not be decoded")
    return np.asarray(image, dtype=np.uint8)
