"""Punch snapshots: the deciding frame's face crop kept for disputes, encrypted, and purged by age.

Off by default (attendance.snapshots). When on, each punch's face crop is JPEG-encoded in memory, sealed
with the device data key (bound to the punch's uid) and written to ``<state>/snapshots/<uid>.snap``; the
row in ``punch_snapshots`` holds the nonce, key id and expiry. Nothing here is ever logged. ``purge``
removes snapshots older than the retention (rows and files, audited) and files a crash left without a
row; the runner calls it on a timer, never in a busy loop.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from core.clock import Clock
from core.datakey import DataKey
from core.errors import InputError, StoreError
from core.types import Image
from device.store import audit
from device.store.database import Store
from device.store.punches import Punch

log = logging.getLogger(__name__)

SUFFIX = ".snap"
#: The crop reaches this fraction of the face box beyond each side (hair, chin: what a person recognises).
MARGIN = 0.3
JPEG_QUALITY = 85
#: A file younger than this with no row may be a snapshot being written right now: the sweep leaves it.
ORPHAN_GRACE = timedelta(hours=1)
#: The actor purges are audited under.
ACTOR = "device:snapshot-retention"


def _context(uid: str) -> bytes:
    # Binds the ciphertext to its punch: a file renamed onto another punch fails to decrypt.
    return f"punch-snapshot:{uid}".encode()


def _utc(moment: datetime) -> str:
    # One fixed offset, so ISO strings compare in time order inside SQL.
    return moment.astimezone(UTC).isoformat()


def face_crop_jpeg(image: Image, box: Sequence[float] | None) -> bytes:
    """The face (with a margin) as JPEG bytes; the whole frame when no box is known."""
    import cv2

    height, width = image.shape[:2]
    crop = image
    if box is not None:
        x, y, w, h = (float(v) for v in box)
        left, top = max(0, int(x - MARGIN * w)), max(0, int(y - MARGIN * h))
        right, bottom = min(width, int(x + w + MARGIN * w)), min(height, int(y + h + MARGIN * h))
        if right > left and bottom > top:
            crop = image[top:bottom, left:right]
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(crop), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise InputError("The punch snapshot could not be encoded as JPEG.", "Check the camera's frame format.")
    return bytes(encoded.tobytes())


@dataclass(frozen=True)
class SnapshotEntry:
    """A punch that has a snapshot, as the admin panel lists it (never the image itself)."""

    punch_id: int
    uid: str
    direction: str
    device_time: str
    expires_at: str


@dataclass(frozen=True)
class PurgeResult:
    removed: int  # snapshots (rows and their files) past retention
    orphans: int  # files with no row, left by a crash between writing the file and its row


def delete_rows_of(conn: sqlite3.Connection, employee_no: str) -> list[str]:
    """Delete the snapshot rows of every punch of ``employee_no`` inside the caller's transaction; returns
    their files, which the caller unlinks (the rows are the record; a file left behind is an orphan)."""
    rows = conn.execute(
        "SELECT s.punch_id, s.path FROM punch_snapshots s JOIN punches p ON p.id = s.punch_id"
        " WHERE p.employee_no = ?",
        (employee_no,),
    ).fetchall()
    conn.executemany("DELETE FROM punch_snapshots WHERE punch_id = ?", [(r[0],) for r in rows])
    return [str(r[1]) for r in rows]


class SnapshotStore:
    """Writes, reads and purges punch snapshots in ``folder`` (created 0700 on first write)."""

    def __init__(self, store: Store, key: DataKey, folder: Path, clock: Clock, *, retention_days: int) -> None:
        if not 1 <= retention_days <= 365:
            raise InputError(
                f"Snapshot retention of {retention_days} days is outside 1..365.",
                "Set attendance.snapshot_retention_days between 1 and 365.",
            )
        self.store = store
        self.key = key
        self.folder = folder
        self.clock = clock
        self.retention = timedelta(days=retention_days)

    def keep(self, punch: Punch, image: Image, box: Sequence[float] | None) -> Path:
        """Store the face crop of the frame that decided ``punch``; returns the file written."""
        nonce, sealed = self.key.seal(face_crop_jpeg(image, box), _context(punch.uid))
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.folder / f"{punch.uid}{SUFFIX}"
        # File first (whole, then renamed into place), row second: a crash in between leaves a file with no
        # row, which purge sweeps; never a row pointing at half a file.
        fd, tmp = tempfile.mkstemp(prefix=".snap-", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(sealed)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        now = self.clock.now()
        try:
            with self.store.transaction() as conn:
                conn.execute(
                    "INSERT INTO punch_snapshots (punch_id, path, expires_at, key_id, nonce, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (punch.id, str(path), _utc(now + self.retention), self.key.key_id, nonce, _utc(now)),
                )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def load(self, punch_id: int) -> bytes | None:
        """The snapshot of a punch as JPEG bytes (for an admin settling a dispute), or None if there is none."""
        row = self.store.conn.execute(
            "SELECT s.path, s.nonce, p.uid FROM punch_snapshots s JOIN punches p ON p.id = s.punch_id"
            " WHERE s.punch_id = ?",
            (punch_id,),
        ).fetchone()
        if row is None or row[1] is None:
            return None
        try:
            sealed = Path(row[0]).read_bytes()
        except FileNotFoundError:
            return None
        try:
            return self.key.open(row[1], sealed, _context(row[2]))
        except StoreError:
            raise StoreError(
                f"The snapshot of punch {punch_id} failed its integrity check.",
                "It was altered or belongs to another data key; it cannot be shown.",
            ) from None

    def purge(self) -> PurgeResult:
        """Remove every snapshot past retention (audited when any went) and sweep orphaned files."""
        now = self.clock.now()
        oldest_kept = _utc(now - self.retention)
        with self.store.transaction() as conn:
            rows = conn.execute(
                "SELECT punch_id, path FROM punch_snapshots WHERE expires_at <= ?"
                " OR coalesce(created_at, expires_at) <= ?",
                (_utc(now), oldest_kept),
            ).fetchall()
            conn.executemany("DELETE FROM punch_snapshots WHERE punch_id = ?", [(r[0],) for r in rows])
            if rows:
                audit.record(
                    conn, at=now, actor=ACTOR, action="snapshot.purge", subject="punch-snapshots",
                    detail={"removed": len(rows), "retention_days": self.retention.days},
                )
        # The rows are gone for good; a file that fails to unlink now is swept as an orphan next time.
        for _punch_id, path in rows:
            with suppress(FileNotFoundError):
                Path(path).unlink()
        orphans = self._sweep_orphans(now)
        if orphans:
            with self.store.transaction() as conn:
                audit.record(conn, at=now, actor=ACTOR, action="snapshot.sweep", subject="punch-snapshots",
                             detail={"orphan_files": orphans})
        return PurgeResult(len(rows), orphans)

    def _sweep_orphans(self, now: datetime) -> int:
        if not self.folder.is_dir():
            return 0
        known = {Path(p).name for (p,) in self.store.conn.execute("SELECT path FROM punch_snapshots")}
        cutoff = (now - ORPHAN_GRACE).timestamp()
        swept = 0
        for entry in self.folder.iterdir():  # bounded: one pass over one folder
            if entry.name in known or not entry.is_file():
                continue
            with suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    swept += 1
        return swept

    def recent(self, employee_no: str, limit: int = 20) -> list[SnapshotEntry]:
        """The employee's newest punches that have a snapshot (for an admin settling a dispute)."""
        rows = self.store.conn.execute(
            "SELECT p.id, p.uid, p.direction, p.device_time, s.expires_at FROM punch_snapshots s"
            " JOIN punches p ON p.id = s.punch_id WHERE p.employee_no = ? ORDER BY p.device_time_ms DESC, p.id DESC"
            " LIMIT ?",
            (employee_no, limit),
        ).fetchall()
        return [SnapshotEntry(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]

    def view(self, punch_id: int, *, employee_no: str, actor: str) -> bytes | None:
        """The snapshot of ``employee_no``'s punch ``punch_id`` as JPEG bytes, audited as "snapshot.view" by
        ``actor``; None if that punch of that employee has no snapshot. Decrypted in memory only."""
        row = self.store.conn.execute(
            "SELECT p.uid FROM punch_snapshots s JOIN punches p ON p.id = s.punch_id"
            " WHERE s.punch_id = ? AND p.employee_no = ?",
            (punch_id, employee_no),
        ).fetchone()
        if row is None:
            return None
        jpeg = self.load(punch_id)
        if jpeg is None:
            return None
        # Audited before a byte is shown: a view that reached the screen is always on record.
        with self.store.transaction() as conn:
            audit.record(conn, at=self.clock.now(), actor=actor, action="snapshot.view", subject=employee_no,
                         detail={"punch_uid": str(row[0])})
        return jpeg

    def count(self) -> int:
        return int(self.store.conn.execute("SELECT count(*) FROM punch_snapshots").fetchone()[0])
