"""Downlink commands from the server, applied on the device exactly once each, in command_seq order.

Each command carries the server's ``command_seq`` (gap-free per device). The device applies command
``floor + 1`` only (PROTOCOL.md section 10): one that arrives early (``command_seq > floor + 1``: a
shared-subscription worker overtook another, or a page is missing) is *held* in ``downlink_held``
(sealed with the data key: it may carry face templates) and applied when the gap fills, so an erase is
never undone by an older gallery command arriving late. Held commands survive a restart.

Applying a command and recording it in ``downlink_commands`` happen in one transaction, so a command
met again (the server resent it because our confirmation was lost) is not applied twice: it is only
confirmed again. The courier sends the confirmations (``ack-downlink``) until the server acknowledges
them. A gallery command may come as several pages with the same ``command_seq``; it is applied once all
its pages are there, as one transaction (one gallery version).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from core.clock import to_ms
from core.errors import InputError, StoreError
from device.courier.commands import ACTOR, HANDLERS, DownlinkContext
from device.store import audit, downlinks
from device.store.database import savepoint
from device.store.downlinks import HeldPage
from sync.protocol import Command, GalleryBody, MessageType, ProtocolError, decode_body, encode_body

log = logging.getLogger(__name__)

#: Pages held ahead of the floor at most; beyond that an early command is dropped unconfirmed (the
#: server sends it again until confirmed), so a confused or hostile stream cannot fill the disk.
MAX_HELD = 2000


@dataclass(frozen=True)
class Outcome:
    command_seq: int
    type: str
    outcome: str  # "applied", "refused", "held" (waiting for its turn or its other pages) or "dropped"
    detail: dict[str, Any]
    repeated: bool = False  # met before: only its confirmation is sent again


def receive(ctx: DownlinkContext, body: Command) -> list[Outcome]:
    """Take a command as it arrives: apply it (and any held commands it unblocks) if its turn has come,
    hold it if it is early, confirm it again if it was applied before. Returns what happened, in order."""
    seq = body.command_seq
    kind = body.message_type.value
    before = downlinks.applied(ctx.store, seq)
    if before is not None:  # met before (a resend after a lost confirmation, or a page of it): confirm again
        with ctx.store.transaction() as conn:
            downlinks.confirm_again(conn, seq)
        return [Outcome(seq, before.type, before.outcome, before.detail, repeated=True)]
    floor = downlinks.command_floor(ctx.store)
    if seq <= floor:  # below the floor without a row: nothing to apply or confirm (cannot happen in order)
        return [Outcome(seq, kind, "dropped", {"reason": f"stale: at or below the floor {floor}"})]
    pages = body.pages if isinstance(body, GalleryBody) else 1
    outcomes: list[Outcome] = []
    if seq == floor + 1 and pages == 1:
        outcomes.append(_apply(ctx, body))
    elif not _hold(ctx, body):
        return [Outcome(seq, kind, "dropped", {"reason": f"more than {MAX_HELD} pages held already"})]
    while True:  # held commands whose turn has come, strictly in order
        ready = _ready(ctx, downlinks.command_floor(ctx.store) + 1)
        if ready is None:
            break
        outcomes.append(_apply(ctx, ready))
    if not any(o.command_seq == seq for o in outcomes):
        outcomes.append(Outcome(seq, kind, "held", {"floor": downlinks.command_floor(ctx.store), "pages": pages}))
    return outcomes


def apply_command(ctx: DownlinkContext, body: Command) -> Outcome:
    """``receive`` for one command, returning what happened to it (applied, held, repeated...)."""
    outcomes = receive(ctx, body)
    return next((o for o in outcomes if o.command_seq == body.command_seq), outcomes[-1])


def _apply(ctx: DownlinkContext, body: Command) -> Outcome:
    kind = body.message_type.value
    at = ctx.clock.now()
    handler = HANDLERS[type(body)]
    with ctx.store.transaction() as conn:
        # A refused command leaves nothing half-applied: its writes roll back to this savepoint, while
        # the row saying it was refused (and why) still commits.
        try:
            with savepoint(conn, "downlink_command"):
                outcome, detail = handler(ctx, conn, body, at)
        except (InputError, StoreError) as exc:
            outcome, detail = "refused", {"reason": str(exc)}
        downlinks.record_applied(conn, body.command_seq, kind, outcome, detail, to_ms(at))
        audit.record(
            conn,
            at=at,
            actor=ACTOR,
            action=f"downlink.{kind}",
            subject=str(body.command_seq),
            detail={"outcome": outcome, **detail},
        )
    log.info("downlink %s #%d %s", kind, body.command_seq, outcome, extra={"detail": detail})
    return Outcome(body.command_seq, kind, outcome, detail)


def _context(seq: int, page: int) -> bytes:
    return f"downlink-held:{seq}:{page}".encode()


def _hold(ctx: DownlinkContext, body: Command) -> bool:
    """Keep an early command (or page) until its turn; False if too many are held already."""
    seq = body.command_seq
    page, pages = (body.page, body.pages) if isinstance(body, GalleryBody) else (1, 1)
    if isinstance(body, GalleryBody) and ctx.data_key is None:
        # Without a data key the gallery is refused when applied anyway; never keep templates in clear.
        body = body.model_copy(update={"upserts": []})
    plain = encode_body(body)
    key_id_text, nonce, stored = None, None, plain
    if ctx.data_key is not None:
        nonce, stored = ctx.data_key.seal(plain, _context(seq, page))
        key_id_text = ctx.data_key.key_id
    held = HeldPage(seq, page, pages, body.message_type.value, key_id_text, nonce, stored)
    with ctx.store.transaction() as conn:
        if downlinks.held_count(conn) >= MAX_HELD:
            return False
        downlinks.hold(conn, held, received_at_ms=to_ms(ctx.clock.now()))
    return True


def _ready(ctx: DownlinkContext, seq: int) -> Command | None:
    """Held command ``seq`` if all its pages are there (gallery pages merged into one body), else None."""
    held = downlinks.held_pages(ctx.store, seq)
    if not held or len(held) != held[0].pages:
        return None
    bodies: list[Command] = []
    for page in held:
        plain = page.body
        if page.nonce is not None:
            if ctx.data_key is None or page.key_id != ctx.data_key.key_id:
                log.error("held downlink %d page %d is sealed with another data key; dropped", seq, page.page)
                _drop(ctx, seq)
                return None
            plain = ctx.data_key.open(page.nonce, plain, _context(seq, page.page))
        try:
            decoded = decode_body(MessageType(page.type), plain)
        except ProtocolError as exc:
            log.error("held downlink %d page %d cannot be read (%s); dropped", seq, page.page, exc)
            _drop(ctx, seq)
            return None
        assert isinstance(decoded, Command)
        bodies.append(decoded)
    if len(bodies) == 1:
        return bodies[0]
    return merge_pages([b for b in bodies if isinstance(b, GalleryBody)])


def _drop(ctx: DownlinkContext, seq: int) -> None:
    with ctx.store.transaction() as conn:
        downlinks.drop_held(conn, seq)


def merge_pages(pages: list[GalleryBody]) -> GalleryBody:
    """One gallery command from its pages: every page's upserts, and the removals, applied together."""
    upserts = [entry for page in sorted(pages, key=lambda p: p.page) for entry in page.upserts]
    removals = list(dict.fromkeys(no for page in pages for no in page.removals))
    first = pages[0]
    # Built without validation: each page was validated, and the merged lists may exceed one page's limits.
    return GalleryBody.model_construct(
        command_seq=first.command_seq,
        gallery_version=max(p.gallery_version for p in pages),
        page=1,
        pages=len(pages),
        upserts=upserts,
        removals=removals,
    )
