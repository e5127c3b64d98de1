"""Running the app on uvicorn, tuned as measured (shared/design/facts.md)."""

from __future__ import annotations

import importlib.util

import uvicorn

from .app import create_app
from .frames import MAX_FRAME_BYTES
from .settings import Settings

# Ping every 20 s and give up after 20 s more: a phone that went into a tunnel is
# noticed within ~40 s, and the visitor then has the grace period to resume.
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 20.0


def uvicorn_config(settings: Settings, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        # The sans-I/O implementation is as fast as a bare websockets server;
        # the legacy one and wsproto reach about half (facts.md).
        ws="websockets-sansio",
        # Compression costs ~34 KiB per connection and OWASP advises it off.
        ws_per_message_deflate=False,
        ws_max_size=MAX_FRAME_BYTES,
        ws_ping_interval=PING_INTERVAL_S,
        ws_ping_timeout=PING_TIMEOUT_S,
        # uvloop gives x2.8 on the sans-I/O path; fall back to asyncio without it.
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        # The access log would write every client's address: never on.
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


def serve(settings: Settings, host: str, port: int) -> None:
    uvicorn.Server(uvicorn_config(settings, host, port)).run()
