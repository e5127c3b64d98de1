"""HTTP routes for opening hours.

``GET /api/opening-hours`` is public (the widget asks before it connects, from
any allowed origin, so it answers CORS for those); while open it also says whether
any volunteer is signed in and taking chats (``on_duty``), so the widget never calls
the chat open with nobody there. ``PUT`` replaces the schedule
and ``DELETE`` removes it (always open again); both need a signed-in supervisor
or admin.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat.kernel import error_codes as codes
from chat.kernel import languages

from . import hours, hours_store
from chat.kernel.web import json_body, public_cors, refuse

from .api import require_role
from .exceptions import HoursError

EDITOR_ROLES = ("supervisor", "admin")
MAX_HOURS_BODY = 64 * 1024


def view(schedule: hours.Schedule | None, tz_name: str, now: datetime,
         services: list[dict[str, Any]]) -> dict[str, Any]:
    tz = ZoneInfo(tz_name)
    nxt = hours.next_open(schedule, now, tz)
    doc = schedule.to_json() if schedule is not None else {"weekly": None, "exceptions": []}
    return {
        "open": hours.is_open(schedule, now, tz),
        "next_open": nxt.isoformat() if nxt else None,
        "timezone": tz_name,
        "configured": schedule is not None,
        "today": hours.label_today(schedule, now, tz),
        "services": services,
        **doc,
    }


async def _view(request: Request, schedule: hours.Schedule | None) -> JSONResponse:
    lang = request.query_params.get("lang", "sv")
    settings = request.app.state.settings
    services = await request.app.state.hub.closed_services(lang if lang in languages.CODES else "sv")
    doc = view(schedule, settings.timezone, datetime.now(timezone.utc), services)
    doc["languages"] = list(settings.languages)   # what the widget's language switch offers
    # While open: is anyone there to answer? (False: the widget says nobody is signed in right now.)
    doc["on_duty"] = await request.app.state.hub.anyone_on_duty() if doc["open"] else None
    return JSONResponse(doc)


async def _editor(request: Request) -> Response | None:
    profile = await require_role(request, EDITOR_ROLES, "only a supervisor or an admin may change the opening hours")
    return profile if isinstance(profile, Response) else None


async def get_hours(request: Request) -> Response:
    schedule = request.app.state.hub.hours.current
    return public_cors(request, await _view(request, schedule))


# operationId -> the type of its JSON body (tests/unit/test_openapi.py compares them, body-deep).
REQUEST_BODIES: dict[str, type] = {"putOpeningHours": hours.ScheduleDoc}


async def put_hours(request: Request) -> Response:
    refused = await _editor(request)
    if refused is not None:
        return refused
    body = await json_body(request, MAX_HOURS_BODY)
    if isinstance(body, Response):
        return body
    try:
        schedule = hours.parse(body)
    except HoursError as exc:
        return refuse(codes.INVALID_HOURS, str(exc), field=exc.where)
    await hours_store.save(request.app.state.db, schedule)
    request.app.state.hub.hours.set(schedule)
    return await _view(request, schedule)


async def delete_hours(request: Request) -> Response:
    refused = await _editor(request)
    if refused is not None:
        return refused
    await hours_store.save(request.app.state.db, None)
    request.app.state.hub.hours.set(None)
    return await _view(request, None)


routes = [
    Route("/api/opening-hours", get_hours, methods=["GET"]),
    Route("/api/opening-hours", put_hours, methods=["PUT"]),
    Route("/api/opening-hours", delete_hours, methods=["DELETE"]),
]
