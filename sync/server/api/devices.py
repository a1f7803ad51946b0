"""Devices: registration with their public keys, revocation (with the broker certificate), key rotation,
which employees each one knows, and the ingest's rejection counts per device."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Any

from fastapi import APIRouter

from sync.server import cert_revocation
from sync.server.api.deps import AssignDevices, Config, Operations, ReadDevices, Store, WriteDevices
from sync.server.api.models import AssignIn, DeviceIn
from sync.server.store import devices, records

router = APIRouter()


@router.post("/api/devices", status_code=201)
def register_device(body: DeviceIn, who: WriteDevices, store: Store) -> dict[str, Any]:
    return devices.register_device(store, body.registration(), who.actor)


@router.get("/api/devices")
def list_devices(who: ReadDevices, store: Store) -> dict[str, Any]:
    return {"devices": devices.list_all(store)}


@router.get("/api/devices/{device_id}")
def get_device(device_id: str, who: ReadDevices, store: Store) -> dict[str, Any]:
    return devices.get(store, device_id)


@router.post("/api/devices/{device_id}/revoke")
def revoke_device(device_id: str, who: WriteDevices, store: Store, config: Config) -> dict[str, Any]:
    """Ingest refuses the device from now on; its broker certificate is revoked too when the server
    holds the CA (``pki.ca_dir``), else ``certificate.command`` says what to run where the CA is."""
    return cert_revocation.revoke_device(store, config.pki, device_id, who.actor)


@router.post("/api/devices/{device_id}/rotate-keys", status_code=202)
def rotate_device_keys(device_id: str, who: WriteDevices, store: Store) -> dict[str, Any]:
    """Ask the device for new keys (a rotate-key command); it registers them with its next hello."""
    command_seq = devices.request_key_rotation(store, device_id, who.actor)
    return devices.get(store, device_id) | {"command_seq": command_seq}


@router.put("/api/devices/{device_id}/employees")
def assign_employees(device_id: str, body: AssignIn, who: AssignDevices, store: Store) -> dict[str, Any]:
    return devices.assign(store, device_id, body.employee_nos, who.actor)


@router.get("/api/rejections")
def rejections(who: Operations, store: Store) -> dict[str, Any]:
    return {"rejections": records.rejection_counts(store)}
