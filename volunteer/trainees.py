"""Trainees' shadowed shifts over HTTP (the store is ``volunteer.shadowed_shifts``).

    GET    /api/trainees                              supervisor, admin: trainees and their shifts
    POST   /api/trainees/{username}/shifts {"day"}    supervisor: mark a day (today or earlier)
    DELETE /api/trainees/{username}/shifts/{day}      supervisor: unmark it

Every mark and unmark is written to the audit log (``training.shift``,
``training.shift_unmark``: who, the trainee's id).
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypedDict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat.kernel import error_codes as codes
from chat.kernel.web import json_object, refuse

from .api import require_role
from .audit import audit
from .exceptions import AccountError, UnknownAccount
from .shadowed_shifts import mark_shift, shifts_by_account, trainees, unmark_shift


class ShiftBody(TypedDict):
    day: str            # YYYY-MM-DD, today or earlier


REQUEST_BODIES: dict[str, type] = {"markShift": ShiftBody}


# -- HTTP ---------------------------------------------------------------------------------

def _day(value: object) -> date:
    if not isinstance(value, str):
        raise ValueError("day: a date YYYY-MM-DD is required")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("day: a date YYYY-MM-DD is required") from None


async def list_trainees(request: Request) -> Response:
    profile = await require_role(request, ("supervisor", "admin"), "Bara handledare och administratörer. / "
                                 "Supervisors and admins only.")
    if isinstance(profile, Response):
        return profile
    return JSONResponse({"trainees": await trainees(request.app.state.db)})


async def mark(request: Request) -> Response:
    profile = await require_role(request, ("supervisor",), "Bara handledare markerar pass. / "
                                 "Only supervisors mark shifts.")
    if isinstance(profile, Response):
        return profile
    db = request.app.state.db
    try:
        raw: Any = await json_object(request)
        if isinstance(raw, Response):
            return raw
        body: ShiftBody = raw
        aid, _ = await mark_shift(db, request.path_params["username"], _day(body.get("day")), by=profile.id,
                                  today=date.today())
    except UnknownAccount as exc:
        return refuse(codes.UNKNOWN_ACCOUNT, str(exc))
    except (AccountError, ValueError) as exc:
        return refuse(codes.INVALID_FIELD, str(exc))
    await audit(db, actor=profile.id, action="training.shift", subject=aid)
    return JSONResponse({"ok": True, "shifts": (await shifts_by_account(db)).get(aid, [])})


async def unmark(request: Request) -> Response:
    profile = await require_role(request, ("supervisor",), "Bara handledare markerar pass. / "
                                 "Only supervisors mark shifts.")
    if isinstance(profile, Response):
        return profile
    db = request.app.state.db
    try:
        aid, _ = await unmark_shift(db, request.path_params["username"], _day(request.path_params["day"]))
    except UnknownAccount as exc:
        return refuse(codes.UNKNOWN_ACCOUNT, str(exc))
    except ValueError as exc:
        return refuse(codes.INVALID_FIELD, str(exc))
    await audit(db, actor=profile.id, action="training.shift_unmark", subject=aid)
    return JSONResponse({"ok": True, "shifts": (await shifts_by_account(db)).get(aid, [])})


routes = [
    Route("/api/trainees", list_trainees, methods=["GET"]),
    Route("/api/trainees/{username}/shifts", mark, methods=["POST"]),
    Route("/api/trainees/{username}/shifts/{day}", unmark, methods=["DELETE"]),
]
