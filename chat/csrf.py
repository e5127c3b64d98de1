"""Cross-site request forgery guard for the HTTP API (pure ASGI middleware).

Every state-changing request (POST, PUT, PATCH, DELETE):

* with an ``Origin`` header must come from the server's own origin
  (``http(s)://<Host>``); anything else, ``null`` included, gets
  ``403 cross_origin``. Programs that are not browsers send no ``Origin``.
* that carries a session cookie must also carry the header
  ``X-Jourchatt-CSRF`` (any non-empty value). A page on another site cannot add
  a custom header to a cross-site request without a CORS preflight, which this
  server never grants, so a forged form post or ``fetch`` is refused with
  ``403 csrf_required``. Our own pages' scripts always send it.

The widget's public writes (``PUBLIC_WRITES``: the survey answer) also accept the
origins of ``JOURCHATT_ALLOWED_ORIGINS``, where the widget is embedded; they use no
cookie, and the widget sends none (``credentials: "omit"``).

Together with the SameSite=Strict, HttpOnly session cookie this is defence in
depth: each of the three stops a cross-site forgery on its own. Requests
authenticated by an API key (``Authorization: Bearer``), not a cookie, need only
pass the Origin check.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from .kernel import error_codes as codes
from .kernel.error_codes import Code

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = b"x-jourchatt-csrf"
SESSION_COOKIES = ("jourchatt_session", "__Host-jourchatt")
# Cookie-less public routes the widget posts to from the sites it is embedded in.
PUBLIC_WRITES = frozenset({"/api/survey"})


def _refuse(code: Code) -> tuple[dict[str, object], bytes]:
    body = json.dumps(code.body(), ensure_ascii=False).encode()
    start = {"type": "http.response.start", "status": code.status or 403,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    return start, body


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin")
        refusal: Code | None = None
        if origin is not None:
            host = headers.get(b"host", b"").decode("latin-1").lower()
            value = origin.decode("latin-1").rstrip("/").lower()
            if not host or value not in (f"http://{host}", f"https://{host}"):
                if not (scope.get("path") in PUBLIC_WRITES and value in self.allowed):
                    refusal = codes.CROSS_ORIGIN
        if refusal is None and not headers.get(HEADER):
            cookie = headers.get(b"cookie", b"").decode("latin-1")
            names = {part.split("=", 1)[0].strip() for part in cookie.split(";") if "=" in part}
            if any(name in names for name in SESSION_COOKIES):
                refusal = codes.CSRF_REQUIRED
        if refusal is None:
            await self.app(scope, receive, send)
            return
        start, body = _refuse(refusal)
        await send(start)
        await send({"type": "http.response.body", "body": body})
