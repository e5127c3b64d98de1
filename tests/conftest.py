"""Shared fixtures: a real uvicorn server on a free port, real WebSocket clients.

Integration tests run the app exactly as ``jourchatt serve`` does (same uvicorn
settings from ``chat.server.uvicorn_config``) inside the test's event loop, and
talk to it over real sockets with the ``websockets`` client and httpx.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import secrets
import sys
import time
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
import httpx
import pytest
import uvicorn
import websockets

from chat.kernel import db
from chat import hub as hub_module
from chat.kernel.logs import configure_logging
from chat.server import uvicorn_config
from chat.kernel.settings import Settings
from sqlalchemy import update

from volunteer import manage, totp as totp_module
from volunteer.accounts import create_account
from volunteer.models import Account

from . import servers
from .servers import free_port

RECV_TIMEOUT_S = 5.0
# Unread frames must not stop a test client from reading the server's close frame.
CLIENT_OPTIONS: dict[str, Any] = {"max_queue": None, "close_timeout": 2}
PASSWORD = "correct horse battery staple"


configure_logging("console", "warning")

# Subprocesses the tests start (``jourchatt serve`` nodes, the CLI) run this checkout's
# code, as the tests themselves do, not the checkout the virtualenv's editable install
# points at (a worktree's new migration or setting would otherwise be unknown to them).
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(Path(__file__).resolve().parents[1]), *filter(None, [os.environ.get("PYTHONPATH")])])


# The real PostgreSQL and Redis the tests use: the session's own, started in
# pytest_configure (tests/servers.py) on free ports and stopped at its end, unless
# JOURCHATT_TEST_POSTGRES / JOURCHATT_TEST_REDIS name servers to use instead. Through
# POSTGRES_ADMIN_URL (a superuser) each test gets a database of its own, created here
# and dropped afterwards; the tests own REDIS_TEST_URL's database number: it is emptied
# before each test that uses it.
POSTGRES_ADMIN_URL = os.environ.get("JOURCHATT_TEST_POSTGRES", "")
REDIS_TEST_URL = os.environ.get("JOURCHATT_TEST_REDIS", "")
TEST_SECRET = "test-secret-" + "x" * 40
# Browser tests drive Debian's Chromium (a browser download cannot work here). Without
# the background-networking flags it keeps trying to reach Google on this closed network.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_configure(config: pytest.Config) -> None:
    """Start the session's own Redis and PostgreSQL (not for --collect-only or --help).

    Their URLs also go into this process's environment, so whatever reads
    JOURCHATT_TEST_REDIS / JOURCHATT_TEST_POSTGRES (a subprocess too) uses them.
    """
    global POSTGRES_ADMIN_URL, REDIS_TEST_URL
    if config.option.collectonly or config.option.help:
        return
    stack = ExitStack()
    config.add_cleanup(stack.close)          # after the last teardown, also on Ctrl-C or failure
    try:
        if not REDIS_TEST_URL:
            REDIS_TEST_URL = stack.enter_context(servers.redis_server())
            os.environ["JOURCHATT_TEST_REDIS"] = REDIS_TEST_URL
        if not POSTGRES_ADMIN_URL:
            POSTGRES_ADMIN_URL = stack.enter_context(servers.postgres_server())
            os.environ["JOURCHATT_TEST_POSTGRES"] = POSTGRES_ADMIN_URL
    except servers.ServerError as exc:
        pytest.exit(f"the tests' own servers could not start: {exc}", returncode=1)


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test; fails (never skips) if unreachable."""
    if not POSTGRES_ADMIN_URL:      # an empty URL would mean libpq's defaults: someone else's server
        raise RuntimeError("no PostgreSQL for the tests: pytest_configure starts one (see tests/servers.py)")
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable ({exc!r})") from exc
    name = f"jc_test_{secrets.token_hex(6)}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def fresh_redis() -> str:
    """The tests' Redis database, emptied; fails (never skips) if Redis is unreachable."""
    import redis.asyncio as aioredis

    if not REDIS_TEST_URL:
        raise RuntimeError("no Redis for the tests: pytest_configure starts one (see tests/servers.py)")
    client = aioredis.from_url(REDIS_TEST_URL, socket_connect_timeout=5)
    try:
        await client.flushdb()
    except Exception as exc:
        raise RuntimeError(f"Redis at {REDIS_TEST_URL} is not reachable ({exc!r})") from exc
    finally:
        await client.aclose()
    return REDIS_TEST_URL


