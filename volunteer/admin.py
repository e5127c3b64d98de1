"""The admin page (``/admin``) and its JSON API under ``/api/admin/``.

Admins list accounts (role, status, training, second factor), create them (with
a temporary password shown once), disable and enable them, reset them (a new
temporary password; a new password and second factor are demanded at the next
login; every session ends), change a role (every session ends: a privilege
change always means a new session), and record training. Every act is
written to the audit log. Other roles get ``403 forbidden``; no session, ``401``.
An admin cannot disable, reset or change the role of their own account (another
admin must), so an admin can never lock everyone out by mistake.
"""

from __future__ import annotations

import re
from typing import Literal, NotRequired, Required, TypedDict, cast
from datetime import date
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from . import manage, sessions
from .accounts import MAX_CAPACITY, Profile, create_account
from chat.kernel import error_codes as codes

from chat.kernel.broker import BrokerError
from chat.kernel.web import json_object, refuse

from . import audit_view
from .api import require_role
from .audit import audit
from .exceptions import AccountError, DuplicateUsername, ShiftsMissing, UnknownAccount

STATIC = Path(__file__).resolve().parents[1] / "chat" / "static"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


async def _admin(request: Request) -> Profile | Response:
    return await require_role(request, ("admin",), "Bara administratörer. / Admins only.")


class NewAccountBody(TypedDict, total=False):
    """``POST /api/admin/accounts`` (chat/openapi.json is checked against it)."""

    username: Required[str]
    display_name: Required[str]
    role: Literal["volunteer", "supervisor", "coordinator", "admin", "trainee"]
    languages: str | list[Literal["sv", "en", "ar", "fa", "so", "ti", "uk"]]
    capacity: int


class RoleBody(TypedDict):
    role: Literal["volunteer", "supervisor", "coordinator", "admin", "trainee"]
    despite_shifts: NotRequired[bool]     # a trainee short of shadowed shifts gets a chat role all the same


class SkillsBody(TypedDict):
    """``POST /api/admin/accounts/{username}/skills``: the whole list (empty clears it)."""

    skills: list[Literal["exposed", "uses_violence", "both", "friend_relative", "professional", "other",
                         "physical", "psychological", "sexual", "digital", "economic", "honour"]]


class TrainingBody(TypedDict, total=False):
    kind: Required[Literal["basic", "refresher"]]
    completed: Required[str]
    expires: str | None


# operationId -> the type of its JSON body (tests/unit/test_openapi.py compares them, body-deep).
REQUEST_BODIES: dict[str, type] = {"createAccount": NewAccountBody, "accountRole": RoleBody,
                                   "accountTraining": TrainingBody, "accountSkills": SkillsBody}


def _account_error(exc: AccountError) -> Response:
    if isinstance(exc, UnknownAccount):
        return refuse(codes.UNKNOWN_ACCOUNT, str(exc))
    if isinstance(exc, DuplicateUsername):
        return refuse(codes.USERNAME_TAKEN, str(exc))
    return refuse(codes.INVALID_FIELD, str(exc))


def _date(value: object, field: str) -> date:
    if not isinstance(value, str) or not DATE.match(value):
        raise AccountError(f"{field}: a date YYYY-MM-DD is required")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AccountError(f"{field}: {value!r} is not a date") from None


async def page(_request: Request) -> Response:
    return FileResponse(STATIC / "admin.html")


