"""Employee self-service (role ``employee``, a signed-in user linked to one employee number): their own
punches, hours and correction requests, and filing a request. HR's side: the list of requests, accept
(the correction is made through the corrections path, audited) or reject with a reason.

An employee's browser reaches these with its session cookie (changes carry X-CSRF-Token); no route takes
an employee number from the caller: the account's link decides whose data is read.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from sync.protocol.times import SaneInstant
from sync.server import self_service
from sync.server.api.deps import DecideRequests, ReadHR, SelfService, Store
from sync.server.bounds import Day, RowId
from sync.server.store import correction_requests

router = APIRouter()

Page = Annotated[int, Query(ge=1, le=10_000, description="page number, from 1")]
PerPage = Annotated[int, Query(ge=1, le=200, description="rows per page")]


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["add", "void", "change"] = Field(
        description="add: a missed punch; void: a wrong punch; change: a punch with the wrong direction or time")
    reason: str = Field(min_length=3, max_length=correction_requests.MAX_REASON)
    punch_uid: str | None = Field(None, max_length=200, description="the punch (void, change): one of yours")
    direction: Literal["in", "out"] | None = None
    at: SaneInstant | None = Field(None, description="ISO 8601 with offset: when the missed punch happened")


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=correction_requests.MAX_REASON)


def _period(store: Store, first: Day | None, last: Day | None) -> tuple[Any, Any]:
    default_first, default_last = self_service.default_period(store)
    return first or default_first, last or default_last


@router.get("/api/me")
def me(who: SelfService) -> dict[str, Any]:
    return {"username": who.label, "employee_no": self_service.own_number(who)}


@router.get("/api/me/punches")
def my_punches(who: SelfService, store: Store, first: Annotated[Day | None, Query(alias="from")] = None,
               last: Annotated[Day | None, Query(alias="to")] = None) -> dict[str, Any]:
    first, last = _period(store, first, last)
    return {"from": first.isoformat(), "to": last.isoformat(),
            "punches": self_service.punches(store, who, first, last)}


@router.get("/api/me/hours")
def my_hours(who: SelfService, store: Store, first: Annotated[Day | None, Query(alias="from")] = None,
             last: Annotated[Day | None, Query(alias="to")] = None) -> dict[str, Any]:
    first, last = _period(store, first, last)
    return self_service.hours(store, who, first, last)


@router.get("/api/me/correction-requests")
def my_requests(who: SelfService, store: Store, page: Page = 1, per_page: PerPage = 50) -> dict[str, Any]:
    rows, total = self_service.requests(store, who, per_page, (page - 1) * per_page)
    return {"requests": rows, "total": total, "page": page, "per_page": per_page}


@router.post("/api/me/correction-requests", status_code=201)
def file_request(body: RequestIn, who: SelfService, store: Store) -> dict[str, Any]:
    new = correction_requests.NewRequest(self_service.own_number(who), body.action, body.reason, body.punch_uid,
                                         body.direction, body.at)
    return self_service.file_request(store, who, new)


@router.get("/api/correction-requests")
def list_requests(who: ReadHR, store: Store,
                  status: Annotated[Literal["pending", "accepted", "rejected"] | None, Query()] = None,
                  employee_no: Annotated[str | None, Query(max_length=64)] = None,
                  page: Page = 1, per_page: PerPage = 50) -> dict[str, Any]:
    rows, total = correction_requests.listed(store, employee_no=employee_no, status=status, limit=per_page,
                                             offset=(page - 1) * per_page)
    return {"requests": rows, "total": total, "page": page, "per_page": per_page}


@router.post("/api/correction-requests/{request_id}/accept")
def accept_request(request_id: RowId, who: DecideRequests, store: Store) -> dict[str, Any]:
    return correction_requests.accept(store, request_id, who.actor)


@router.post("/api/correction-requests/{request_id}/reject")
def reject_request(request_id: RowId, body: RejectIn, who: DecideRequests, store: Store) -> dict[str, Any]:
    return correction_requests.reject(store, request_id, body.reason, who.actor)