async def live_keys(server: "Running", chat: str) -> list[str]:
    """Every key the broker still holds about ``chat``."""
    broker = server.app.state.broker
    if not broker.shared:
        return [k for k, v in broker.data.items() if chat in k or chat in str(v)]
    found = [k async for k in broker.r.scan_iter(match=f"*{chat}*")]
    for key in ("jc:queue", "jc:due"):
        found += [f"{key}:{m}" for m in await broker.r.zrange(key, 0, -1) if chat in m]
    return found


class Authenticator:
    """What a person's authenticator app knows: one TOTP secret per account name.

    ``sign_in`` logs in over HTTP like the login page does: with a fresh code when
    the account has a second factor, otherwise (an account made with
    ``jourchatt volunteer add``) by enrolling one first. It never sends a code for
    a step already used (waiting for the next step if it must), so it works
    against servers whose database the test cannot reach.
    """

    def __init__(self) -> None:
        self.secrets: dict[str, bytes] = {}
        self.used: dict[str, int] = {}

    async def fresh_code(self, username: str) -> str:
        now_step = totp_module.step_at(time.time())
        step = max(now_step, self.used.get(username, now_step - 1) + 1)
        while step > totp_module.step_at(time.time()) + 1:
            await asyncio.sleep(0.5)
        self.used[username] = step
        return totp_module.code_for_step(self.secrets[username], step)

    async def sign_in(self, client: httpx.AsyncClient, username: str, password: str) -> str:
        body = {"username": username, "password": password}
        if username in self.secrets:
            body["otp"] = await self.fresh_code(username)
        r = await client.post("/api/login", json=body, headers={"X-Jourchatt-CSRF": "1"})
        assert r.status_code == 200, r.text
        cookie = r.headers["set-cookie"].split(";")[0]
        if r.json()["second_factor"] == "enroll":
            headers = {"X-Jourchatt-CSRF": "1", "Cookie": cookie}
            setup = await client.post("/api/totp/setup", headers=headers)
            assert setup.status_code == 200, setup.text
            b32 = setup.json()["secret"]
            self.secrets[username] = base64.b32decode(b32 + "=" * (-len(b32) % 8))
            done = await client.post("/api/totp/confirm", headers=headers,
                                     json={"otp": await self.fresh_code(username)})
            assert done.status_code == 200 and done.json()["second_factor"] == "enabled", done.text
            cookie = done.headers["set-cookie"].split(";")[0]     # a new session at every privilege change
        return cookie


def _installed_from_here() -> bool:
    """Is the installed ``jourchatt`` this checkout (not an editable install of another worktree)?"""
    import importlib.metadata
    import json as _json
    try:
        url = _json.loads(importlib.metadata.distribution("jourchatt").read_text("direct_url.json") or "{}")["url"]
    except (importlib.metadata.PackageNotFoundError, KeyError, ValueError):
        return True
    return not url.startswith("file://") or Path(url[len("file://"):]).resolve() == Path(__file__).resolve().parents[1]


def jourchatt_command() -> list[str]:
    """The installed ``jourchatt`` console script (or the module, in a source checkout).

    When the installed package is an editable install of another checkout (a git
    worktree sharing one virtualenv), this checkout's own code runs instead: its
    migrations and commands are the ones under test."""
    exe = Path(sys.executable).parent / "jourchatt"
    if exe.exists() and _installed_from_here():
        return [str(exe)]
    root = str(Path(__file__).resolve().parents[1])
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {root!r}); from chat.cli import main; sys.exit(main())"]


