"""HR's flags on a device: ``sequence_flag`` (shown by GET /api/devices) marks a terminal whose record
counter went backwards (a restored SD card); its punches were kept (PROTOCOL.md section 10), and HR clears
the flag here once it has looked into why."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter

from sync.server.api.deps import Store, WriteDevices
from sync.server.store import devices, resequence

router = APIRouter()


@router.delete("/api/devices/{device_id}/sequence-flag")
def clear_sequence_flag(device_id: str, who: WriteDevices, store: Store) -> dict[str, Any]:
    resequence.clear_flag(store, device_id, who.actor)
    return devices.get(store, device_id)
