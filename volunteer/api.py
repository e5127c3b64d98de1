"""HTTP routes for signing in and out, and the cookie that carries the session.

The cookie is HttpOnly and SameSite=Strict always; off localhost it is also
Secure and named with the ``__Host-`` prefix (so no subdomain can set or
shadow it). A new random session is issued at every login (no fixation), and
logout deletes the server-side row, so a copied cookie stops working at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from datetime import date
from typing import Any, Required, TypedDict, cast

from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from chat.kernel.addresses import peer_address
from chat.kernel import error_codes as codes
from chat.kernel.broker import BrokerError

from chat.kernel.logs import get_logger
from chat.kernel.web import json_body, json_object, refuse, too_many

from . import manage, sessions
from .accounts import Profile, authenticate, load_profile, normalize_username
from .exceptions import AccountError
from .models import Account

log = get_logger("volunteer.api")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
SECURE_COOKIE = "__Host-jourchatt"
LOCAL_COOKIE = "jourchatt_session"


class LoginBody(TypedDict, total=False):
    """``POST /api/login``: what the handler reads (chat/openapi.json is checked against it)."""

    username: Required[str]
    password: Required[str]
    otp: str


class TotpConfirmBody(TypedDict):
    otp: str


class PasswordBody(TypedDict):
    new_password: str


# operationId -> the type of its JSON body (tests/unit/test_openapi.py compares them, body-deep).
REQUEST_BODIES: dict[str, type] = {"login": LoginBody, "totpConfirm": TotpConfirmBody,
                                   "changePassword": PasswordBody}


def _is_local(conn: HTTPConnection) -> bool:
    return (conn.url.hostname or "").lower() in LOCAL_HOSTS


def cookie_name(conn: HTTPConnection) -> str:
    return LOCAL_COOKIE if _is_local(conn) else SECURE_COOKIE


def _session_token(conn: HTTPConnection) -> str | None:
    return conn.cookies.get(cookie_name(conn))


async def current_profile(conn: HTTPConnection, *, allow_restricted: bool = False) -> Profile | None:
    """The signed-in account of a request or socket, or None.

    A restricted session (password only: second factor not yet set up, or a new
    password demanded) counts as not signed in unless ``allow_restricted``.
    """
    token = _session_token(conn)
    if not token:
        return None
    settings = conn.app.state.settings
    profile = await sessions.lookup(conn.app.state.db, token, idle_s=settings.session_idle_s,
                                    max_s=settings.session_max_s)
    if profile is not None and profile.restricted and not allow_restricted:
        return None
    return profile


async def require_role(conn: HTTPConnection, roles: tuple[str, ...], refusal: str) -> Profile | Response:
    """The signed-in profile if its role is one of ``roles``; else the 401 or 403 answer.

    ``refusal`` is the 403's detail: who may do this.
    """
    profile = await current_profile(conn)
    if profile is None:
        return refuse(codes.NOT_AUTHENTICATED)
    if profile.role not in roles:
        return refuse(codes.FORBIDDEN, refusal)
    return profile


def _me(profile: Profile) -> dict[str, Any]:
    return {
        "username": profile.username,
        "display_name": profile.display_name,
        "roles": profile.roles,
        "may_take_chats": profile.may_take_chats,
        "languages": sorted(profile.languages),
        "capacity": profile.capacity,
        "second_factor": profile.second_factor,
        "password_change": profile.password_change,
    }


async def address_hash(conn: HTTPConnection) -> str | None:
    """The client address's keyed hash under today's key (never the address itself)."""
    state = conn.app.state
    return await state.addresses.hash(peer_address(conn.scope, state.settings.trusted_proxies))  # type: ignore[no-any-return]


async def login(request: Request) -> Response:
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    if not isinstance(body, dict):
        return refuse(codes.INVALID_BODY, "send an object with username and password")
    creds = cast(LoginBody, body)      # checked field by field below
    username, password, otp = creds.get("username"), creds.get("password"), creds.get("otp")
    if not isinstance(username, str) or not isinstance(password, str) or len(username) > 200:
        return refuse(codes.INVALID_CREDENTIALS)
    state = request.app.state
    db, name, now = state.db, normalize_username(username), time.time()
    try:
        addr = await address_hash(request)
        wait = await state.throttle.retry_after(name, addr, now)
        if wait > 0:
            log.info("login.throttled")      # never the name, the address or its hash
            return too_many(wait)
        account = await authenticate(db, username, password[:4096])
        # With a second factor set up, the password alone is not enough; without one,
        # the password opens a restricted session that may only set one up.
        factor = "ok"
        if account is not None and account.totp_secret:
            factor = await manage.check_second_factor(db, state.totp_box, account, otp)
        if account is None or factor != "ok":
            await state.throttle.failed(name, addr, now)
            log.info("login.refused")
            # Only after the right password: the code was right but already used (a second
            # sign-in within its 30 s). Saying so tells nothing to someone without the password.
            return refuse(codes.CODE_REUSED if factor == "reused" else codes.INVALID_CREDENTIALS)
        await state.throttle.succeeded(name, now)
    except BrokerError:
        return refuse(codes.UNAVAILABLE)
    assert account is not None
    async with db() as session:
        profile = await load_profile(session, account, date.today())
    log.info("login.ok", volunteer=account.id[:8], state="restricted" if profile.restricted else "full")
    return await _new_session(request, JSONResponse(_me(profile)), account.id)


async def _new_session(request: Request, response: Response, account_id: str) -> Response:
    """End the request's session (if any) and put a new one in ``response``'s cookie.

    Done at login and at every change of privilege (second factor confirmed, new
    password chosen), so a token seen before the change, by whoever saw it, never
    carries the new privilege (no session fixation).
    """
    db = request.app.state.db
    old = _session_token(request)
    if old:
        await sessions.end(db, old)
    token = await sessions.start(db, account_id)
    response.set_cookie(cookie_name(request), token, httponly=True, samesite="strict",
                        secure=not _is_local(request), path="/")
    return response


async def logout(request: Request) -> Response:
    token = _session_token(request)
    if token:
        account_id = await sessions.end(request.app.state.db, token)
        if account_id is not None:
            request.app.state.hub.signed_out(account_id)
    response = JSONResponse({"ok": True})
    response.delete_cookie(cookie_name(request), path="/", secure=not _is_local(request),
                           httponly=True, samesite="strict")
    return response


async def me(request: Request) -> Response:
    profile = await current_profile(request, allow_restricted=True)
    if profile is None:
        return refuse(codes.NOT_AUTHENTICATED)
    return JSONResponse(_me(profile))


async def totp_setup(request: Request) -> Response:
    """A new secret for the authenticator app: base32, otpauth URI and a QR code (SVG)."""
    from . import totp

    profile = await current_profile(request, allow_restricted=True)
    if profile is None:
        return refuse(codes.NOT_AUTHENTICATED)
    if profile.second_factor == "enabled":
        return refuse(codes.ALREADY_ENROLLED, "Tvåstegsverifiering är redan aktiverad; en administratör "
                     "kan återställa den. / A second factor is already set up; an admin can reset it.")
    try:
        secret, username = await manage.start_enrolment(request.app.state.db, request.app.state.totp_box,
                                                        profile.id)
    except AccountError:
        return refuse(codes.NOT_AUTHENTICATED)
    uri = totp.otpauth_uri(secret, username)
    return JSONResponse({"secret": totp.base32(secret), "otpauth_uri": uri, "qr_svg": totp.qr_svg(uri)})


async def totp_confirm(request: Request) -> Response:
    profile = await current_profile(request, allow_restricted=True)
    if profile is None:
        return refuse(codes.NOT_AUTHENTICATED)
    body = await json_object(request)
    if isinstance(body, Response):
        return body
    if profile.second_factor == "enabled":
        return refuse(codes.ALREADY_ENROLLED, "Tvåstegsverifiering är redan aktiverad. / "
                     "A second factor is already set up.")
    code = cast(TotpConfirmBody, body).get("otp")
    if not await manage.confirm_enrolment(request.app.state.db, request.app.state.totp_box, profile.id,
                                          code if isinstance(code, str) else ""):
        log.info("totp.confirm_refused", volunteer=profile.id[:8])
        return refuse(codes.INVALID_CODE, "Koden stämmer inte; skriv koden som appen visar nu. / "
                     "The code does not match; enter the code the app shows now.")
    log.info("totp.enrolled", volunteer=profile.id[:8])
    return await _new_session(request, await _me_now(request, profile.id), profile.id)


async def change_password(request: Request) -> Response:
    profile = await current_profile(request, allow_restricted=True)
    if profile is None:
        return refuse(codes.NOT_AUTHENTICATED)
    body = await json_object(request)
    if isinstance(body, Response):
        return body
    if not profile.password_change:
        return refuse(codes.NOT_REQUIRED, "Inget lösenordsbyte krävs. / No password change is required.")
    new = cast(PasswordBody, body).get("new_password")
    if not isinstance(new, str):
        return refuse(codes.INVALID_FIELD, "new_password: a string is required")
    try:
        await manage.change_password(request.app.state.db, profile.id, new)
    except AccountError as exc:
        return refuse(codes.WEAK_PASSWORD, str(exc))
    return await _new_session(request, await _me_now(request, profile.id), profile.id)


async def _me_now(request: Request, account_id: str) -> Response:
    """The account as /api/me shows it, read afresh (after a change)."""
    async with request.app.state.db() as session:
        account = await session.get(Account, account_id)
        if account is None:
            return refuse(codes.NOT_AUTHENTICATED)
        return JSONResponse(_me(await load_profile(session, account, date.today())))


async def login_page(_request: Request) -> Response:
    return FileResponse(Path(__file__).resolve().parents[1] / "chat" / "static" / "login.html")


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/api/login", login, methods=["POST"]),
    Route("/api/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/totp/setup", totp_setup, methods=["POST"]),
    Route("/api/totp/confirm", totp_confirm, methods=["POST"]),
    Route("/api/password", change_password, methods=["POST"]),
]
