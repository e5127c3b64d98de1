"""HTTP routes for signing in and out, and the cookie that carries the session.

The cookie is HttpOnly and SameSite=Strict always; off localhost it is also
Secure and named with the ``__Host-`` prefix (so no subdomain can set or
shadow it). A new random session is issued at every login (no fixation), and
logout deletes the server-side row, so a copied cookie stops working at once.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import sessions
from .accounts import Profile, authenticate, load_profile

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
SECURE_COOKIE = "__Host-jourchatt"
LOCAL_COOKIE = "jourchatt_session"
MAX_BODY = 8 * 1024

LOGIN_FAILED = {
    "error": "invalid_credentials",
    "detail": "Fel användarnamn, lösenord eller kod. / Wrong username, password or code.",
}
NOT_AUTHENTICATED = {
    "error": "not_authenticated",
    "detail": "Logga in först. / Sign in first.",
}


def _is_local(conn: HTTPConnection) -> bool:
    return (conn.url.hostname or "").lower() in LOCAL_HOSTS


def cookie_name(conn: HTTPConnection) -> str:
    return LOCAL_COOKIE if _is_local(conn) else SECURE_COOKIE


def _session_token(conn: HTTPConnection) -> str | None:
    return conn.cookies.get(cookie_name(conn))


async def current_profile(conn: HTTPConnection) -> Profile | None:
    """The signed-in account of a request or socket, or None."""
    token = _session_token(conn)
    if not token:
        return None
    settings = conn.app.state.settings
    return await sessions.lookup(conn.app.state.db, token, idle_s=settings.session_idle_s,
                                 max_s=settings.session_max_s)


def error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


async def read_json(request: Request, max_bytes: int = MAX_BODY) -> Any:
    """The request's JSON body; raise ValueError with a reason if it is not one."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ValueError("send Content-Type: application/json")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise OverflowError(f"the body may be at most {max_bytes} bytes")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ValueError("the body is not valid JSON") from None


def _me(profile: Profile) -> dict[str, Any]:
    return {
        "username": profile.username,
        "display_name": profile.display_name,
        "roles": profile.roles,
        "may_take_chats": profile.may_take_chats,
        "languages": sorted(profile.languages),
        "capacity": profile.capacity,
    }


async def login(request: Request) -> Response:
    try:
        body = await read_json(request)
    except OverflowError as exc:
        return error(413, "body_too_large", str(exc))
    except ValueError as exc:
        return error(400, "invalid_body", str(exc))
    if not isinstance(body, dict):
        return error(400, "invalid_body", "send an object with username and password")
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or len(username) > 200:
        return JSONResponse(LOGIN_FAILED, status_code=401)
    db = request.app.state.db
    account = await authenticate(db, username, password[:4096])
    if account is None:
        return JSONResponse(LOGIN_FAILED, status_code=401)
    old = _session_token(request)
    if old:
        await sessions.end(db, old)          # a session never survives a new login
    token = await sessions.start(db, account.id)
    async with db() as session:
        profile = await load_profile(session, account, date.today())
    response = JSONResponse(_me(profile))
    secure = not _is_local(request)
    response.set_cookie(cookie_name(request), token, httponly=True, samesite="strict",
                        secure=secure, path="/")
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
    profile = await current_profile(request)
    if profile is None:
        return JSONResponse(NOT_AUTHENTICATED, status_code=401)
    return JSONResponse(_me(profile))


routes = [
    Route("/api/login", login, methods=["POST"]),
    Route("/api/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
]
