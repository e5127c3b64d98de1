"""PostgreSQL lost while running: 503 ``unavailable``, never 500; chats go on; records wait.

The node reaches a real PostgreSQL (a database of the test's own) through a small
TCP proxy in the test, which the test stops (its port closed, every connection
through it cut) and starts again on the same port. While it is stopped every HTTP
route that needs the database answers 503 ``{"error": "unavailable"}``, a console
that connects is told ``unavailable`` and closed 1013, the live chat goes on, and
the record of a chat that ends meanwhile is kept and written once the database is
back. Right after it is back, requests succeed again (the pool heals).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import AsyncIterator

import asyncpg
import httpx
import pytest
import websockets

from urllib.parse import urlsplit

from chat.kernel import db
from chat import hub as hub_module
from chat.live import records as records_module
from referral.store import PARTNER_KEY_PREFIX

from ..conftest import CLIENT_OPTIONS, Running, fresh_redis, free_port, make_settings, postgres_database, start_server

pytestmark = pytest.mark.slow

CSRF = {"X-Jourchatt-CSRF": "1"}


class Proxy:
    """A TCP proxy to PostgreSQL that the test can stop (port closed, links cut) and start again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.links):
            writer.transport.abort()            # cut, as a lost link would be
        await self.server.wait_closed()
        self.server = None
        while self.links:
            await asyncio.sleep(0.01)

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass

        ends = [asyncio.create_task(pipe(reader, up_writer)), asyncio.create_task(pipe(up_reader, writer))]
        await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        for w in (writer, up_writer):           # one side went: the other goes too
            w.transport.abort()
        await asyncio.wait(ends)
        self.links -= {writer, up_writer}


@pytest.fixture
async def proxied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Running, Proxy, str]]:
    monkeypatch.setattr(hub_module, "HOUSEKEEPING_TICK_S", 0.05)
    monkeypatch.setattr(records_module, "RECORD_RETRY_MAX_S", 0.5)
    async with postgres_database() as direct:
        await db.upgrade_async(direct)
        # The session's PostgreSQL (tests/servers.py), reached through the proxy.
        where = urlsplit(direct)
        assert where.hostname and where.port, direct
        proxy = Proxy((where.hostname, where.port))
        await proxy.start()
        through = direct.replace(f"{where.hostname}:{where.port}", f"127.0.0.1:{proxy.port}")
        assert through != direct
        running, stop = await start_server(make_settings(tmp_path, through, await fresh_redis()))
        try:
            yield running, proxy, direct
        finally:
            if proxy.server is None:
                await proxy.start()
            await stop()
            if proxy.server is not None:
                await proxy.stop()


async def count_records(direct: str) -> int:
    conn = await asyncpg.connect(direct)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM chat_records"))
    finally:
        await conn.close()


