"""Settings: the form rendered from the config model, validated as ``edgehr config check`` validates before
it is saved, then applied by a clean restart of the terminal (see device/panel/site_admin.py)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

import threading

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.config.loader import load_toml_model
from core.errors import ConfigError
from core.i18n import catalog
from device.config.device import DeviceConfig
from device.panel import settings_form
from device.panel.admin_auth import Session
from device.panel.language import pick_language
from device.panel.routes.admin import Panel
from device.panel.terminal_tools import TerminalTools
from device.store import audit

router = APIRouter()
#: Seconds between the "saved" page and the restart (the page has been sent by then).
RESTART_DELAY = 1.0


def _current(tools: TerminalTools) -> DeviceConfig:
    """The config file as it is now (the courier may have rewritten it), else the one the terminal runs."""
    if tools.config_path is None:
        return tools.config
    try:
        return load_toml_model(tools.config_path, DeviceConfig)
    except ConfigError:
        return tools.config


def _page(request: Request, panel: Panel, session: Session, config: DeviceConfig, *, status: int = 200,
          errors: dict[str, str] | None = None, general: list[str] | None = None, values: dict[str, str] | None = None,
          saved: list[str] | None = None, savable: bool = True) -> Response:
    sections = settings_form.form_sections(config)
    # Titles and descriptions in the page's language: the catalogs' English is the model's own text
    # (tests/panel/test_settings_form.py holds them equal), the model's text is the fallback.
    names = catalog(pick_language(request, panel.default_language))

    def title(name: str, fallback: str) -> str:
        return names.get(f"config.{name}", fallback)

    def hint(name: str, fallback: str) -> str:
        return names.get(f"config-help.{name}", fallback)

    return panel.render(request, "settings.html", session, status=status, sections=sections, title=title, hint=hint,
                        errors=errors or {},
                        general=general or [], values=values, saved=saved, savable=savable)


@router.get("/admin/settings", response_class=HTMLResponse)
def settings_page(request: Request, panel: Panel) -> Response:
    checked = panel.terminal_view(request)
    if isinstance(checked, Response):
        return checked
    session, tools = checked
    return _page(request, panel, session, _current(tools), savable=tools.config_path is not None)


@router.post("/admin/settings", response_class=HTMLResponse)
async def save_settings(request: Request, panel: Panel) -> Response:
    checked = await panel.terminal_post(request)
    if isinstance(checked, Response):
        return checked
    session, tools, form = checked
    config = _current(tools)
    if tools.config_path is None:
        return _page(request, panel, session, config, status=409, general=["(file): no config file"], savable=False)
    try:
        _, keys = await run_in_threadpool(settings_form.save, tools.config_path, config, form)
    except ConfigError as exc:
        errors, general = settings_form.problems_by_field(exc.problems)
        return _page(request, panel, session, config, status=400, errors=errors, general=general, values=form)
    if not keys:
        return _page(request, panel, session, config, saved=[])
    with panel.enroller.store.transaction() as conn:
        audit.record(conn, at=tools.clock.now(), actor=session.actor, action="settings.save", subject="device.toml",
                     detail={"keys": keys})
    threading.Timer(RESTART_DELAY, tools.restart).start()
    return _page(request, panel, session, _current(tools), saved=keys)
