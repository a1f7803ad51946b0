"""The device's uplink envelope sequence: strictly increasing across restarts, never a number reused."""

from __future__ import annotations

from device.store import Store, settings

#: Sequences are reserved on disk in blocks: one write per block, never a number reused after a crash
#: (the next start skips to the next block).
_SEQ_KEY = "sync.envelope_seq_reserved"
_SEQ_BLOCK = 1000


class EnvelopeCounter:
    """The device's uplink envelope sequence, persisted in the settings table in blocks."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._reserved = int(settings.get(store, _SEQ_KEY) or 0)
        self._next = self._reserved + 1

    def next(self) -> int:
        if self._next > self._reserved:
            self._reserved = self._next + _SEQ_BLOCK - 1
            with self._store.transaction() as conn:
                settings.put(conn, _SEQ_KEY, str(self._reserved))
        seq = self._next
        self._next += 1
        return seq
