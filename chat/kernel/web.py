"""The HTTP helpers every package's routes use: JSON bodies read and checked, errors
answered from the registry (``chat.kernel.error_codes``), origins and CORS for the
widget's public routes.

Part of the kernel: it imports nothing from the chat's top (app, endpoints, hub),
so ``referral`` and ``volunteer`` use it without reaching there.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from . import error_codes as codes
from .error_codes import Code

# A JSON request body's limit unless a route says otherwise (8 KiB: a login, a shift,
# an account; the directory editor asks for more).
MAX_BODY = 8 * 1024


def refuse(code: Code, detail: str | None = None, *, status: int | None = None,
           headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    """The JSON error answer for a registered ``code`` (chat.kernel.error_codes): its status,
    its registered detail unless a more precise one is given, and any ``extra`` fields."""
    return JSONResponse({**code.body(detail), **extra}, status_code=status or code.status or 400,
                        headers=headers)


def error(status: int, code: str, detail: str) -> JSONResponse:
    """The older spelling of ``refuse``; ``code`` must be registered all the same."""
    return refuse(codes.lookup(code), detail, status=status)


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
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise ValueError("the body is not valid JSON") from None
    check_text(value)
    return value


def check_text(value: Any) -> None:
    """Refuse NUL characters and unpaired surrogates (``"\\ud800"``) anywhere in a JSON value.

    Valid JSON may hold both, but neither is text a person wrote, PostgreSQL refuses
    NUL in text and no database can store an unpaired surrogate as UTF-8: let them
    through and a handler fails with a 5xx. (A loop, not recursion: the value may be
    nested as deep as the JSON parser allowed.)
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError("the body must not contain NUL characters (\\u0000)")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("the body must not contain unpaired UTF-16 surrogates") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


async def json_body(request: Request, max_bytes: int = MAX_BODY) -> Any | Response:
    """The JSON body, or the 413/400 answer to give instead (``isinstance(x, Response)``)."""
    try:
        return await read_json(request, max_bytes)
    except OverflowError as exc:
        return refuse(codes.BODY_TOO_LARGE, str(exc))
    except ValueError as exc:
        return refuse(codes.INVALID_BODY, str(exc))


async def json_object(request: Request) -> dict[str, Any] | Response:
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    if not isinstance(body, dict):
        return refuse(codes.INVALID_BODY, "send a JSON object")
    return body


def too_many(retry_after: int) -> JSONResponse:
    return refuse(codes.TOO_MANY_ATTEMPTS,
                  f"För många misslyckade inloggningar; försök igen om {retry_after} sekunder. / "
                  f"Too many failed logins; try again in {retry_after} seconds.",
                  headers={"Retry-After": str(retry_after)})


def origin_allowed(ws: HTTPConnection, allowed: tuple[str, ...]) -> bool:
    """The server's own origin and JOURCHATT_ALLOWED_ORIGINS may connect.

    A request without an Origin header does not come from a browser page, so no
    other site can have sent it on a visitor's behalf; it is let through. The
    raw scope headers are read (``ws.headers`` would keep a parsed copy alive for
    the connection's whole life).
    """
    origin = host = None
    for name, value in ws.scope["headers"]:
        if name == b"origin":
            origin = value.decode("latin-1")
        elif name == b"host":
            host = value.decode("latin-1").lower()
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    if host and origin in (f"http://{host}", f"https://{host}"):
        return True
    return origin in (o.lower() for o in allowed)


def public_cors(request: Request, response: Response) -> Response:
    """Let the widget on an allowed origin read this response (GET only, no credentials)."""
    origin = request.headers.get("origin")
    if origin and origin_allowed(request, request.app.state.settings.allowed_origins):
        response.headers["access-control-allow-origin"] = origin
    response.headers["vary"] = "Origin"
    return response
