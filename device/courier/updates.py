"""Releases the server asks for (the ``update`` command): staged, checked, handed on, and reported.

1. The command's handler (``device.courier.commands``) writes ``<updates>/pending.json`` (atomically) in
   the command's transaction: from then on the request survives restarts.
2. The courier's loop (``Updates.step``) stages it on a thread of its own, never holding the store: fetch
   the release into ``<updates>/<version>`` (``file://`` folder or ``http(s)://`` folder, file by file),
   check that ``manifest.json`` has the command's SHA-256, that it is signed by the release key provisioned
   on the device (``fleet.release_signing``), and every file's SHA-256 as it arrives.
3. It hands the staged folder to the ``Applier``: on a device that writes ``<updates>/request.json``, which
   a root-owned path unit (``edgehr-update-request.path``) watches; its service runs ``edgehr-update
   apply-request``, which checks everything again as root, installs, restarts the units and writes
   ``<updates>/status.json`` (ok, rolled-back, failed or refused). That restart usually restarts this
   courier too; ``pending.json`` says the release was handed on, so the new process waits for the status.
4. The result goes to the server as an ``update-status`` record through the outbox (acknowledged like a
   punch), in one transaction, and ``pending.json`` is removed; the server widens or halts the rollout.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from core.clock import Clock, to_ms
from core.errors import EdgehrError, InputError
from device.store import Store, outbox
from fleet.release_signing import MANIFEST, SIGNATURE, verify
from sync.keyfiles import write_atomic
from sync.protocol import UpdateBody, UpdateStatusBody

log = logging.getLogger(__name__)

PENDING = "pending.json"
REQUEST = "request.json"
STATUS = "status.json"
#: A release is a few hundred MB (wheels and models); more than this is refused as it arrives.
MAX_RELEASE_BYTES = 4 * 1024**3
#: edgehr-update's results, as the update-status record names them.
RESULTS = ("ok", "rolled-back", "failed", "refused")

#: Hands a staged, checked release (folder, version) to ``edgehr-update apply`` across the privilege boundary.
Applier = Callable[[Path, str], None]


def request_file_applier(folder: Path) -> Applier:
    """The device's applier: the request file the root-owned path unit watches (``edgehr-update-request``)."""

    def apply(staged: Path, version: str) -> None:
        write_atomic(folder / REQUEST, json.dumps({"version": version, "from": str(staged)}).encode())

    return apply


@dataclass(frozen=True)
class Pending:
    rollout_id: str
    command_seq: int
    version: str
    manifest_sha256: str
    source: str
    handed: bool = False

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode()


def report(conn: Any, pending: Pending, result: str, detail: str, running: str | None, at_ms: int,
           synced: bool) -> int:
    """Queue the ``update-status`` record inside the caller's transaction; returns its sequence."""
    body = UpdateStatusBody(rollout_id=pending.rollout_id, command_seq=pending.command_seq,
                            release_version=pending.version, result=result,  # type: ignore[arg-type]
                            running_version=running, detail=detail[:500])
    return outbox.enqueue(conn, f"update-{pending.command_seq}", body, created_at_ms=at_ms, clock_synced=synced)