async def test_database_lost_gives_503_keeps_the_chats_and_writes_the_records_after(
        proxied: tuple[Running, Proxy, str]) -> None:
    server, proxy, direct = proxied
    await server.add_account("anna")
    await server.add_account("bo")
    await server.add_account("cecilia", role="coordinator")
    coordinator = await server.login("cecilia")
    vol = await server.volunteer("anna")
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("assigned", timeout=10)
    chat = (await vol.expect("assigned", timeout=10))["chat"]
    before = await count_records(direct)

    await proxy.stop()
    async with httpx.AsyncClient(base_url=server.http, headers=CSRF) as c:
        answers = {
            "login": await c.post("/api/login", json={"username": "bo", "password": "x" * 12, "otp": "000000"}),
            "me": await c.get("/api/me", headers={"Cookie": coordinator}),
            "stats": await c.get("/api/stats?from=2026-01-01&to=2026-12-31", headers={"Cookie": coordinator}),
            "partnerships": await c.get("/api/partnerships", headers={"Cookie": coordinator}),
            "snippets": await c.get("/api/snippets", headers={"Cookie": coordinator}),
            "directory": await c.get("/api/referrals/directory", headers={"Cookie": coordinator}),
            "accounts": await c.get("/api/admin/accounts", headers={"Cookie": coordinator}),
            "redeem": await c.post("/api/referrals/redeem", json={"code": "K7QM3-XRT9C"},
                                   headers={"Authorization": f"Bearer {PARTNER_KEY_PREFIX}x"}),
            "logout": await c.post("/api/logout", headers={"Cookie": coordinator}),
        }
        for name, r in answers.items():
            assert r.status_code == 503, (name, r.status_code, r.text)
            assert r.json()["error"] == "unavailable", (name, r.text)
            assert r.headers["retry-after"] == "5"
        # The public opening hours come from the node's cache: the widget still knows them.
        assert (await c.get("/api/opening-hours")).status_code == 200
        ready = await c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("unavailable: ")

    # A console that connects now is told so, plainly.
    console = await websockets.connect(f"ws://127.0.0.1:{server.port}/ws/volunteer",
                                       additional_headers={"Cookie": coordinator}, **CLIENT_OPTIONS)
    frame = json.loads(await asyncio.wait_for(console.recv(), 5))
    assert frame["type"] == "error" and frame["code"] == "unavailable"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(console.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013

    # A young person who opens the widget now still gets in line.
    waiting = await server.visitor({"lang": "sv"})
    assert (await waiting.expect("welcome"))["open"] is True
    await waiting.expect("queued")
    await waiting.send({"type": "leave"})
    await waiting.expect("ended")

    # The live chat goes on, and ends; its record waits for the database.
    await vis.send({"type": "message", "id": "v1", "text": "hör du mig?"})
    await vis.expect("ack")
    assert (await vol.line("visitor"))["text"] == "hör du mig?"
    await vol.send({"type": "end", "chat": chat})
    assert (await vis.expect("ended"))["by"] == "volunteer"
    await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": "exposed"}})
    await vol.expect("wrapup_saved")
    await asyncio.sleep(1.0)                     # the writer tries, and keeps the record

    await proxy.start()
    loop = asyncio.get_running_loop()
    back = loop.time()
    async with httpx.AsyncClient(base_url=server.http, headers=CSRF) as c:
        # The first request after the database is back succeeds (stale pooled links are replaced).
        r = await c.get("/api/me", headers={"Cookie": await server.login("bo")})
        assert r.status_code == 200, r.text
        assert (await c.get("/readyz")).status_code == 200
    # A new chat opens meanwhile as usual.
    vis2 = await server.visitor({"lang": "sv"})
    assert (await vis2.expect("welcome"))["open"] is True
    while await count_records(direct) < before + 2:
        assert loop.time() - back < 10, "the record was never written"
        await asyncio.sleep(0.1)
    assert await count_records(direct) == before + 2         # the chat, and the one that left


async def test_only_an_unreachable_database_is_a_503(tmp_path: Path) -> None:
    """A statement the database refused is a fault of ours (500), not an outage (503)."""
    from sqlalchemy import exc as sa_exc
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def refused(_request: Request) -> Response:
        raise sa_exc.IntegrityError("INSERT", {}, Exception("duplicate"))

    async def away(_request: Request) -> Response:
        raise sa_exc.OperationalError("SELECT 1", {}, Exception("connection lost"))

    running, stop = await start_server(make_settings(tmp_path, f"sqlite:///{tmp_path / 'var' / 'db.sqlite3'}",
                                                     "memory://"))
    running.app.router.routes += [Route("/refused", refused), Route("/away", away)]
    try:
        async with httpx.AsyncClient(base_url=running.http) as c:
            r = await c.get("/refused")
            assert r.status_code == 500 and r.json()["error"] == "internal_error"
            r = await c.get("/away")
            assert r.status_code == 503 and r.json()["error"] == "unavailable"
    finally:
        await stop()
