"""Downlink command bodies: a ``downlinks`` row of the HR store as the protocol bodies an ingest worker
seals for the device (a gallery command as pages, with templates read at send time)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from core.datakey import DataKey
from core.errors import EdgehrError
from sync.protocol import (
    CandidatesBody,
    CandidateTemplate,
    CandidateTemplatesBody,
    ConfigBody,
    DownlinkBody,
    EraseBody,
    GalleryBody,
    GalleryEntry,
    ResequenceBody,
    RetentionPolicyBody,
    RotateKeyBody,
    UpdateBody,
)
from sync.server.store import HRStore, candidate_templates, consents, templates

#: Employees with templates on one gallery page: ~7 KB each (10 templates, base64) keeps the sealed
#: envelope well under the protocol's 1 MiB. A bigger gallery command is sent as several pages.
MAX_UPSERTS_PER_PAGE = 100


#: Builds the gallery entries (with templates) of the named employees: those with no templates are left out.
GallerySource = Callable[[list[str]], list[GalleryEntry]]


def store_gallery(store: HRStore, key: DataKey | None) -> GallerySource:
    """Gallery entries from the HR store's face templates, decrypted with the server's data key.

    Read at send time, so a command queued before an erasure or a consent withdrawal reached HR carries
    nobody erased and nobody whose consent is withdrawn (until HR records new consent)."""

    def entries(employee_nos: list[str]) -> list[GalleryEntry]:
        with store.db.read() as tx:
            names = {
                str(no): str(name)
                for no, name in tx.execute("SELECT employee_no, name FROM employees WHERE erased_at IS NULL").all()
            }
            withdrawn = consents.withdrawn_among(tx, [no for no in employee_nos if no in names])
        wanted = [no for no in employee_nos if no in names and no not in withdrawn]
        if not wanted or not any(templates.counts(store, no) for no in wanted):
            return []
        if key is None:
            raise EdgehrError(
                "This ingest worker has no data key, so it cannot send face templates to devices.",
                "Start the worker with the server's state folder (its data.key) as the API uses.",
            )
        found = templates.load(store, key, wanted)
        return [
            GalleryEntry(employee_no=no, name=names[no], model=model, templates=vectors)
            for no, (model, vectors) in found.items()
        ]

    return entries


#: Builds the candidate-templates entries of the named candidates: those with no templates are left out.
CandidateSource = Callable[[list[str]], list[CandidateTemplate]]


def store_candidates(store: HRStore, key: DataKey | None) -> CandidateSource:
    """Candidates' registered-photo templates, decrypted at send time (a candidate deleted or erased since
    the command was queued has none, and is left out)."""

    def entries(candidate_ids: list[str]) -> list[CandidateTemplate]:
        if key is None:
            raise EdgehrError(
                "This ingest worker has no data key, so it cannot send candidates' templates to booths.",
                "Start the worker with the server's state folder (its data.key) as the API uses.",
            )
        found = candidate_templates.load(store, key, candidate_ids)
        return [CandidateTemplate(candidate_id=c, model=m, templates=v) for c, (m, v) in found.items()]

    return entries


def command_body(
    row: dict[str, Any], gallery: GallerySource | None = None, candidates: CandidateSource | None = None
) -> DownlinkBody:
    """The protocol body of a one-page ``downlinks`` row (the store keeps the HR side's description)."""
    bodies = command_bodies(row, gallery, candidates)
    if len(bodies) != 1:
        raise EdgehrError(
            f"Downlink {row['command_seq']} travels as {len(bodies)} gallery pages, not one body.",
            "Use command_bodies for gallery commands.",
        )
    return bodies[0]


def command_bodies(
    row: dict[str, Any], gallery: GallerySource | None = None, candidates: CandidateSource | None = None
) -> list[DownlinkBody]:
    """The protocol bodies of a ``downlinks`` row: one, or a gallery command's pages (PROTOCOL.md 8.2).

    A gallery command naming more than ``MAX_UPSERTS_PER_PAGE`` employees is sent as ``pages`` envelopes
    with the same ``command_seq``: page i names employees [100 (i-1), 100 i) of the row's list, in its
    order, so a resend pages the same way (templates are read at send time; an employee erased since is
    simply missing from its page). Removals travel on page 1. The device applies the command once all
    its pages are there, in one transaction."""
    seq, body, kind = int(row["command_seq"]), dict(row["body"]), str(row["type"])
    if kind == "gallery":
        # Employees newly assigned to the device ("added") or enrolled again ("enrolled") travel with
        # their templates, read at send time (so a resend carries the newest ones, an erased person none).
        named = list(dict.fromkeys(str(n) for n in (body.get("added") or []) + (body.get("enrolled") or [])))
        if named and gallery is None:
            raise EdgehrError(f"Gallery downlink {seq} names employees but no template source was given.",
                              "Pass the store's gallery (store_gallery) to command_bodies.")
        pages = max(1, math.ceil(len(named) / MAX_UPSERTS_PER_PAGE))
        removals = [str(n) for n in body.get("removed") or body.get("removals") or []]
        out: list[DownlinkBody] = []
        for page in range(1, pages + 1):
            chunk = named[(page - 1) * MAX_UPSERTS_PER_PAGE : page * MAX_UPSERTS_PER_PAGE]
            out.append(
                GalleryBody(
                    command_seq=seq,
                    gallery_version=int(body.get("gallery_version", seq)),
                    page=page,
                    pages=pages,
                    upserts=gallery(chunk) if chunk and gallery is not None else [],
                    removals=removals if page == 1 else [],
                )
            )
        return out
    if kind == "erase":
        nos: list[Any] = body.get("employee_nos") or [body.get("employee_no")]
        return [
            EraseBody(
                command_seq=seq,
                erasure_id=str(body.get("erasure_id") or f"erase-{row['device_id']}-{seq}"),
                employee_nos=[str(n) for n in nos],
                reason=str(body.get("reason") or "erased-by-hr"),
            )
        ]
    if kind == "config":
        return [
            ConfigBody(
                command_seq=seq,
                config_version=int(body.get("config_version", seq)),
                settings=body.get("settings", {}),
            )
        ]
    if kind == "candidates":
        return [CandidatesBody.model_validate({"command_seq": seq, "candidates": body.get("candidates", [])})]
    if kind == "candidate-templates":
        named = [str(c) for c in body.get("upserts") or []]
        if named and candidates is None:
            raise EdgehrError(f"Candidate-templates downlink {seq} names candidates but no template source was given.",
                              "Pass the store's candidate templates (store_candidates) to command_bodies.")
        upserts = candidates(named) if named and candidates is not None else []
        return [CandidateTemplatesBody(command_seq=seq, upserts=upserts, removals=body.get("removals") or [])]
    if kind == "rotate-key":
        return [RotateKeyBody.model_validate({"command_seq": seq, **body})]
    if kind == "update":
        return [UpdateBody.model_validate({"command_seq": seq, **body})]
    if kind == "resequence":
        return [ResequenceBody.model_validate({"command_seq": seq, **body}, strict=False)]
    if kind == "retention-policy":
        return [RetentionPolicyBody.model_validate({"command_seq": seq, **body})]
    raise EdgehrError(f"Downlink {seq} has unknown type {kind!r}.", "Fix the writer of the downlinks table.")