def make_settings(tmp_path: Path, database_url: str | None = None, broker_url: str | None = None,
                  **overrides: Any) -> Settings:
    env = {"JOURCHATT_VAR_DIR": str(tmp_path / "var"), "JOURCHATT_LOG_LEVEL": "warning"}
    if broker_url is not None:
        env["JOURCHATT_BROKER_URL"] = broker_url
    if database_url is not None:
        env["JOURCHATT_DATABASE_URL"] = database_url
    if (database_url and not database_url.startswith("sqlite")) or (broker_url and broker_url.startswith("redis")):
        env["JOURCHATT_SECRET_KEY"] = TEST_SECRET
    env.update({f"JOURCHATT_{k.upper()}": str(v) for k, v in overrides.items()})
    return Settings.from_env(environ=env, dotenv=False)


class WS:
    """A thin JSON wrapper over a websockets client connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.conn.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = RECV_TIMEOUT_S) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.conn.recv(), timeout))  # type: ignore[no-any-return]

    async def expect(self, kind: str, timeout: float = RECV_TIMEOUT_S) -> dict[str, Any]:
        """The next frame of type ``kind``, skipping others (queued updates, typing...)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame["type"] == kind:
                return frame

    async def queued_at(self, position: int, timeout: float = RECV_TIMEOUT_S) -> dict[str, Any]:
        """Read ``queued`` updates until one gives ``position`` (positions settle as matches land)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.expect("queued", max(0.01, deadline - loop.time()))
            if frame["position"] == position:
                return frame

    async def line(self, sender: str, timeout: float = RECV_TIMEOUT_S) -> dict[str, Any]:
        """The next chat line from ``sender`` (visitor, volunteer or system)."""
        while True:
            frame = await self.expect("message", timeout)
            if frame["from"] == sender:
                return frame

    async def nothing(self, timeout: float = 0.3) -> None:
        """Assert that no frame arrives within ``timeout``."""
        try:
            frame = await asyncio.wait_for(self.conn.recv(), timeout)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected frame {frame}")

    async def none_of(self, kind: str, timeout: float = 0.3) -> list[dict[str, Any]]:
        """Assert that no frame of type ``kind`` arrives within ``timeout``; return the others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        others: list[dict[str, Any]] = []
        while (left := deadline - loop.time()) > 0:
            try:
                frame = await self.recv(left)
            except asyncio.TimeoutError:
                break
            assert frame["type"] != kind, f"unexpected {frame}"
            others.append(frame)
        return others

    async def closed(self, timeout: float = RECV_TIMEOUT_S) -> int | None:
        """Drain until the server closes; return its close code."""
        try:
            while True:
                await asyncio.wait_for(self.conn.recv(), timeout)
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None

    async def close(self) -> None:
        await self.conn.close()


@dataclass
class Running:
    settings: Settings
    app: Any
    port: int
    clients: list[WS] = field(default_factory=list)
    totp_secrets: dict[str, bytes] = field(default_factory=dict)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hub(self) -> hub_module.Hub:
        return self.app.state.hub  # type: ignore[no-any-return]

    async def add_account(self, username: str, *, role: str = "volunteer", trained: bool = True,
                          languages: str = "sv", capacity: int = 1, display_name: str | None = None,
                          totp: bool = True, password: str = PASSWORD, skills: tuple[str, ...] = ()) -> None:
        """Create an account; with ``totp`` (the default) its second factor is already set up."""
        await create_account(self.app.state.db, username=username,
                             display_name=display_name or username.capitalize(), password=password,
                             role=role, languages=languages, capacity=capacity, trained=trained,
                             today=date.today(), skills=skills)
        if totp:
            secret = totp_module.new_secret()
            await manage.enrol_directly(self.app.state.db, self.app.state.totp_box, username, secret)
            self.totp_secrets[username] = secret

    async def code(self, username: str, *, reuse: bool = True) -> str:
        """The account's current TOTP code. With ``reuse`` (the default) the account's
        last accepted step is forgotten first, so a test may log in many times within
        one 30-second step (the refusal of a reused code is tested on its own)."""
        if reuse:
            async with self.app.state.db() as session, session.begin():
                await session.execute(update(Account).where(Account.username == username)
                                      .values(totp_last_step=None))
        return totp_module.code_at(self.totp_secrets[username], time.time())

    async def client(self, username: str, *, role: str = "volunteer", trained: bool = True) -> httpx.AsyncClient:
        """A new account of ``role``, signed in: an HTTP client sending its cookie and the CSRF header."""
        await self.add_account(username, role=role, trained=trained)
        cookie = await self.login(username)
        return httpx.AsyncClient(base_url=self.http, headers={"Cookie": cookie, "X-Jourchatt-CSRF": "1"})

    async def login(self, username: str, *, password: str = PASSWORD) -> str:
        """Sign in (with a fresh TOTP code when the account has one); return the Cookie header value."""
        body = {"username": username, "password": password}
        if username in self.totp_secrets:
            body["otp"] = await self.code(username)
        async with httpx.AsyncClient(base_url=self.http) as client:
            r = await client.post("/api/login", json=body)
            assert r.status_code == 200, r.text
            return r.headers["set-cookie"].split(";")[0]

    async def visitor(self, hello: dict[str, Any] | None = None, *, origin: str | None = None) -> WS:
        headers = {"Origin": origin} if origin else {}
        ws = WS(await websockets.connect(f"ws://127.0.0.1:{self.port}/ws/visitor",
                                         additional_headers=headers, **CLIENT_OPTIONS))
        self.clients.append(ws)
        if hello is not None:
            await ws.send({"type": "hello", **hello})
        return ws

    async def volunteer(self, username: str, *, available: bool = True) -> WS:
        cookie = await self.login(username)
        ws = WS(await websockets.connect(f"ws://127.0.0.1:{self.port}/ws/volunteer",
                                         additional_headers={"Cookie": cookie}, **CLIENT_OPTIONS))
        self.clients.append(ws)
        assert (await ws.recv())["type"] == "welcome"
        if available:
            await ws.send({"type": "status", "state": "available"})
            assert (await ws.expect("status"))["state"] == "available"
        return ws


