"""The application: one place that wires every part together.

``create_app(settings)`` returns the Starlette app. Resources (database engine,
broker, hub) live in the lifespan: nothing connects at import time, both the
database and the broker are pinged at start, and a background task that dies
makes ``/readyz`` fail.
"""

from __future__ import annotations

import ipaddress
import json
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from volunteer import admin as volunteer_admin, api as volunteer_api
from volunteer.throttle import LoginThrottle, Policy
from volunteer.totp import SecretBox
from volunteer import hours, hours_api, shifts_api, trainees as volunteer_trainees
from referral import api as referral_api
from referral import survey, survey_api

from .kernel import db, error_codes as codes
from . import console
from .kernel.addresses import AddressHasher, peer_address
from .kernel.broker import Broker, BrokerError, create_broker
from .csrf import CSRFMiddleware
from .endpoints import visitor_socket, volunteer_socket
from .kernel.exceptions import ConfigurationError
from .hub import Hub
from .metrics import Metrics, Sources
from .referral_port import StoreReferrals
from .waiting import WaitingCap
from .kernel.logs import get_logger
from .kernel.settings import Settings
from . import metrics, vocabularies, widget_api

log = get_logger("chat.app")
STATIC = Path(__file__).parent / "static"
OPENAPI = Path(__file__).parent / "openapi.json"

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


# Sent only over TLS (RFC 6797 ignores it over plain HTTP). One year, and no
# includeSubDomains: the foundation's other subdomains are not ours to pin.
HSTS = (b"strict-transport-security", b"max-age=31536000")


def over_tls(scope: Scope, trusted_proxies: tuple[str, ...]) -> bool:
    """Whether the client reached us over TLS: directly, or through a trusted proxy that says so."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    peer = peer_address(scope, ())         # the socket's peer itself, never a forwarded address
    if not trusted_proxies or peer is None:
        return False
    if not any(ipaddress.ip_address(peer) in ipaddress.ip_network(p) for p in trusted_proxies):
        return False
    values = [v for k, v in scope.get("headers", []) if k == b"x-forwarded-proto"]
    return bool(values) and values[-1].decode("latin-1").split(",")[-1].strip().lower() == "https"


class EdgeMiddleware:
    """Pure ASGI: security headers (HSTS over TLS), no-store on the API, one log line per request.

    An API route that sets its own ``Cache-Control`` (the public vocabularies) keeps it;
    every other API answer gets ``no-store``.

    Only paths of known routes are logged; anything else is logged as "-", so a
    path a client made up cannot carry text into the log.
    """

    def __init__(self, app: ASGIApp, known_paths: frozenset[str], trusted_proxies: tuple[str, ...] = ()) -> None:
        self.app = app
        self.known_paths = known_paths
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope["path"]
        status = 500
        security_headers = SECURITY_HEADERS + ([HSTS] if over_tls(scope, self.trusted_proxies) else [])
        if "\x00" in path or b"%00" in scope.get("query_string", b"").lower():
            # No route takes a NUL character, and PostgreSQL refuses one in text: say so
            # here rather than fail deep inside a handler.
            status = 400
            await _refuse_nul(send, security_headers)
            log.info("http.request", method=scope["method"], path="-", status=status,
                     duration_ms=round((time.perf_counter() - start) * 1000, 1))
            return

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(security_headers)
                if ((path.startswith("/api/") or path in ("/healthz", "/readyz", "/metrics"))
                        and not any(k.lower() == b"cache-control" for k, _ in headers)):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info("http.request", method=scope["method"],
                     path=path if path in self.known_paths else "-", status=status,
                     duration_ms=round((time.perf_counter() - start) * 1000, 1))


async def _refuse_nul(send: Send, security_headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps(codes.INVALID_REQUEST.body(
        "Adressen får inte innehålla NUL-tecken (%00). / The URL must not contain NUL characters (%00)."),
        ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *security_headers]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def broker_endpoint(url: str) -> str:
    """``host:port`` of a broker URL, never its credentials (``memory`` for ``memory://``)."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return "memory"
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        await db.ping(state.engine)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        await state.broker.ping()
        # Redis answers, but this node's channel is not back yet: notices would be missed.
        checks["broker"] = "channel reconnecting" if state.broker.channel_lost else "ok"
    except Exception as exc:
        checks["broker"] = f"unavailable: {type(exc).__name__}"
    tasks = state.hub.tasks_alive()
    dead = sorted(name for name, alive in tasks.items() if not alive)
    if dead or not tasks:
        # Named, so the operator knows which (it is restarted by itself: chat.tasks).
        checks["hub"] = "background task stopped" + (f": {', '.join(dead)}" if dead else "")
    else:
        checks["hub"] = "ok"
    if state.draining:
        checks["node"] = "draining"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)


async def index(_request: Request) -> Response:
    return FileResponse(STATIC / "index.html")


