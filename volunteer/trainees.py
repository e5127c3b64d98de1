"""Trainees' shadowed shifts: a supervisor marks the days a trainee spent beside volunteers.

The training record of an account holds, besides its courses (``Training``), the
shifts it shadowed as a trainee (``ShadowedShift``): which day, and which account
marked it. Nothing points to a chat. A supervisor marks and unmarks them (in the
console, over the HTTP API below); an admin sees them with every account
(``GET /api/admin/accounts``, ``jourchatt volunteer list``/``shifts``).

    GET    /api/trainees                              supervisor, admin: trainees and their shifts
    POST   /api/trainees/{username}/shifts {"day"}    supervisor: mark a day (today or earlier)
    DELETE /api/trainees/{username}/shifts/{day}      supervisor: unmark it

Every mark and unmark is written to the audit log (``training.shift``,
``training.shift_unmark``: who, the trainee's id).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, TypedDict

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat.kernel import error_codes as codes
from chat.kernel.web import json_object, refuse

from .accounts import normalize_username
from .api import require_role
from .audit import audit
from .exceptions import AccountError, UnknownAccount
from .models import Account, ShadowedShift

Maker = async_sessionmaker[AsyncSession]
# How many shadowed shifts a trainee needs before answering alone (Tjejjouren: at least two);
# the lists show the count against it, an admin decides.
SHIFTS_REQUIRED = 2


class ShiftBody(TypedDict):
    day: str            # YYYY-MM-DD, today or earlier


REQUEST_BODIES: dict[str, type] = {"markShift": ShiftBody}


async def shifts_by_account(db: Maker) -> dict[str, list[dict[str, str]]]:
    """Every account's shadowed shifts, oldest first: {account id: [{day, marked_by}]} (display names)."""
    async with db() as session:
        rows = (await session.scalars(select(ShadowedShift).order_by(ShadowedShift.day))).all()
        names = {a.id: a.display_name for a in (await session.scalars(select(Account))).all()}
    out: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        out.setdefault(r.account_id, []).append({"day": r.day.isoformat(), "marked_by": names.get(r.marked_by, "")})
    return out


async def _trainee(session: AsyncSession, username: str) -> Account:
    account = await session.scalar(select(Account).where(Account.username == normalize_username(username)))
    if account is None or account.role != "trainee":
        raise UnknownAccount(f"no trainee is called {normalize_username(username)!r}")
    return account


async def mark_shift(db: Maker, username: str, day: date, *, by: str, today: date) -> tuple[str, bool]:
    """Mark ``day`` as a shift the trainee shadowed: (its id, whether it was new)."""
    if day > today:
        raise AccountError("day: a shift cannot be marked before it took place")
    try:
        async with db() as session, session.begin():
            account = await _trainee(session, username)
            found = await session.scalar(select(ShadowedShift).where(
                ShadowedShift.account_id == account.id, ShadowedShift.day == day))
            if found is not None:
                return account.id, False
            session.add(ShadowedShift(account_id=account.id, day=day, marked_by=by[:32],
                                      marked_at=datetime.now(timezone.utc)))
    except IntegrityError:          # marked at the same moment by someone else
        return await trainee_id(db, username), False
    return account.id, True


async def unmark_shift(db: Maker, username: str, day: date) -> tuple[str, bool]:
    async with db() as session, session.begin():
        account = await _trainee(session, username)
        result = await session.execute(delete(ShadowedShift).where(
            ShadowedShift.account_id == account.id, ShadowedShift.day == day))
    return account.id, bool(getattr(result, "rowcount", 0))


async def trainee_id(db: Maker, username: str) -> str:
    async with db() as session:
        return (await _trainee(session, username)).id


async def trainees(db: Maker) -> list[dict[str, Any]]:
    """Every enabled trainee account with its shadowed shifts, by username."""
    async with db() as session:
        accounts = (await session.scalars(select(Account).where(Account.role == "trainee", Account.disabled.is_(False))
                                          .order_by(Account.username))).all()
        listed = [(a.id, a.username, a.display_name) for a in accounts]
    shifts = await shifts_by_account(db)
    return [{"id": aid, "username": username, "display_name": name, "shifts": shifts.get(aid, []),
             "required": SHIFTS_REQUIRED} for aid, username, name in listed]


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
