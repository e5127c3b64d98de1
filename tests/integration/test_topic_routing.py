"""Topic routing through the real server, on both broker pairs (memory + SQLite, Redis +
PostgreSQL), and across two nodes sharing one Redis: the contract's "Topic and specialists"."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable

from sqlalchemy import select

from chat import state as S
from referral.record import ChatRecord

from ..conftest import Running, fresh_redis, two_nodes

WAIT_S = 1.5     # JOURCHATT_SPECIALIST_WAIT_S for these tests


async def records(server: Running, n: int) -> list[ChatRecord]:
    for _ in range(200):
        async with server.app.state.db() as session:
            rows = list((await session.scalars(select(ChatRecord))).all())
        if len(rows) >= n:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {n} records")


async def finish(vol: Any, chat: str, topic: str) -> None:
    await vol.send({"type": "end", "chat": chat})
    await vol.expect("ended")
    await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": topic}})
    await vol.expect("wrapup_saved")


async def test_a_topic_chat_goes_to_the_specialist_even_when_another_is_freer(
        server_factory: Callable[..., Awaitable[Running]]) -> None:
    server = await server_factory(specialist_wait_s=WAIT_S)
    await server.add_account("anna")
    await server.add_account("sara", skills=("uses_violence",))
    anna = await server.volunteer("anna")            # idle the longest: she would get a plain chat
    sara = await server.volunteer("sara")
    vis = await server.visitor({"lang": "sv", "topic": "uses_violence"})
    assert (await vis.expect("assigned"))["volunteer"] == "Sara"
    assigned = await sara.expect("assigned")
    assert assigned["intake"] == {"topic": "uses_violence"}       # the console shows the topic
    await anna.none_of("assigned")
    plain = await server.visitor({"lang": "sv"})
    assert (await plain.expect("assigned"))["volunteer"] == "Anna"
    await finish(sara, assigned["chat"], "uses_violence")
    rows = await records(server, 1)
    assert (rows[0].intake_topic, rows[0].specialist, rows[0].topic) == ("uses_violence", True, "uses_violence")


async def test_a_kept_chat_blocks_nobody_and_falls_back_to_anyone_after_the_wait(
        server_factory: Callable[..., Awaitable[Running]], fast_timers: None) -> None:
    server = await server_factory(specialist_wait_s=WAIT_S)
    await server.add_account("anna", capacity=2)
    await server.add_account("sara", skills=("uses_violence",))
    sara = await server.volunteer("sara")
    first = await server.visitor({"lang": "sv", "topic": "uses_violence"})
    await first.expect("assigned")
    await sara.expect("assigned")                     # the only specialist is busy now
    kept = await server.visitor({"lang": "sv"})
    queued = await kept.expect("queued")
    assert queued["position"] == 1 and queued["estimated_wait_s"] > 0
    await kept.send({"type": "intake", "topic": "uses_violence"})    # answered while waiting
    await asyncio.sleep(0.2)
    anna = await server.volunteer("anna")             # free, but not a specialist: it stays kept
    await kept.none_of("assigned", 0.3)
    behind = await server.visitor({"lang": "sv"})
    assert (await behind.expect("assigned"))["volunteer"] == "Anna"  # not blocked by the kept chat
    assert (await kept.expect("assigned", timeout=WAIT_S + 5))["volunteer"] == "Anna"   # fell back
    chats = {(await anna.expect("assigned"))["chat"] for _ in range(2)}
    assert len(chats) == 2
    for chat in chats:
        await finish(anna, chat, "other")
    rows = await records(server, 2)
    assert sorted((r.intake_topic or "", r.specialist) for r in rows) == [("", None), ("uses_violence", False)]


async def test_with_no_specialist_on_duty_the_chat_goes_at_once(
        server_factory: Callable[..., Awaitable[Running]]) -> None:
    server = await server_factory(specialist_wait_s=60)
    await server.add_account("anna")
    await server.add_account("sara", skills=("uses_violence",))
    sara = await server.volunteer("sara", available=False)           # console open but paused
    await server.volunteer("anna")
    vis = await server.visitor({"lang": "sv", "topic": "uses_violence"})
    assert (await vis.expect("assigned", timeout=3))["volunteer"] == "Anna"
    await sara.none_of("assigned")


async def test_a_supervisor_hands_a_kept_chat_to_anyone_at_once(
        server_factory: Callable[..., Awaitable[Running]]) -> None:
    server = await server_factory(specialist_wait_s=600)
    await server.add_account("anna")
    await server.add_account("sara", skills=("uses_violence",))
    await server.add_account("stina", role="supervisor")
    sara = await server.volunteer("sara")
    first = await server.visitor({"lang": "sv", "topic": "uses_violence"})
    await first.expect("assigned")
    await sara.expect("assigned")
    anna = await server.volunteer("anna")
    kept = await server.visitor({"lang": "sv", "topic": "uses_violence"})
    await kept.expect("queued")
    await kept.none_of("assigned", 0.5)
    sup = await server.volunteer("stina", available=False)
    await sup.send({"type": "supervise", "active": True})
    overview = await sup.expect("overview")
    on_duty = {v["display_name"]: v for v in overview["volunteers"]}
    assert on_duty["Sara"]["skills"] == ["uses_violence"] and on_duty["Sara"]["state"] == "available"
    assert on_duty["Anna"]["skills"] == []
    waiting = [c for c in overview["chats"] if "specialist_wait_s" in c]
    assert [c["topic"] for c in waiting] == ["uses_violence"] and overview["queue"]["for_specialist"] == 1
    assert 0 < waiting[0]["specialist_wait_s"] <= 600
    await sup.send({"type": "route_any", "chat": waiting[0]["chat"]})
    assert (await sup.expect("routed_any"))["chat"] == waiting[0]["chat"]
    assert (await kept.expect("assigned"))["volunteer"] == "Anna"
    await anna.expect("assigned")


async def test_language_together_with_skill(server_factory: Callable[..., Awaitable[Running]]) -> None:
    server = await server_factory(specialist_wait_s=WAIT_S)
    await server.add_account("anna", languages="sv,en")
    await server.add_account("sara", skills=("uses_violence",), languages="sv")
    await server.add_account("emil", skills=("uses_violence",), languages="sv,en")
    await server.volunteer("anna")
    await server.volunteer("sara")
    await server.volunteer("emil")
    vis = await server.visitor({"lang": "en", "topic": "uses_violence"})
    assert (await vis.expect("assigned"))["volunteer"] == "Emil"


async def test_two_nodes_route_a_topic_chat_to_the_specialist_on_the_other_node(tmp_path: Path) -> None:
    async with two_nodes(tmp_path, await fresh_redis()) as (a, b):
        await a.add_account("sara", skills=("uses_violence",))
        b.totp_secrets = a.totp_secrets
        await a.volunteer("anna")
        sara = await b.volunteer("sara")
        vis = await a.visitor({"lang": "sv", "topic": "uses_violence"})
        assert (await vis.expect("assigned"))["volunteer"] == "Sara"
        chat = (await sara.expect("assigned"))["chat"]

        async def read(tx: Any) -> dict[str, str]:
            return await tx.hgetall(S.chat_key(chat), watch=False)

        raw = await a.app.state.hub.live.broker.read(read)
        assert raw["spec"] == "1"
        assert "uses_violence" not in repr(raw)          # the topic crosses Redis sealed only


async def test_two_hubs_racing_over_topic_chats_never_double_assign(tmp_path: Path) -> None:
    """Two hubs, each with its own Redis connections, match one queue of topic and plain
    chats at once: each chat once, nobody over capacity, every topic chat to a specialist."""
    import secrets as _secrets

    from chat.hub import Hub
    from chat.kernel.broker import create_broker
    from chat.live.context import SKILL_SEQ

    from ..conftest import make_settings

    url = await fresh_redis()
    settings = make_settings(tmp_path, "sqlite:///unused", url)
    brokers = [create_broker(url), create_broker(url)]
    hubs = [Hub(settings, br, None, node=f"node{i}") for i, br in enumerate(brokers)]  # type: ignore[arg-type]
    try:
        live = hubs[0].live
        now = live.clock()
        vols = {"s0": 2, "s1": 1, "p0": 2, "p1": 1}              # six slots, three of them specialists'
        topic = {f"c{i}" for i in (1, 4, 5)}                       # three topic chats among the first six

        async def setup(tx: Any) -> None:
            tx.zadd(S.NODES, {"node0": now, "node1": now})
            for k, (vid, cap) in enumerate(vols.items()):
                vol = S.VolState(id=vid, node=f"node{k % 2}", conn="c", wants=True, capacity=cap,
                                 langs=frozenset({"sv"}), idle_since=now - k,
                                 skills=frozenset({"uses_violence"}) if vid.startswith("s") else frozenset())
                tx.hset(S.vol_key(vid), vol.dump())
                tx.sadd(S.VOLS, vid)
            for i in range(10):
                st = S.ChatState(id=f"c{i}", state="queued", started=now + i, lang="sv", last_act=now,
                                 token=_secrets.token_hex(8))
                if st.id in topic:
                    st.skill = live.seal(st.id, "uses_violence", SKILL_SEQ)
                tx.hset(S.chat_key(st.id), st.dump())
                tx.zadd(S.QUEUE, {st.id: st.started})

        await brokers[0].transact(setup)
        results = await asyncio.gather(*(h.live.commit(h.matching._tx_match) for h in hubs for _ in range(3)))
        pairs = [p for r in results for p in r]
        chats = [c for c, _ in pairs]
        assert len(chats) == len(set(chats)) == 6
        given = dict(pairs)
        assert all(given[c].startswith("s") for c in topic)          # every topic chat to a specialist

        async def read(tx: Any) -> list[dict[str, str]]:
            return await tx.hgetall_many([S.vol_key(v) for v in vols])

        for (vid, cap), raw in zip(vols.items(), await brokers[0].read(read)):
            assert len([x for x in raw["chats"].split(",") if x]) == cap
    finally:
        for br in brokers:
            await br.close()
