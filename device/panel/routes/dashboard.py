"""The device's dashboard: device health, clock sync, backlog, models, and on a terminal today's punches with
their chart, camera and GPIO (a booth has none of these: its page leaves them out)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from core.i18n import t
from device.panel import dashboard
from device.panel.language import pick_language
from device.panel.routes.admin import Panel

router = APIRouter()


@router.get("/admin/dashboard", response_class=HTMLResponse)
async def dashboard_page(request: Request, panel: Panel) -> Response:
    checked = panel.terminal_view(request)
    if isinstance(checked, Response):
        return checked
    session, tools = checked
    health = await run_in_threadpool(request.app.state.health)
    data = await run_in_threadpool(dashboard.collect, panel.store, tools, health)
    title = t("dash.chart.title", pick_language(request, panel.default_language), day=data.today)
    chart = Markup(dashboard.hour_chart(data.per_hour, title=title))  # noqa: S704 - built from numbers and t()
    return panel.render(request, "dashboard.html", session, d=data, chart=chart, gpio=tools.gpio_status(),
                        booth=tools.config.device.kind == "booth")
