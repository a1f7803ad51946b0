"""The ``resequence`` downlink command (PROTOCOL.md section 10, "Sequence regression"): this terminal's
record counter went backwards (a restored SD card), so the server holds other records under some of the
sequences in its outbox. In the transaction that records the command, the outbox renumbers those
undelivered rows above everything the server stored and moves its counter past them
(``device.store.outbox.renumber``): the punches are kept, sent again under their new numbers.

The courier then forgets the records it had in flight under the old numbers (``Courier._command``).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import TYPE_CHECKING, Any

from device.store import outbox
from sync.protocol import Command, ResequenceBody

if TYPE_CHECKING:
    from device.courier.downlink import DownlinkContext

#: Outcome type of the command, as ``downlink.Outcome.type`` names it.
RESEQUENCE = ResequenceBody.message_type.value


def apply(ctx: DownlinkContext, conn: sqlite3.Connection, body: Command, at: datetime) -> tuple[str, dict[str, Any]]:
    """Renumber inside the command's transaction; the detail says how many rows moved and where."""
    assert isinstance(body, ResequenceBody)
    moved = outbox.renumber(conn, list(body.records), body.next_record_seq)
    detail: dict[str, Any] = {"next_record_seq": body.next_record_seq, "moved": len(moved)}
    if moved:
        detail["new_seqs"] = [min(moved.values()), max(moved.values())]
    return "applied", detail


def renumbered(outcomes: list[Any]) -> bool:
    """Whether one of ``downlink.receive``'s outcomes is a resequence applied just now (not met before)."""
    return any(o.type == RESEQUENCE and o.outcome == "applied" and not o.repeated for o in outcomes)