async def accounts(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    rows = await manage.list_accounts(request.app.state.db, date.today())
    return JSONResponse({"accounts": [r.as_json() for r in rows]})


async def create(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    raw = await json_object(request)
    if isinstance(raw, Response):
        return raw
    body = cast(NewAccountBody, raw)   # checked field by field below
    username, display_name = body.get("username"), body.get("display_name")
    role, languages, capacity = body.get("role", "volunteer"), body.get("languages", "sv"), body.get("capacity", 1)
    if isinstance(languages, list):
        languages = ",".join(str(x) for x in languages)
    for name, value, kind in (("username", username, str), ("display_name", display_name, str),
                              ("role", role, str), ("languages", languages, str)):
        if not isinstance(value, kind):
            return refuse(codes.INVALID_FIELD, f"{name}: a string is required")
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 1 <= capacity <= MAX_CAPACITY:
        return refuse(codes.INVALID_FIELD, f"capacity: a whole number 1 to {MAX_CAPACITY} is required")
    temporary = manage.temporary_password()
    db = request.app.state.db
    try:
        account = await create_account(db, username=username, display_name=display_name,
                                       password=temporary, role=role, languages=languages,
                                       capacity=capacity, today=date.today(), must_change_password=True)
    except AccountError as exc:
        return _account_error(exc)
    await audit(db, actor=who.id, action="account.create", subject=account.id)
    rows = [r for r in await manage.list_accounts(db, date.today()) if r.id == account.id]
    return JSONResponse({"account": rows[0].as_json(), "temporary_password": temporary}, status_code=201)


async def act(request: Request) -> Response:
    """POST /api/admin/accounts/{username}/{disable|enable|reset|role|training|skills}."""
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    username, action = request.path_params["username"], request.path_params["action"]
    if action not in ("disable", "enable", "reset", "role", "training", "skills"):
        return refuse(codes.NOT_FOUND, f"no such action {action!r}")
    raw = await json_object(request) if action in ("role", "training", "skills") else {}
    if isinstance(raw, Response):
        return raw
    state = request.app.state
    db = state.db
    out: dict[str, object] = {"ok": True}
    try:
        target = await manage.account_id(db, username)
        if target == who.id and action in ("disable", "reset", "role"):
            return refuse(codes.OWN_ACCOUNT, "Det egna kontot ändras av en annan administratör. / "
                         "Another admin must change your own account.")
        if action in ("disable", "enable"):
            await manage.set_disabled(db, username, action == "disable")
            if action == "disable":
                state.hub.signed_out(target)
            await audit(db, actor=who.id, action=f"account.{action}", subject=target)
        elif action == "reset":
            _, temporary = await manage.reset(db, username)
            state.hub.signed_out(target)
            await audit(db, actor=who.id, action="account.reset", subject=target)
            out["temporary_password"] = temporary
        elif action == "skills":
            skills = cast(SkillsBody, raw).get("skills")
            if not isinstance(skills, list) or not all(isinstance(s, str) for s in skills):
                return refuse(codes.INVALID_FIELD, "skills: a list of skills is required (empty clears them)")
            _, chosen = await manage.set_skills(db, username, list(skills))
            await audit(db, actor=who.id, action="account.skills", subject=target)
            try:
                await state.hub.skills_changed(target, frozenset(chosen))   # an open console at once
            except BrokerError:
                pass        # the broker is away: the console takes them when it next connects

        elif action == "role":
            role = cast(RoleBody, raw).get("role")
            if not isinstance(role, str):
                return refuse(codes.INVALID_FIELD, "role: a string is required")
            despite = cast(RoleBody, raw).get("despite_shifts", False)
            if not isinstance(despite, bool):
                return refuse(codes.INVALID_FIELD, "despite_shifts: true or false")
            try:
                changed, short = await manage.set_role(db, username, role, despite_shifts=despite)
            except ShiftsMissing as exc:
                return refuse(codes.SHIFTS_MISSING, str(exc), shadowed=exc.shadowed, required=exc.required)
            if changed:
                state.hub.signed_out(target, codes.ROLE_CHANGED)
            # A trainee given a chat role short of the shadowed shifts: the log says the admin chose so.
            await audit(db, actor=who.id, action="account.role_despite_shifts" if short
                        else "account.role", subject=target)
        else:
            body = cast(TrainingBody, raw)
            completed = _date(body.get("completed"), "completed")
            expires = _date(body["expires"], "expires") if body.get("expires") is not None else None
            kind = body.get("kind")
            if not isinstance(kind, str):
                return refuse(codes.INVALID_FIELD, "kind: basic or refresher is required")
            _, expires = await manage.record_training(
                db, username, kind=kind, completed=completed, expires=expires,
                refresher_months=state.settings.refresher_months, today=date.today())
            await audit(db, actor=who.id, action="training.record", subject=target)
            out["expires"] = expires.isoformat() if expires else None
    except AccountError as exc:
        return _account_error(exc)
    rows = [r for r in await manage.list_accounts(db, date.today()) if r.id == target]
    out["account"] = rows[0].as_json()
    return JSONResponse(out)


routes = [
    Route("/admin", page, methods=["GET"]),
    Route("/api/admin/accounts", accounts, methods=["GET"]),
    Route("/api/admin/accounts", create, methods=["POST"]),
    Route("/api/admin/accounts/{username}/{action}", act, methods=["POST"]),
    *audit_view.routes,
]
