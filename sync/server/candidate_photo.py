"""A candidate's registered photo: HR uploads it, the server keeps the face templates, never the photo.

The photo is embedded in memory with the devices' own pipeline exactly as an employee's enrolment photo
(``enrolment.embed_photos``: same detector, quality gate, embedder, same rejection reasons), so the booth can
compare it with its camera at the attendance 1:1 threshold. The templates are sealed with the server's data
key and, in the same transaction, a ``candidate-templates`` command is queued for the candidate's booth. The
audit entry names the consent text version the candidate signed for the photo and the counts, never a face.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from core.errors import InputError
from sync.server.enrolment import ServerEnroller, embed_photos
from sync.server.store import audit, candidate_templates
from sync.server.store.employees import NotFound

log = logging.getLogger(__name__)

#: Templates kept per candidate: a registered photo or a few; the wire carries at most 16.
MAX_TEMPLATES = 5


def register(
    enroller: ServerEnroller,
    candidate_id: str,
    photos: Iterable[tuple[str, bytes | None]],
    *,
    consent_text_version: str,
    actor: str,
) -> dict[str, Any]:
    """Embed the uploaded photo(s) of one person; keep their templates and queue them to the candidate's booth.
    ``photos``: (name, bytes) pairs, bytes None for a photo dropped unread as too large."""
    consent = consent_text_version.strip()
    if not consent or len(consent) > 64:
        raise InputError(
            "The consent text version is missing or longer than 64 characters; no photo was processed.",
            "Send the version of the consent text the candidate signed as the form field consent_text_version.",
            code="no-consent",
        )
    store = enroller.store
    with store.db.read() as tx:
        if tx.execute("SELECT 1 FROM candidates WHERE candidate_id = ?", (candidate_id,)).one() is None:
            raise NotFound(
                f"There is no candidate {candidate_id}.", "Create the candidate first, then upload the photo."
            )
    parts = enroller.parts()
    results, vectors, owners = embed_photos(parts, photos)
    kept = [v for i, v in enumerate(vectors) if results[owners[i]]["accepted"]][:MAX_TEMPLATES]
    sent_to: str | None = None
    if kept:
        key = enroller.data_key()
        now = store.now_iso()
        with store.db.transaction() as tx:
            row = tx.execute("SELECT device_id FROM candidates WHERE candidate_id = ?", (candidate_id,)).one()
            if row is None:  # deleted or erased while the photo was embedded
                raise NotFound(f"There is no candidate {candidate_id}.", "Nothing was stored.")
            candidate_templates.replace(tx, key, candidate_id, parts.model, kept, now)
            seq = candidate_templates.queue(tx, row[0], now, upserts=[candidate_id])
            sent_to = row[0] if seq is not None else None
            audit.record(tx, now, actor, "candidate.photo", f"candidate:{candidate_id}",
                         {"consent_text_version": consent, "model": parts.model, "templates": len(kept),
                          "photos": len(results), "booth": sent_to})  # fmt: skip
    log.info("candidate photo", extra={"candidate_id": candidate_id, "templates": len(kept)})
    return {
        "candidate_id": candidate_id,
        "registered": bool(kept),
        "templates": len(kept),
        "model": parts.model,
        "photos": results,
        "templates_sent_to": sent_to,
    }
