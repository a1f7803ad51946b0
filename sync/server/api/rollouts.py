"""Releases, device groups and staged rollouts (operations roles: admin, it). A rollout sends the ``update``
downlink to a first stage (a named group or a percentage of the active devices) and widens only while the
devices' ``update-status`` reports are ``ok``; the first other result halts it (``sync.server.store.rollouts``).
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from sync.server.api.deps import Operations, Store
from sync.server.store import rollouts

router = APIRouter()

RolloutId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
GroupName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReleaseIn(_In):
    version: str = Field(min_length=1, max_length=64, description="the release's VERSION (make-release)")
    manifest_sha256: str = Field(min_length=64, max_length=64,
                                 description="SHA-256 of its signed manifest.json (fleet.release_signing digest)")
    source: str = Field(min_length=8, max_length=1000,
                        description="where devices fetch the release folder: file:///... or https://.../")
    notes: str = Field("", max_length=500)


class GroupIn(_In):
    device_ids: list[str] = Field(max_length=10000, description="the group's devices (replaces the list)")


class RolloutIn(_In):
    version: str = Field(min_length=1, max_length=64, description="a defined release")
    group: str | None = Field(None, max_length=64, description="first stage: this named device group")
    percent: int | None = Field(None, ge=1, le=100, description="first stage: this share of the active devices")
    widen: list[int] = Field([100], max_length=10,
                             description="later stages, increasing percentages ending at 100, each entered "
                                         "only once every device so far reported ok")


class HaltIn(_In):
    reason: str = Field(min_length=1, max_length=300)


@router.post("/api/releases", status_code=201)
def define_release(body: ReleaseIn, who: Operations, store: Store) -> dict[str, Any]:
    return rollouts.define_release(store, body.version, body.manifest_sha256, body.source, body.notes, who.actor)


@router.get("/api/releases")
def list_releases(who: Operations, store: Store) -> dict[str, Any]:
    return {"releases": rollouts.releases(store)}


@router.put("/api/device-groups/{name}")
def set_group(name: GroupName, body: GroupIn, who: Operations, store: Store) -> dict[str, Any]:
    return rollouts.set_group(store, name, body.device_ids, who.actor)


@router.get("/api/device-groups")
def list_groups(who: Operations, store: Store) -> dict[str, Any]:
    return {"groups": rollouts.groups(store)}


@router.post("/api/rollouts", status_code=201)
def start_rollout(body: RolloutIn, who: Operations, store: Store) -> dict[str, Any]:
    return rollouts.create(store, body.version, group=body.group, percent=body.percent, widen=body.widen,
                           actor=who.actor)


@router.get("/api/rollouts")
def list_rollouts(who: Operations, store: Store) -> dict[str, Any]:
    return {"rollouts": rollouts.listing(store)}


@router.get("/api/rollouts/{rollout_id}")
def get_rollout(rollout_id: RolloutId, who: Operations, store: Store) -> dict[str, Any]:
    return rollouts.get(store, rollout_id)


@router.post("/api/rollouts/{rollout_id}/halt")
def halt_rollout(rollout_id: RolloutId, body: HaltIn, who: Operations, store: Store) -> dict[str, Any]:
    return rollouts.halt(store, rollout_id, who.actor, body.reason)
