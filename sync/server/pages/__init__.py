"""The HR web pages (server-rendered Jinja2, zh-CN and en): today, timesheets (with corrections), devices
(with revoke and key rotation), employees, interview review, bias audit, candidates' export and erasure,
retention, attendance rules (shifts, assignments, holiday calendars, leave).

One module per resource holds a module-level router; ``common`` holds the language choice, the signed-in
viewer and rendering. Pages mostly read; the review's overrides and decisions and a candidate's erasure are
forms posting to their page (SameSite=Strict cookie), the same store calls as the API. None of them is in /openapi.json.
"""

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from sync.server.pages import (
    attendance,
    attendance_rules,
    bias_audit,
    candidate_rights,
    devices,
    employees,
    interviews,
    login,
    retention,
    self_service,
    timesheets,
    users,
)
from sync.server.pages.common import SERVER_DIR


def pages_router() -> APIRouter:
    """Every page route, in one router for ``create_app`` to include."""
    router = APIRouter(include_in_schema=False)
    modules = (
        login, attendance, attendance_rules, timesheets, devices, employees, interviews, bias_audit,
        candidate_rights, retention, users, self_service,
    )
    for module in modules:
        router.include_router(module.router)
    return router


def static_files() -> StaticFiles:
    """The pages' stylesheet (served from the package: no external CDN)."""
    return StaticFiles(directory=str(SERVER_DIR / "static"))
