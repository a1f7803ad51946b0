"""Dead letters: what ingest refused from authenticated devices (bodies it could not process, records that
reused a sequence with other content), to inspect. The list leaves bodies out; one letter shows its body
(a record's JSON or the envelope as hex), which may hold personal data: admins only."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from sync.server.api.deps import Admin, Operations, Store
from sync.server.store import dead_letters
from sync.server.store.employees import NotFound

router = APIRouter()


@router.get("/api/dead-letters")
def list_dead_letters(
    who: Operations,
    store: Store,
    device_id: Annotated[str | None, Query(max_length=64, description="only this device")] = None,
    limit: Annotated[int, Query(ge=1, le=dead_letters.MAX_ROWS)] = 100,
) -> dict[str, Any]:
    return {"dead_letters": dead_letters.recent(store, device_id, limit)}


@router.get("/api/dead-letters/{letter_id}")
def get_dead_letter(letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)], who: Admin, store: Store) -> dict[str, Any]:
    found = dead_letters.get(store, letter_id)
    if found is None:
        raise NotFound(f"There is no dead letter {letter_id}.", "List them with GET /api/dead-letters.")
    return found
