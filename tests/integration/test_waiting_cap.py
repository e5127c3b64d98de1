"""The cap on visitors waiting per address: shared by every node, only waiting visitors
count, nothing leaks when a node goes, and only the address's keyed hash is kept."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import websockets

from chat import state as S
from chat.kernel.addresses import AddressHasher
from chat.kernel.broker import Broker, MemoryBroker
from chat.waiting import RESERVE_S, WAITING_TTL_S, WaitingCap, countable_address, waiting_key

from ..conftest import (CLIENT_OPTIONS, WS, Running, fresh_redis, make_settings, postgres_database,
                        start_server)

SECRET = b"waiting-cap-test-secret-" + b"s" * 16

SCHOOL = "198.51.100.7"        # one NAT address for a whole school
ELSEWHERE = "203.0.113.9"



async def _queue(broker: Broker, *chats: str, remove: bool = False) -> None:
    async def tx(t: Any) -> None:
        if remove:
            t.zrem(S.QUEUE, *chats)
        else:
            t.zadd(S.QUEUE, {c: 1.0 for c in chats})
            for c in chats:
                t.hset(S.chat_key(c), {"state": "queued"})
    await broker.transact(tx)


async def _dump(broker: Broker) -> str:
    if isinstance(broker, MemoryBroker):
        return str(broker.data)
    return str({k: await broker.r.dump(k) for k in await broker.r.keys("*")})  # type: ignore[attr-defined]


def test_only_an_address_that_is_one_clients_counts() -> None:
    def scope(peer: str, xff: str | None = None) -> dict[str, Any]:
        return {"client": (peer, 5000), "headers": [(b"x-forwarded-for", xff.encode())] if xff else []}

    assert countable_address(scope("8.8.8.8")) == "8.8.8.8"                       # a public peer
    assert countable_address(scope("2a00:1450::1")) == "2a00:1450::1"
    for proxy_like in ("127.0.0.1", "10.1.2.3", "172.18.0.5", "192.168.1.1", "::1", "fd00::1"):
        assert countable_address(scope(proxy_like)) is None                        # every visitor would share it
    assert countable_address(scope("127.0.0.1", SCHOOL), ("127.0.0.1",)) == SCHOOL  # a trusted proxy's header
    assert countable_address(scope("127.0.0.1", SCHOOL)) is None                   # an untrusted header is ignored
    assert countable_address(scope("10.0.0.5"), ("10.0.0.0/8",)) is None            # the proxy without a header
    # a private address forwarded by a trusted proxy (a terminator in front that sent no header)
    assert countable_address(scope("10.0.0.5", "172.17.0.1"), ("10.0.0.0/8",)) is None
    assert countable_address({"client": None, "headers": []}) is None


async def test_only_waiting_chats_count_and_a_place_frees_when_one_leaves_the_queue(broker: Broker) -> None:
    cap = WaitingCap(broker, AddressHasher(broker, SECRET), limit=2)
    for chat in ("c1", "c2"):
        place = await cap.reserve(SCHOOL)
        assert not place.refused
        await _queue(broker, chat)
        await cap.settle(place, chat)
    assert await cap.waiting(SCHOOL) == 2
    assert (await cap.reserve(SCHOOL)).refused
    assert not (await cap.reserve(ELSEWHERE)).refused          # another address is not affected
    await _queue(broker, "c1", remove=True)                    # taken by a volunteer, or ended
    assert await cap.waiting(SCHOOL) == 1
    again = await cap.reserve(SCHOOL)
    assert not again.refused
    await cap.settle(again, None)                              # turned away later (e.g. out of hours)
    assert await cap.waiting(SCHOOL) == 1
    assert not (await cap.reserve(None)).refused               # no address: nothing to count


async def test_reservations_of_a_node_that_died_expire(broker: Broker) -> None:
    now = [1000.0]
    cap = WaitingCap(broker, AddressHasher(broker, SECRET), limit=2, clock=lambda: now[0])
    assert not (await cap.reserve(SCHOOL)).refused             # never settled: the node died
    assert not (await cap.reserve(SCHOOL)).refused
    assert (await cap.reserve(SCHOOL)).refused
    now[0] += RESERVE_S + 1
    assert await cap.waiting(SCHOOL) == 0
    assert not (await cap.reserve(SCHOOL)).refused


async def test_only_the_keyed_hash_is_kept_and_the_count_expires(broker: Broker) -> None:
    hasher = AddressHasher(broker, SECRET)
    cap = WaitingCap(broker, hasher, limit=5)
    place = await cap.reserve(SCHOOL)
    await _queue(broker, "c1")
    await cap.settle(place, "c1")
    key = waiting_key(await hasher.hash(SCHOOL))  # type: ignore[arg-type]
    if isinstance(broker, MemoryBroker):
        import time
        ttl = broker.expires[key] - time.time()
    else:
        ttl = float(await broker.r.ttl(key))  # type: ignore[attr-defined]
    assert 0 < ttl <= WAITING_TTL_S
    assert SCHOOL not in await _dump(broker)


async def test_two_nodes_racing_never_let_more_than_the_cap_wait(broker: Broker) -> None:
    """Two nodes (two broker clients on one Redis) handle 30 hellos at once from one address."""
    if isinstance(broker, MemoryBroker):
        other: Broker = broker
    else:
        from chat.kernel.broker.redis import RedisBroker
        other = RedisBroker(broker.url)
        await other.start()
    try:
        caps = [WaitingCap(b, AddressHasher(b, SECRET), limit=5) for b in (broker, other)]
        places = await asyncio.gather(*(caps[i % 2].reserve(SCHOOL) for i in range(30)))
        assert sum(not p.refused for p in places) == 5
        assert await caps[1].waiting(SCHOOL) == 5
    finally:
        if other is not broker:
            await other.close()


# -- over real sockets -------------------------------------------------------------------

async def _visitor(server: Running, address: str, hello: dict[str, Any] | None = None) -> WS:
    ws = WS(await websockets.connect(f"ws://127.0.0.1:{server.port}/ws/visitor",
                                     additional_headers={"X-Forwarded-For": address}, **CLIENT_OPTIONS))
    server.clients.append(ws)
    await ws.send({"type": "hello", "lang": "sv", **(hello or {})})
    return ws


async def _refused(ws: WS) -> dict[str, Any]:
    assert (await ws.expect("welcome"))["open"] is False
    closed = await ws.expect("closed")
    assert await ws.closed() == 1000
    return closed


async def test_one_more_than_the_cap_gets_closed_network_full_and_others_get_in(server_factory: Any) -> None:
    server: Running = await server_factory(trusted_proxies="127.0.0.1", max_waiting_per_address=2)
    a = await _visitor(server, SCHOOL)
    token = (await a.expect("welcome"))["resume_token"]
    await a.expect("queued")
    b = await _visitor(server, SCHOOL)
    await b.expect("queued")

    c = await _visitor(server, SCHOOL)
    closed = await _refused(c)
    assert closed["reason"] == "network_full"
    assert closed["text"].startswith("Många på samma nätverk som du väntar redan i chatten.")
    assert any(s["id"] == "emergency-112" for s in closed["services"])
    english = await _refused(await _visitor(server, SCHOOL, {"lang": "en"}))
    assert english["text"].startswith("Many people on the same network")

    other = await _visitor(server, ELSEWHERE)                   # another address gets in
    await other.expect("queued")
    # A waiting visitor whose connection drops resumes at the cap: it is already counted.
    await a.close()
    a2 = await _visitor(server, SCHOOL, {"resume": token, "last_seq": 0})
    assert (await a2.expect("welcome"))["resumed"] is True
    # A chat that leaves the queue frees its place at once.
    await b.send({"type": "leave"})
    await b.expect("ended")
    d = await _visitor(server, SCHOOL)
    await d.expect("queued")
    # ... and so does a chat a volunteer takes: chatting visitors do not count.
    await server.add_account("anna")
    vol = await server.volunteer("anna")
    await vol.expect("assigned")
    await a2.expect("assigned")
    # No key ties a chat that was taken (a2's, just now: no hello since has pruned the count)
    # to the address hash: the count names only chats still waiting.
    broker = server.app.state.broker
    if isinstance(broker, MemoryBroker):
        counts = {k: list(v) for k, v in broker.data.items() if k.startswith("jc:waiting:")}
    else:
        counts = {k: await broker.r.zrange(k, 0, -1)  # type: ignore[attr-defined]
                  async for k in broker.r.scan_iter(match="jc:waiting:*")}  # type: ignore[attr-defined]
    assert counts, "the school's address is counted"
    queued = {c for c, _ in await broker.read(lambda t: t.zrange(S.QUEUE, watch=False))}
    named = {m[2:] for members in counts.values() for m in members if m.startswith("c:")}
    assert named and named <= queued, (named, queued)
    e = await _visitor(server, SCHOOL)
    await e.expect("queued")
    assert (await _refused(await _visitor(server, SCHOOL)))["reason"] == "network_full"
    assert await server.app.state.waiting.waiting(SCHOOL) == 2


async def test_without_a_client_address_nobody_is_counted(server_factory: Any) -> None:
    """Every test client comes from 127.0.0.1, as every visitor would behind an unlisted proxy."""
    server: Running = await server_factory(max_waiting_per_address=1)
    for _ in range(3):
        await (await server.visitor({"lang": "sv"})).expect("queued")


async def test_two_nodes_share_the_count_and_a_stopped_node_leaks_nothing(
        tmp_path: Path, fast_timers: None) -> None:
    """Two nodes behind one balancer on a real Redis agree on the count; when one stops,
    its waiting visitors count until their grace runs out, then their places are free."""
    async with postgres_database() as db_url:
        redis_url = await fresh_redis()
        settings = dict(trusted_proxies="127.0.0.1", max_waiting_per_address=2, visitor_grace_s=1)
        node_a, stop_a = await start_server(make_settings(tmp_path / "a", db_url, redis_url, **settings))
        node_b, stop_b = await start_server(make_settings(tmp_path / "b", db_url, redis_url, **settings))
        stopped = False
        try:
            await (await _visitor(node_a, SCHOOL)).expect("queued")
            await (await _visitor(node_b, SCHOOL)).expect("queued")
            assert (await _refused(await _visitor(node_a, SCHOOL)))["reason"] == "network_full"
            assert (await _refused(await _visitor(node_b, SCHOOL)))["reason"] == "network_full"
            await stop_a()                                      # node A goes, with its visitor
            stopped = True
            assert (await _refused(await _visitor(node_b, SCHOOL)))["reason"] == "network_full"
            for _ in range(100):                                # its grace (1 s) runs out
                if await node_b.app.state.waiting.waiting(SCHOOL) == 1:
                    break
                await asyncio.sleep(0.05)
            await (await _visitor(node_b, SCHOOL)).expect("queued")
            assert (await _refused(await _visitor(node_b, SCHOOL)))["reason"] == "network_full"
        finally:
            await stop_b()
            if not stopped:
                await stop_a()
