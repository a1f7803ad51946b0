"""The HR API's request bodies (pydantic: FastAPI validates them and describes them in /openapi.json).

A body the store keeps as a whole is handed to it as the store's own typed value (``registration()``,
``subscription()``, ``entry()``), so a new field is added in two places, not threaded through keywords.
"""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated, Literal

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, Field

from sync.protocol.times import SaneInstant
from sync.server import auth
from sync.server.bounds import Day, Moment, RowId
from sync.server.store import attendance, candidates, devices, webhook_rows


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmployeeIn(_In):
    employee_no: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=120)


class ConsentIn(_In):
    text_version: str = Field(min_length=1, max_length=64, description="version of the consent text signed")


class DeviceIn(_In):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field("", max_length=80)
    site: str = Field("", max_length=80)
    sign_public_key: str = Field(description="Ed25519 public key, base64 of 32 bytes")
    sign_key_id: str = Field(description="16 lowercase hex digits")
    box_public_key: str = Field(description="X25519 public key, base64 of 32 bytes")
    box_key_id: str = Field(description="16 lowercase hex digits")

    def registration(self) -> devices.Registration:
        return devices.Registration(
            device_id=self.id,
            name=self.name,
            site=self.site,
            sign_public_key=self.sign_public_key,
            sign_key_id=self.sign_key_id,
            box_public_key=self.box_public_key,
            box_key_id=self.box_key_id,
        )


class AssignIn(_In):
    employee_nos: list[str] = Field(max_length=100_000)


#: The window a corrected punch time must lie in (the issue-15 rule for every input path).
class CorrectionIn(_In):
    employee_no: str = Field(min_length=1, max_length=64)
    action: Literal["add", "void", "change"]
    reason: str = Field(min_length=3, max_length=500)
    punch_uid: str | None = Field(None, max_length=200)
    direction: Literal["in", "out"] | None = None
    at: SaneInstant | None = Field(None, description="ISO 8601 with offset, within 2000-01-01..2100-01-01 UTC")

    def request(self) -> attendance.CorrectionRequest:
        return attendance.CorrectionRequest(
            self.employee_no, self.action, self.reason, self.punch_uid, self.direction, self.at
        )


class ShiftIn(_In):
    name: str = Field(min_length=1, max_length=80)
    start: str = Field(description="HH:MM")
    end: str = Field(description="HH:MM; at or before start = ends the next day")
    days: list[Annotated[int, Ge(1), Le(7)]] = Field(default=[1, 2, 3, 4, 5], max_length=7,
                                                     description="ISO weekdays, 1 = Monday")
    grace_in_minutes: int = Field(0, ge=0, le=720)
    grace_out_minutes: int = Field(0, ge=0, le=720)
    overtime_after_minutes: int = Field(0, ge=0, le=720)


class ShiftAssignIn(_In):
    shift_id: RowId
    valid_from: Day


class WebhookIn(_In):
    url: str = Field(max_length=2000)
    secret: str = Field(min_length=16, max_length=200)
    events: list[str]
    format: Literal["json", "wecom", "wecom-api", "dingtalk", "feishu"] = "json"

    def subscription(self) -> webhook_rows.Subscription:
        return webhook_rows.Subscription(self.url, self.secret, tuple(self.events), body_format=self.format)


class TokenIn(_In):
    role: auth.Role
    label: str = Field("", max_length=80)


_IDENT = r"^[A-Za-z0-9._:-]{1,64}$"  # the sync protocol's identifiers (they travel to the booth)


class CandidateChange(_In):
    name: str = Field(min_length=1, max_length=128, description="the candidate's name as the booth shows it")
    role_id: str = Field(pattern=_IDENT, description="the role interviewed for")
    question_bank_id: str = Field(pattern=_IDENT, description="the booth's question bank for this interview")
    window_start: Moment = Field(description="start of the scheduled window, ISO 8601 (no offset = server zone)")
    window_end: Moment = Field(description="end of the window; the booth accepts the candidate until then")
    device_id: str | None = Field(None, description="the booth expecting the candidate; none = not scheduled yet")

    def entry(self, candidate_id: str) -> candidates.CandidateEntry:
        """The candidate ``candidate_id`` with these details (PUT names the candidate in its path)."""
        return candidates.CandidateEntry(
            candidate_id=candidate_id,
            name=self.name,
            role_id=self.role_id,
            question_bank_id=self.question_bank_id,
            window_start=self.window_start,
            window_end=self.window_end,
            device_id=self.device_id,
        )


class CandidateIn(CandidateChange):
    candidate_id: str = Field(pattern=_IDENT, description="HR's id of the candidate (no personal data in it)")
