"""HTTP routes for shifts: ``/api/shifts`` (book, list, cancel) and ``/api/shifts/roster``.

A volunteer or supervisor books and cancels their own shifts; a supervisor or a
coordinator may name another account (``"account"``: its username) and cancel
anyone's. Each change to someone else's shift is one audit row (``shift.book``,
``shift.cancel``; the subject names the shift and the account by id). Another's
shift that a volunteer may not cancel is answered like one that does not exist.
The roster (supervisors and coordinators) sets the shifts beside the opening hours
and marks the hours nobody has booked.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, NotRequired, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat.kernel import error_codes as codes
from chat.kernel.web import json_object, refuse

from . import roster, shifts
from .accounts import Profile, normalize_username
from .api import require_role
from .audit import audit
from .exceptions import ShiftError
from .models import Account

BOOKERS = ("volunteer", "supervisor", "coordinator")     # who may use /api/shifts
FOR_OTHERS = ("supervisor", "coordinator")               # who may book and cancel for anyone
ON_SHIFT = ("volunteer", "supervisor")                   # whose shifts can be booked (they take chats)
ROSTER = ("supervisor", "coordinator")
WHO = "Bara volontärer, handledare och samordnare bokar pass. / Volunteers, supervisors and coordinators only."
WHO_ROSTER = "Bara handledare och samordnare ser schemat. / Supervisors and coordinators only."


class ShiftBody(TypedDict):
    start: str
    end: str
    account: NotRequired[str]


# operationId -> the type of its JSON body (tests/unit/test_openapi.py compares them).
REQUEST_BODIES: dict[str, type] = {"postShift": ShiftBody}


def _tz(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.timezone)


def _bad(exc: ShiftError) -> Response:
    return refuse(codes.INVALID_FIELD, str(exc), field=exc.field)


async def _account_for(request: Request, profile: Profile, body: dict[str, Any]) -> str:
    """The account id the shift is for; ShiftError("account") says why not."""
    name = body.get("account")
    if name is None or name == "":
        if profile.role not in ON_SHIFT:
            raise ShiftError("account", "a coordinator books for a volunteer: give their username")
        return profile.id
    if not isinstance(name, str) or len(name) > 64:
        raise ShiftError("account", "must be a username")
    if profile.role not in FOR_OTHERS and normalize_username(name) != profile.username:
        raise ShiftError("account", "only a supervisor or a coordinator books for someone else")
    async with request.app.state.db() as session:
        account = await session.scalar(select(Account).where(Account.username == normalize_username(name)))
    if account is None or account.disabled:
        raise ShiftError("account", "no such account")
    if account.role not in ON_SHIFT:
        raise ShiftError("account", "only volunteers and supervisors take shifts")
    return str(account.id)


async def post_shift(request: Request) -> Response:
    profile = await require_role(request, BOOKERS, WHO)
    if not isinstance(profile, Profile):
        return profile
    body = await json_object(request)
    if isinstance(body, Response):
        return body
    unknown = sorted(set(body) - {"start", "end", "account"})
    if unknown:
        return refuse(codes.INVALID_FIELD, f"{unknown[0][:40]}: unknown field; send start, end and account",
                      field=unknown[0][:40])
    try:
        start = shifts.parse_instant(body.get("start"), "start")
        end = shifts.parse_instant(body.get("end"), "end")
        shifts.validate(start, end, datetime.now(timezone.utc))
        account_id = await _account_for(request, profile, body)
        booked = await shifts.book(request.app.state.db, account_id, start, end)
    except ShiftError as exc:
        return _bad(exc)
    if account_id != profile.id:
        await audit(request.app.state.db, actor=profile.id, action="shift.book",
                    subject=f"shift:{booked.id}:{account_id}")
    return JSONResponse(_view(booked, profile, _tz(request)), status_code=201)


def _view(b: shifts.Booked, profile: Profile, tz: ZoneInfo) -> dict[str, Any]:
    return {**b.to_json(tz), "mine": b.account_id == profile.id}


def _days(request: Request) -> tuple[datetime, datetime]:
    q = request.query_params
    unknown = sorted(set(q.keys()) - {"from", "to"})
    if unknown:
        raise ShiftError(unknown[0][:40], "unknown parameter; the parameters are from and to")
    return shifts.day_span(shifts.parse_day(q.get("from"), "from"), shifts.parse_day(q.get("to"), "to"),
                           _tz(request))


async def get_shifts(request: Request) -> Response:
    profile = await require_role(request, BOOKERS, WHO)
    if not isinstance(profile, Profile):
        return profile
    try:
        lo, hi = _days(request)
    except ShiftError as exc:
        return _bad(exc)
    found = await shifts.between(request.app.state.db, lo, hi)
    tz = _tz(request)
    return JSONResponse({"shifts": [_view(b, profile, tz) for b in found]})


async def delete_shift(request: Request) -> Response:
    profile = await require_role(request, BOOKERS, WHO)
    if not isinstance(profile, Profile):
        return profile
    raw = request.path_params["shift_id"]
    booked = await shifts.get(request.app.state.db, int(raw)) if raw.isdigit() and len(raw) < 12 else None
    if booked is None or (booked.account_id != profile.id and profile.role not in FOR_OTHERS):
        return refuse(codes.NOT_FOUND, "Passet finns inte. / No such shift.")
    if booked.end <= datetime.now(timezone.utc):
        return refuse(codes.INVALID_FIELD, "id: the shift is over; it stays in the record of booked hours",
                      field="id")
    await shifts.cancel(request.app.state.db, booked.id)
    if booked.account_id != profile.id:
        await audit(request.app.state.db, actor=profile.id, action="shift.cancel",
                    subject=f"shift:{booked.id}:{booked.account_id}")
    return Response(status_code=204)


async def get_roster(request: Request) -> Response:
    profile = await require_role(request, ROSTER, WHO_ROSTER)
    if not isinstance(profile, Profile):
        return profile
    try:
        lo, hi = _days(request)
    except ShiftError as exc:
        return _bad(exc)
    tz = _tz(request)
    found = await shifts.between(request.app.state.db, lo, hi)
    schedule = request.app.state.hub.hours.current
    return JSONResponse({"timezone": tz.key, "days": roster.days(schedule, found, lo, hi, tz)})


routes = [
    Route("/api/shifts", get_shifts, methods=["GET"]),
    Route("/api/shifts", post_shift, methods=["POST"]),
    Route("/api/shifts/roster", get_roster, methods=["GET"]),
    Route("/api/shifts/{shift_id}", delete_shift, methods=["DELETE"]),
]
