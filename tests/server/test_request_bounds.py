"""Request bodies against the real HR API on uvicorn (raw sockets: what a client actually sends): the token
is checked before an upload is read, and bodies are bounded by the app itself (413, in the API's JSON)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.serve import BackgroundServer
from sync.server.api import create_app
from sync.server.auth import create_token
from sync.server.config import BrokerSection, ServerConfig
from sync.server.store import HRStore, employees, open_hr_store
from tests.server.conftest import NOW, free_port

MIB = 1024 * 1024


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[str, int, HRStore]]:
    store = open_hr_store(f"sqlite:///{tmp_path / 'hr.db'}", "Asia/Shanghai", clock=lambda: NOW)
    employees.create(store, "E1", "Li Lei", "test")
    port = free_port()
    server = BackgroundServer(create_app(ServerConfig(broker=BrokerSection(tls=False)), store), "127.0.0.1", port)
    server.start()
    try:
        yield "127.0.0.1", port, store
    finally:
        server.stop()
        store.close()


def exchange(port: int, head: str, body: bytes, *, wait: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` and ``body`` (possibly only the start of what Content-Length announces) and read the
    answer; a server still waiting for the rest of the body times out here."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(head.encode("latin-1") + body)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pytest.fail(f"no answer within {wait} s: the server is still reading the body ({answer[:80]!r})")
    top, _, rest = answer.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, rest


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def photo_head(path: str, length: int | None, token: str | None = None) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: multipart/form-data; boundary=xyz"]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return "\r\n".join(lines) + "\r\n\r\n"


PART = b'--xyz\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n\r\n' + b"\xff" * 60_000


def test_an_upload_without_a_token_is_refused_before_its_body_is_read(api: tuple[str, int, HRStore]) -> None:
    _, port, _ = api
    # 50 MB announced (under the photo route's limit), only the first 60 kB sent: the 401 must come at once,
    # not after the server has read (and spooled to disk) what a stranger sends.
    status, _, body = exchange(port, photo_head("/api/employees/E1/photos", 50 * MIB), PART)
    assert status == 401 and json.loads(body)["error"] == "unauthenticated"
    # The same without a length (chunked): still refused before the body.
    status, _, body = exchange(port, photo_head("/api/employees/E1/photos", None),
                               b"%x\r\n" % len(PART) + PART + b"\r\n")
    assert status == 401 and json.loads(body)["fix"]


def test_a_body_over_the_limit_is_413_unread_even_with_a_token(api: tuple[str, int, HRStore]) -> None:
    _, port, store = api
    token = create_token(store, "hr", "bounds")
    # 300 MiB announced on the photo route: refused from the header alone.
    status, headers, body = exchange(port, photo_head("/api/employees/E1/photos", 300 * MIB, token), PART)
    assert status == 413 and headers["content-type"] == "application/json"
    error = json.loads(body)
    assert error["error"] == "body-too-large" and "128 MiB" in error["message"] and error["fix"]
    # A JSON route allows 1 MiB: 2 MiB announced is refused as well.
    head = (f"POST /api/employees HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: {2 * MIB}\r\n\r\n")
    status, _, body = exchange(port, head, b'{"employee_no": "')
    assert status == 413 and json.loads(body)["error"] == "body-too-large"


def test_a_chunked_body_is_counted_as_it_streams(api: tuple[str, int, HRStore]) -> None:
    _, port, store = api
    token = create_token(store, "hr", "bounds")
    head = (f"POST /api/employees HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 256 * 1024
    body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(6))  # 1.5 MiB, no end chunk
    status, _, answer = exchange(port, head, body)
    assert status == 413 and json.loads(answer)["error"] == "body-too-large"
    # A small body still goes through, and the server is fine after the cut-off.
    small = json.dumps({"employee_no": "E2", "name": "Han Meimei"}).encode()
    head = head.replace("Transfer-Encoding: chunked", f"Content-Length: {len(small)}")
    status, _, answer = exchange(port, head, small)
    assert status == 201, answer