async def start_server(settings: Settings) -> tuple[Running, Callable[[], Awaitable[None]]]:
    await db.upgrade_async(settings.database_url)
    config = uvicorn_config(settings, "127.0.0.1", 0)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    if task.done():
        task.result()
    port = server.servers[0].sockets[0].getsockname()[1]
    running = Running(settings=settings, app=config.app, port=port)

    async def stop() -> None:
        for ws in running.clients:
            try:
                await ws.close()
            except Exception:
                pass
        server.should_exit = True
        await asyncio.wait_for(task, 20)

    return running, stop


@pytest.fixture
def fast_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check the hub's timers every 50 ms instead of every second."""
    monkeypatch.setattr(hub_module, "HOUSEKEEPING_TICK_S", 0.05)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every test that uses a database runs once on SQLite and once on real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'jourchatt.sqlite3'}"
        return
    async with postgres_database() as url:
        yield url


@pytest.fixture
async def broker_url(database_url: str) -> str:
    """The embedded pair (SQLite, memory://) and the production pair (PostgreSQL, real Redis)."""
    if database_url.startswith("sqlite"):
        return "memory://"
    return await fresh_redis()


@pytest.fixture
async def server_factory(tmp_path: Path, database_url: str,
                         broker_url: str) -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    stops: list[Callable[[], Awaitable[None]]] = []

    async def factory(**overrides: Any) -> Running:
        running, stop = await start_server(make_settings(tmp_path, database_url, broker_url, **overrides))
        stops.append(stop)
        return running

    yield factory
    for stop in reversed(stops):
        await stop()


@pytest.fixture
async def server(server_factory: Callable[..., Awaitable[Running]]) -> Running:
    return await server_factory()


class LogLines(logging.Handler):
    """The warnings and errors logged during a test, as the lines a reader would see."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    handler = LogLines()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@asynccontextmanager
async def two_nodes(tmp_path: Path, broker_url: str) -> AsyncIterator[tuple[Running, Running]]:
    """Two nodes in this process sharing one SQLite file and the broker at ``broker_url``,
    with the account "anna" that both know."""
    database = f"sqlite:///{tmp_path / 'var' / 'jourchatt.sqlite3'}"
    a, stop_a = await start_server(make_settings(tmp_path, database, broker_url))
    b, stop_b = await start_server(make_settings(tmp_path, database, broker_url))
    await a.add_account("anna")
    b.totp_secrets = a.totp_secrets
    try:
        yield a, b
    finally:
        await stop_b()
        await stop_a()

