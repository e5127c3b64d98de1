"""On-duty time with real ``jourchatt serve`` processes on one Redis and PostgreSQL, on the
real clock: two nodes both try to claim every minute, and each volunteer's minutes are
the minutes that passed, not twice as many; a volunteer whose console moved from one
node to the other counts once. (The clock-driven cases, the dropped console and its
grace period, are in test_duty.py.)"""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from chat.live.duty import DUTY_KEY

from .test_many_nodes import cluster, recv

pytestmark = pytest.mark.slow


async def duty_minutes(db_url: str) -> dict[str, tuple[int, int]]:
    con = await asyncpg.connect(db_url)
    try:
        rows = await con.fetch("SELECT a.username, sum(d.on_duty_min), sum(d.in_chat_min) FROM volunteer_duty d "
                               "JOIN accounts a ON a.id = d.account_id GROUP BY a.username")
    finally:
        await con.close()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


async def test_two_processes_count_each_minute_once(tmp_path: Path) -> None:
    async with cluster(tmp_path) as c:
        a, b = await c.node(), await c.node()
        # Start well inside a minute, so that no boundary falls while the consoles connect,
        # and only once this minute has been claimed: a node's first tick may come seconds
        # after it answers, and would count the minute with whoever had connected by then.
        r = aioredis.from_url(c.env["JOURCHATT_BROKER_URL"], decode_responses=True)
        try:
            while True:
                now = time.time()
                claimed = await r.get(DUTY_KEY)
                if 5 <= now % 60 <= 40 and claimed is not None and int(claimed) >= int(now // 60):
                    break
                await asyncio.sleep(0.5)
        finally:
            await r.aclose()
        anna_a = await a.volunteer("anna")
        anna_b = await b.volunteer("anna")           # the same account on the other node: replaces a's
        bo = await a.volunteer("bo")
        connected = time.time()
        vis = await b.visitor({"lang": "sv"})
        await recv(vis, "assigned")
        # Two minute boundaries pass; each node ticks every second and tries to claim each.
        check = (math.floor(connected / 60) + 2) * 60 + 5
        await asyncio.sleep(check - time.time())
        minutes = await duty_minutes(c.env["JOURCHATT_DATABASE_URL"])
        assert minutes["anna"][0] == 2 and minutes["bo"][0] == 2, minutes
        # One of them holds the chat for both minutes, the other none.
        assert sorted(m[1] for m in minutes.values()) == [0, 2]
        for ws in (anna_a, anna_b, bo, vis):
            await ws.close()
        log = "".join(p.read_text() for p in tmp_path.glob("node-*.log"))
        assert "duty.unwritten" not in log and "Traceback" not in log
