"""The ``resequence`` downlink command (PROTOCOL.md section 10, "Sequence regression"): this terminal's
record counter went backwards (a restored SD card), so the server holds other records under some of the
sequences in its outbox. In the transaction that records the command, the outbox renumbers those
undelivered rows above everything the server stored and moves its counter past them
(``device.store.outbox.renumber``, from the handler in ``device.courier.commands``): the punches are kept,
sent again under their new numbers.

The courier then forgets the records it had in flight under the old numbers (``Courier._command``).
"""

from __future__ import annotations

from typing import Any

from sync.protocol import ResequenceBody

#: Outcome type of the command, as ``downlink.Outcome.type`` names it.
RESEQUENCE = ResequenceBody.message_type.value


def renumbered(outcomes: list[Any]) -> bool:
    """Whether one of ``downlink.receive``'s outcomes is a resequence applied just now (not met before)."""
    return any(o.type == RESEQUENCE and o.outcome == "applied" and not o.repeated for o in outcomes)