class Updates:
    """The update inbox of one device: ``accept`` (in a command's transaction) and ``step`` (courier loop)."""

    def __init__(self, folder: Path, public_key: Path, applier: Applier, store: Store, clock: Clock,
                 ca_file: Path | None = None) -> None:
        self.folder = folder
        self.public_key = public_key
        self.applier = applier
        self.store = store
        self.clock = clock
        self.ca_file = ca_file
        self._thread: threading.Thread | None = None
        self._refused: str | None = None
        self._next_look = 0.0

    def accept(self, body: UpdateBody) -> dict[str, Any]:
        """Take an ``update`` command: it replaces any request not yet handed on."""
        self.folder.mkdir(parents=True, exist_ok=True)
        pending = Pending(body.rollout_id, body.command_seq, body.release_version, body.manifest_sha256, body.source)
        write_atomic(self.folder / PENDING, pending.to_json())
        return {"release_version": body.release_version, "rollout_id": body.rollout_id, "staging": "queued"}

    def pending(self) -> Pending | None:
        try:
            return Pending(**json.loads((self.folder / PENDING).read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            log.error("update request %s unreadable (%s); dropped", self.folder / PENDING, exc)
            (self.folder / PENDING).unlink()
            return None

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def step(self) -> None:
        """Start staging a queued request, or report a finished one (refused here, or edgehr-update's status).
        Called from every round of the courier's loop; looks at the folder at most once a second."""
        now = time.monotonic()
        if now < self._next_look:
            return
        self._next_look = now + 1.0
        pending = self.pending()
        if pending is None or self.busy():
            return
        if self._refused is not None:
            self._finish(pending, "refused", self._refused, None)
            return
        if not pending.handed:
            with suppress(FileNotFoundError):
                (self.folder / STATUS).unlink()  # a result from before is not this request's
            self._thread = threading.Thread(target=self._stage_and_hand, args=(pending,), name="update-stage")
            self._thread.start()
            return
        status = self._status()
        if status is not None and status.get("version") == pending.version:
            result = str(status.get("result"))
            running = status.get("running") or None
            self._finish(pending, result if result in RESULTS else "failed", str(status.get("detail", "")),
                         str(running) if running else None)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _status(self) -> dict[str, Any] | None:
        try:
            found = json.loads((self.folder / STATUS).read_text())
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def _finish(self, pending: Pending, result: str, detail: str, running: str | None) -> None:
        with self.store.transaction() as conn:
            seq = report(conn, pending, result, detail, running, to_ms(self.clock.now()), self.clock.synced())
        (self.folder / PENDING).unlink()
        self._refused = None
        log.info("update %s (rollout %s): %s, reported as record %d", pending.version, pending.rollout_id, result, seq)

    def _stage_and_hand(self, pending: Pending) -> None:
        try:
            staged = self.stage(pending)
        except EdgehrError as exc:
            log.error("update %s refused: %s", pending.version, exc)
            self._refused = str(exc)
            return
        except OSError as exc:
            log.error("update %s could not be fetched: %s", pending.version, exc)
            self._refused = f"fetch failed: {exc}"
            return
        write_atomic(self.folder / PENDING, Pending(**{**pending.__dict__, "handed": True}).to_json())
        log.info("update %s staged in %s, handed to edgehr-update", pending.version, staged)
        self.applier(staged, pending.version)

    # -- staging ---------------------------------------------------------------------------------

    def stage(self, pending: Pending) -> Path:
        """Fetch and check the release into ``<updates>/<version>``; raise InputError if anything is off."""
        for old in self.folder.iterdir():  # one staged release at a time: the disk is small
            if old.is_dir():
                shutil.rmtree(old)
        partial = self.folder / f".{pending.version}.partial"
        partial.mkdir(parents=True)
        fetch = self._fetcher(pending.source)
        manifest = fetch(MANIFEST, 16 * 1024**2)
        if hashlib.sha256(manifest).hexdigest() != pending.manifest_sha256:
            raise InputError(f"The manifest at {pending.source} is not the one the rollout names (sha256 differs).",
                             "Publish the release the rollout was defined with, or define a new release.")
        signature = fetch(SIGNATURE, 4096)
        verify(self.public_key, manifest, signature.decode("ascii", "replace"))
        files = json.loads(manifest).get("files", {})
        if json.loads(manifest).get("version") != pending.version or not isinstance(files, dict):
            raise InputError(f"The manifest names another version than {pending.version}.", "Fix the release.")
        (partial / MANIFEST).write_bytes(manifest)
        (partial / SIGNATURE).write_bytes(signature)
        total = 0
        for rel, want in sorted({**files, "VERSION": None}.items()):
            path = PurePosixPath(rel)
            if path.is_absolute() or ".." in path.parts or not path.parts:
                raise InputError(f"The manifest names an unsafe path {rel!r}.", "Rebuild the release.")
            data = fetch(rel, MAX_RELEASE_BYTES - total)
            total += len(data)
            if want is not None and hashlib.sha256(data).hexdigest() != want:
                raise InputError(f"{rel} does not match its sha256 in the manifest.", "Publish the release again.")
            target = partial.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        staged = self.folder / pending.version
        partial.rename(staged)
        return staged

    def _fetcher(self, source: str) -> Callable[[str, int], bytes]:
        parsed = urllib.parse.urlsplit(source)
        if parsed.scheme == "file":
            base = Path(urllib.parse.unquote(parsed.path))

            def read_file(rel: str, limit: int) -> bytes:
                path = base / rel
                if path.stat().st_size > limit:
                    raise InputError(f"{rel} is larger than a release may be.", "Check the release source.")
                return path.read_bytes()

            return read_file
        import ssl

        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        root = source if source.endswith("/") else source + "/"

        def read_url(rel: str, limit: int) -> bytes:
            url = urllib.parse.urljoin(root, urllib.parse.quote(rel))
            with urllib.request.urlopen(url, timeout=60, context=context) as answer:  # noqa: S310 (http/https only)
                data: bytes = answer.read(limit + 1)
            if len(data) > limit:
                raise InputError(f"{rel} is larger than a release may be.", "Check the release source.")
            return data

        return read_url
