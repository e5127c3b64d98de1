"""Uncaught exceptions, served for real: what the client gets and what the log keeps.

The app runs on uvicorn exactly as ``jourchatt serve`` runs it, logging JSON at debug
level. A route and a socket are added that raise an exception whose message quotes
what the client sent (a marker, an address); the client's request also carries the
marker in its query string and user agent. The client gets a plain 500 (or its socket
closed), and the log keeps the exception's type and where it was raised, from both
Starlette's handler (``http.failed``) and uvicorn's "Exception in ASGI application",
but never the message, a traceback, the query string, the user agent or an address.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
import websockets
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from chat.kernel import error_codes as codes
from chat.kernel.logs import configure_logging

from ..conftest import CLIENT_OPTIONS, Running, make_settings, start_server

MARKER = "ZQXerrorMARKERZQX"
ADDRESS = "10.1.2.3"


def _fail() -> None:
    raise ValueError(f"the client sent {MARKER} from {ADDRESS}")


async def boom(_request: Request) -> Response:
    _fail()
    raise AssertionError("unreachable")


async def boom_socket(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive_text()
    _fail()


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(fmt="json", level="debug", stream=stream)
    yield stream
    configure_logging("console", "warning")     # as tests/conftest.py configures it


@pytest.fixture
async def failing(tmp_path: Path, log_output: io.StringIO) -> AsyncIterator[Running]:
    running, stop = await start_server(make_settings(tmp_path, f"sqlite:///{tmp_path / 'var' / 'db.sqlite3'}",
                                                     "memory://", log_level="debug", log_format="json"))
    running.app.router.routes += [Route("/boom", boom), WebSocketRoute("/ws/boom", boom_socket)]
    try:
        yield running
    finally:
        await stop()


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _assert_clean(output: str) -> None:
    for needle in (MARKER, ADDRESS, "Traceback", "the client sent"):
        assert needle not in output, f"{needle!r} in the log:\n{output}"


async def test_an_uncaught_http_exception_is_a_plain_500_and_logs_no_message(
        failing: Running, log_output: io.StringIO) -> None:
    async with httpx.AsyncClient(base_url=failing.http, headers={"User-Agent": MARKER}) as c:
        r = await c.get(f"/boom?q={MARKER}")
    assert r.status_code == 500
    assert r.json() == {"error": "internal_error", "detail": codes.INTERNAL_ERROR.detail}
    assert MARKER not in r.text and "Traceback" not in r.text

    output = log_output.getvalue()
    _assert_clean(output)
    failures = [line for line in _lines(log_output) if "error" in line]
    assert {line["event"].strip() for line in failures} == {"http.failed", "Exception in ASGI application"}
    for line in failures:
        assert line["error"] == "ValueError" and "_fail" in line["where"], line


async def test_an_uncaught_socket_exception_closes_the_socket_and_logs_no_message(
        failing: Running, log_output: io.StringIO) -> None:
    ws = await websockets.connect(f"ws://127.0.0.1:{failing.port}/ws/boom",
                                  user_agent_header=MARKER, **CLIENT_OPTIONS)
    await ws.send(MARKER)
    with pytest.raises(websockets.ConnectionClosed) as closed:     # uvicorn drops the connection
        await ws.recv()
    assert closed.value.rcvd is None or MARKER not in closed.value.rcvd.reason

    output = log_output.getvalue()
    _assert_clean(output)
    [line] = [line for line in _lines(log_output) if "error" in line]
    assert (line["event"].strip(), line["error"]) == ("Exception in ASGI application", "ValueError")
    assert "_fail" in line["where"]


def test_library_debug_logging_stays_off_at_our_debug_level(log_output: io.StringIO) -> None:
    """At JOURCHATT_LOG_LEVEL=debug only our own loggers say more: other libraries'
    debug and info lines (websockets' show frames with what was written in them,
    httpx's show URLs with their query strings) are still not emitted."""
    for name in ("uvicorn.error", "websockets.server", "websockets.protocol", "sqlalchemy.engine",
                 "redis.asyncio.connection", "httpx", "multipart", "asyncpg", "some.library"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        logging.getLogger(name).info("%s", MARKER)
    for name in ("chat.hub", "volunteer.api", "referral.api"):
        assert logging.getLogger(name).isEnabledFor(logging.DEBUG), name
    assert log_output.getvalue() == ""