async def openapi(_request: Request) -> Response:
    """The OpenAPI description of every HTTP route (``chat/openapi.json``); public, it holds no secret."""
    return Response(OPENAPI.read_bytes(), media_type="application/json")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: codes.NOT_FOUND, 405: codes.METHOD_NOT_ALLOWED}.get(exc.status_code, codes.HTTP_ERROR)
    return JSONResponse(code.body(exc.detail), status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("http.failed", exc_info=exc)
    return JSONResponse(codes.INTERNAL_ERROR.body(), status_code=500)


def _metrics(hub: Hub, broker: Broker, sockets: dict[str, int]) -> Metrics:
    """GET /metrics' figures, wired to where they live today (chat.metrics)."""
    tz = ZoneInfo(hub.settings.timezone)
    return Metrics(hub.node, broker, Sources(
        tasks_alive=hub.tasks_alive,
        records=lambda: (hub.records.written, hub.records.failed),
        sockets=sockets,
        is_open=lambda: hours.is_open(hub.hours.current, datetime.fromtimestamp(hub.clock(), timezone.utc), tz)))


async def unavailable(request: Request, exc: Exception) -> Response:
    """The database or the broker is out of reach: 503 ``unavailable`` (try again), never a 500.

    Any other error of the same classes (a statement the database refused, a file
    that cannot be read) is a fault of ours and stays a 500.
    """
    if isinstance(exc, BrokerError):
        log.warning("http.unavailable", error=type(exc).__name__, kind="broker")
    elif db.unreachable(exc):
        log.warning("http.unavailable", error=type(exc).__name__, kind="database")
    else:
        return await server_error(request, exc)
    return JSONResponse(codes.UNAVAILABLE.body(), status_code=503, headers={"Retry-After": "5"})


def create_app(settings: Settings, *, broker: Broker | None = None) -> Starlette:
    """Build the app; ``broker`` lets tests and embedders pass their own."""
    from referral.stats import api as stats_api  # imported here: referral's tables import chat.kernel.db

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = db.create_engine(settings.database_url)
        app.state.engine = engine
        app.state.db = db.sessionmaker(engine)
        try:
            try:
                await db.ping(engine)
            except Exception as exc:
                # Named here: uvicorn's own report of a failed start is a clipped traceback.
                log.error("app.start_failed", reason="database unreachable", error=type(exc).__name__,
                          database=db.endpoint(settings.database_url))
                raise
            current, head = await db.current_revision(engine), db.head_revision()
            if current != head:
                log.error("app.start_failed", reason="database schema out of date", revision=current or "none")
                raise ConfigurationError(
                    f"the database schema is at {current or 'nothing'}, not {head}: run 'jourchatt db upgrade'"
                )
            app.state.broker = broker or create_broker(
                settings.broker_url, wait_replicas=settings.broker_wait_replicas,
                wait_timeout_ms=settings.broker_wait_timeout_ms)
            await app.state.broker.start()
            try:
                await app.state.broker.ping()
            except Exception as exc:
                # A BrokerError's message is ours and names the kind ("redis unreachable: ConnectionError").
                log.error("app.start_failed", reason="broker unreachable",
                          error=str(exc) if isinstance(exc, BrokerError) else type(exc).__name__,
                          broker=broker_endpoint(settings.broker_url))
                raise
            app.state.addresses = AddressHasher(app.state.broker, settings.secret)
            app.state.throttle = LoginThrottle(app.state.broker, settings.secret, Policy(
                settings.login_max_failures, settings.login_window_s, settings.login_address_max_failures))
            app.state.hub = Hub(settings, app.state.broker, app.state.db,
                                referrals=StoreReferrals(settings, app.state.db))
            app.state.waiting = WaitingCap(app.state.broker, app.state.addresses,
                                           settings.max_waiting_per_address)
            await app.state.hub.start()
            app.state.metrics = _metrics(app.state.hub, app.state.broker, app.state.sockets)
            if await app.state.hub.directory.ensure_seeded():
                log.info("directory.seeded")
        except BaseException:
            await engine.dispose()
            raise
        log.info("app.started", database=db.describe(settings.database_url),
                 broker=settings.broker_url.split("://")[0])
        try:
            yield
        finally:
            app.state.draining = True
            await app.state.hub.stop()
            await app.state.broker.close()
            await engine.dispose()
            log.info("app.stopped")

    routes: list[Any] = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/api/openapi.json", openapi, methods=["GET"]),
        *volunteer_api.routes,
        *volunteer_admin.routes,
        *hours_api.routes,
        *shifts_api.routes,
        *volunteer_trainees.routes,
        *widget_api.routes,
        *vocabularies.routes,
        *referral_api.routes,
        *survey_api.routes,
        *console.routes,
        *stats_api.routes,
        *metrics.routes,
        WebSocketRoute("/ws/visitor", visitor_socket),
        WebSocketRoute("/ws/volunteer", volunteer_socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    known = frozenset(r.path for r in routes if isinstance(r, Route))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error,
                            BrokerError: unavailable,
                            **{cls: unavailable for cls in (*db.UNREACHABLE, DBAPIError)}},
    )
    app.state.settings = settings
    app.state.totp_box = SecretBox(settings.secret)
    app.state.survey_key = survey.token_key(settings.secret)
    app.state.draining = False
    app.state.sockets = {"open": 0, "visitor": 0, "volunteer": 0}
    app.add_middleware(CSRFMiddleware, allowed_origins=settings.allowed_origins)
    app.add_middleware(EdgeMiddleware, known_paths=known, trusted_proxies=settings.trusted_proxies)
    return app
