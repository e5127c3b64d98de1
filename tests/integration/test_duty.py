"""On-duty time across two nodes on one Redis: counted once a minute, once per volunteer.

Both nodes run their housekeeping on a clock the test moves (``hub.clock``), and the
test ticks both nodes after each move as well, so each minute is claimed by one of
them (whichever comes first) and counted once: a volunteer whose console moves from
one node to the other, or who has a console on each, is one volunteer on duty. A
dropped console goes on counting through the grace period and stops after it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from chat import hub as hub_module
from chat.live import duty as live_duty
from volunteer.duty import DutyDay
from volunteer.models import Account

from ..conftest import Running, fresh_redis, two_nodes


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


async def minutes(node: Running) -> dict[str, tuple[int, int]]:
    """username -> (on duty, in a chat) minutes, all days."""
    async with node.app.state.db() as session:
        rows = (await session.execute(select(Account.username, DutyDay.on_duty_min, DutyDay.in_chat_min)
                                      .join(Account, Account.id == DutyDay.account_id))).all()
    out: dict[str, tuple[int, int]] = {}
    for name, on, chat in rows:
        before = out.get(name, (0, 0))
        out[name] = (before[0] + on, before[1] + chat)
    return out


async def step(clock: Clock, nodes: tuple[Running, Running], seconds: float) -> None:
    """Move the clock, then let both nodes tick (each may try to claim the minute)."""
    clock.t += seconds
    for node in nodes:                   # both beat first: a jump of a minute must not look like a dead node
        await node.hub.timers.beat()
    for node in nodes:
        await node.hub.tick()


def test_the_duty_table_can_hold_no_chat_and_no_time_of_day() -> None:
    assert [c.name for c in DutyDay.__table__.columns] == ["account_id", "day", "on_duty_min", "in_chat_min"]


def test_on_duty_is_pure_about_presence_and_grace() -> None:
    beats = {"n1": 1000.0}
    assert live_duty.on_duty({"capacity": "1", "node": "n1", "wants": "1"}, "v", beats, 1001, 20) == (True, False)
    assert live_duty.on_duty({"capacity": "1", "node": "n1", "wants": "0"}, "v", beats, 1001, 20) == (False, False)
    assert live_duty.on_duty({"capacity": "1", "node": "n1", "wants": "0", "chats": "c1"}, "v", beats,
                             1001, 20) == (True, True)
    assert live_duty.on_duty({"capacity": "1", "node": "n1", "wants": "1"}, "v", beats, 1010, 20) == (False, False)
    gone = {"capacity": "1", "node": "", "wants": "1", "gone": "1000.0"}
    assert live_duty.on_duty(gone, "v", beats, 1019, 20) == (True, False)
    assert live_duty.on_duty(gone, "v", beats, 1021, 20) == (False, False)
    assert live_duty.on_duty({}, "v", beats, 1001, 20) == (False, False)


async def test_two_nodes_count_each_minute_once_and_a_dropped_console_stops_after_grace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "HOUSEKEEPING_TICK_S", 0.05)      # the background ticks race ours
    async with two_nodes(tmp_path, await fresh_redis()) as (a, b):
        await a.add_account("bert")
        b.totp_secrets = a.totp_secrets
        # The start of a minute, a day ahead (no real minute of this run is ever this one).
        clock = Clock((datetime.now(timezone.utc).timestamp() // 60 + 24 * 60) * 60 + 1)
        a.hub.clock = b.hub.clock = clock
        nodes = (a, b)
        await step(clock, nodes, 0)

        anna_a = await a.volunteer("anna")
        anna_b = await b.volunteer("anna")            # the same volunteer on the other node: replaces a's
        bert = await b.volunteer("bert", available=False)
        await asyncio.sleep(0.2)
        for _ in range(5):
            await step(clock, nodes, 60)
        assert await minutes(a) == {"anna": (5, 0)}   # bert is paused: not on duty

        # A visitor: anna takes the chat and is in a chat from then on.
        vis = await a.visitor({"lang": "sv"})
        await vis.expect("welcome")
        assigned = await anna_b.expect("assigned")
        await vis.expect("assigned")
        for _ in range(3):
            await step(clock, nodes, 60)
        assert await minutes(b) == {"anna": (8, 3)}

        # bert becomes available on b; 45 s into the minute anna's console drops.
        await bert.send({"type": "status", "state": "available"})
        await bert.expect("status")
        await step(clock, nodes, 45)
        await anna_b.close()
        await asyncio.sleep(0.3)
        await step(clock, nodes, 15)         # a new minute, 15 s after the drop: within the grace period
        found = await minutes(a)
        assert found["anna"] == (9, 4) and found["bert"] == (1, 0)
        for _ in range(3):                   # past the grace period: anna no longer counts
            await step(clock, nodes, 60)
        found = await minutes(a)
        assert found["anna"] == (9, 4) and found["bert"][0] == 4

        first = datetime.fromtimestamp(clock.t - 13 * 60, timezone.utc).astimezone(ZoneInfo("Europe/Stockholm"))
        last = datetime.fromtimestamp(clock.t, timezone.utc).astimezone(ZoneInfo("Europe/Stockholm"))
        async with a.app.state.db() as session:
            days = set((await session.scalars(select(DutyDay.day))).all())
        assert days <= {first.date(), last.date()}
        assert assigned["chat"]
        del anna_a
