"""The panel's admin login on the real app served by uvicorn: simultaneous guesses cannot slip past the
throttle, one address's guesses do not lock out another, the back-off grows, and bodies are bounded."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.serve import BackgroundServer
from device.panel.admin_auth import MAX_FAILURES
from device.panel.login_throttle import FIRST_LOCK_SECONDS, MAX_LOCK_SECONDS, LoginThrottle, LoginThrottled
from tests.attendance.real_vision import requires_vision
from tests.panel.site import PASSWORD, Site, build_site
from tests.server.conftest import free_port


@pytest.fixture
def served(tmp_path: Path, vision: Any) -> Iterator[tuple[str, Site]]:
    site = build_site(tmp_path, vision)
    port = free_port()
    server = BackgroundServer(site.app, "127.0.0.1", port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}", site
    finally:
        server.stop()
        site.store.close()


def client_from(address: str) -> httpx.Client:
    """An HTTP client whose connections come from ``address`` (any 127.x.y.z is this machine)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), follow_redirects=False, timeout=60)


def login(url: str, password: str, address: str = "127.0.0.1") -> httpx.Response:
    with client_from(address) as client:
        return client.post(url + "/admin/login?lang=en", data={"password": password})


@requires_vision
def test_simultaneous_wrong_logins_get_no_more_checks_than_the_limit(served: tuple[str, Site]) -> None:
    url, _ = served
    start = threading.Barrier(40)
    statuses: list[int] = []

    def guess(n: int) -> None:
        with client_from("127.0.0.1") as client:
            start.wait()
            statuses.append(client.post(url + "/admin/login", data={"password": f"guess number {n}"}).status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert Counter(statuses) == {401: MAX_FAILURES, 429: 40 - MAX_FAILURES}


@requires_vision
def test_one_address_guessing_does_not_lock_out_another(served: tuple[str, Site]) -> None:
    url, _ = served
    for _ in range(MAX_FAILURES):
        assert login(url, "wrong guess!", "127.0.0.2").status_code == 401
    refused = login(url, PASSWORD, "127.0.0.2")
    assert refused.status_code == 429 and "Too many wrong passwords" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= FIRST_LOCK_SECONDS
    # The admin at another address (here: the terminal's own browser) still gets in.
    admitted = login(url, PASSWORD, "127.0.0.1")
    assert admitted.status_code == 303 and "edgehr_admin=" in admitted.headers["set-cookie"]


@requires_vision
def test_panel_bodies_are_bounded_before_any_route_reads_them(served: tuple[str, Site]) -> None:
    url, _ = served
    port = int(url.rsplit(":", 1)[1])
    for path, length in (("/admin/login", 2 * 1024 * 1024), ("/admin/enrol/E7/photos", 300 * 1024 * 1024)):
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                f"Content-Length: {length}\r\n\r\n")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(head.encode() + b"--x\r\n")
            raw = b""
            while chunk := sock.recv(65536):  # the 413 closes the connection
                raw += chunk
        answer = raw.decode("utf-8", "replace")
        assert answer.startswith("HTTP/1.1 413"), answer[:200]
        assert "larger than" in answer and "超过" in answer


def test_back_off_doubles_per_address_and_the_table_is_bounded() -> None:
    now = [1000.0]
    throttle = LoginThrottle(monotonic=lambda: now[0], max_clients=3)
    for _ in range(MAX_FAILURES):
        throttle.begin("10.0.0.9")
    with pytest.raises(LoginThrottled) as waited:
        throttle.begin("10.0.0.9")
    assert waited.value.retry_after == FIRST_LOCK_SECONDS
    throttle.begin("10.0.0.7")  # another address is not held up
    waits = []
    for _ in range(6):
        now[0] += throttle.retry_after("10.0.0.9")
        throttle.begin("10.0.0.9")  # one more wrong password after each wait
        waits.append(throttle.retry_after("10.0.0.9"))
    assert waits == [min(MAX_LOCK_SECONDS, FIRST_LOCK_SECONDS * 2**n) for n in range(1, 7)]
    throttle.succeeded("10.0.0.9")
    assert throttle.retry_after("10.0.0.9") == 0
    for n in range(10):
        throttle.begin(f"10.0.1.{n}")
    assert len(throttle) == 3
