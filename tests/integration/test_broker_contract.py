"""Both brokers keep the contract of chat/kernel/broker/base.py: memory:// and a real Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from typing import Any

import pytest

from chat.kernel.broker import MAX_LOG_ENTRIES, BrokerError, LineWrite, create_broker

from ..conftest import fresh_redis



async def test_writes_apply_together_and_reads_within_see_the_old_state(broker: Any) -> None:
    async def fn(tx: Any) -> tuple[Any, ...]:
        tx.hset("jc:t:h", {"a": "1", "b": "2"})
        tx.zadd("jc:t:z", {"x": 2.0, "y": 1.0})
        tx.sadd("jc:t:s", "p", "q")
        tx.set("jc:t:k", "v")
        return await tx.hgetall("jc:t:h"), await tx.get("jc:t:k")

    assert await broker.transact(fn) == ({}, None)

    async def read(tx: Any) -> tuple[Any, ...]:
        return (await tx.hgetall("jc:t:h"), await tx.hget("jc:t:h", "b"), await tx.zrange("jc:t:z"),
                await tx.smembers("jc:t:s"), await tx.get("jc:t:k"), await tx.zcard("jc:t:z"),
                await tx.zscore("jc:t:z", "x"), await tx.zscore("jc:t:z", "nope"),
                await tx.hgetall_many(["jc:t:h", "jc:t:none"]))

    assert await broker.read(read) == (
        {"a": "1", "b": "2"}, "2", [("y", 1.0), ("x", 2.0)], {"p", "q"}, "v", 2, 2.0, None,
        [{"a": "1", "b": "2"}, {}])


async def test_sorted_set_ranges_limits_and_trimming(broker: Any) -> None:
    async def fill(tx: Any) -> None:
        tx.zadd("jc:t:log", {f"m{i}": float(i) for i in range(1, 11)})

    await broker.transact(fill)

    async def ranges(tx: Any) -> tuple[Any, ...]:
        return (await tx.zrangebyscore("jc:t:log", 8, math.inf),
                await tx.zrangebyscore("jc:t:log", -math.inf, 3, limit=2))

    assert await broker.read(ranges) == ([("m8", 8.0), ("m9", 9.0), ("m10", 10.0)], [("m1", 1.0), ("m2", 2.0)])

    async def move(tx: Any) -> None:
        tx.zadd("jc:t:log", {"m5": 0.5, "m0": 3.0})     # m5 moves to the front; m0 ties m3 (by member)

    await broker.transact(move)

    async def ranks(tx: Any) -> tuple[Any, ...]:
        return (await tx.zrank("jc:t:log", "m5"), await tx.zrank("jc:t:log", "m0"),
                await tx.zrank("jc:t:log", "m3"), await tx.zrank("jc:t:log", "m10"),
                await tx.zrank("jc:t:log", "nobody"), await tx.zrank("jc:t:none", "m1"),
                await tx.zrangebyscore("jc:t:log", 2, 3),
                [m for m, _ in await tx.zrange("jc:t:log")])

    assert await broker.read(ranks) == (
        0, 3, 4, 10, None, None, [("m2", 2.0), ("m0", 3.0), ("m3", 3.0)],
        ["m5", "m1", "m2", "m0", "m3", "m4", "m6", "m7", "m8", "m9", "m10"])

    async def back(tx: Any) -> None:
        tx.zrem("jc:t:log", "m0")
        tx.zadd("jc:t:log", {"m5": 5.0})

    await broker.transact(back)

    async def trim(tx: Any) -> None:
        tx.zremrangebyrank("jc:t:log", 0, -4)      # keep the newest three
        tx.zrem("jc:t:log", "m9")

    await broker.transact(trim)
    assert await broker.read(lambda tx: tx.zrange("jc:t:log")) == [("m8", 8.0), ("m10", 10.0)]


async def test_deletes_and_expiry(broker: Any) -> None:
    async def fn(tx: Any) -> None:
        tx.set("jc:t:short", "x", ex=0.05)
        tx.hset("jc:t:h", {"a": "1", "b": "2"})
        tx.expire("jc:t:h", 0.05)
        tx.hset("jc:t:keep", {"a": "1"})
        tx.sadd("jc:t:s", "a", "b")

    await broker.transact(fn)

    async def fn2(tx: Any) -> None:
        tx.hdel("jc:t:keep", "a")
        tx.srem("jc:t:s", "a")

    await broker.transact(fn2)
    await asyncio.sleep(0.15)

    async def read(tx: Any) -> tuple[Any, ...]:
        return (await tx.get("jc:t:short"), await tx.hgetall("jc:t:h"), await tx.hgetall("jc:t:keep"),
                await tx.smembers("jc:t:s"))

    assert await broker.read(read) == (None, {}, {}, {"b"})


async def test_concurrent_transactions_never_lose_an_update(broker: Any) -> None:
    """Fifty read-modify-write increments racing on one key: each counts once."""
    async def bump(tx: Any) -> None:
        value = int(await tx.get("jc:t:counter") or 0)
        await asyncio.sleep(0)          # let the others interleave (a real conflict on Redis)
        tx.set("jc:t:counter", str(value + 1))

    await asyncio.gather(*(broker.transact(bump) for _ in range(50)))
    assert await broker.read(lambda tx: tx.get("jc:t:counter")) == "50"


async def test_a_node_gets_its_channel_in_order_and_only_its_own(broker: Any) -> None:
    got: list[str] = []
    other: list[str] = []

    async def listen(node: str, into: list[str], n: int) -> None:
        async for message in broker.subscribe(node):
            into.append(message)
            if len(into) == n:
                return

    listener = asyncio.create_task(listen("node-a", got, 20))
    listener_b = asyncio.create_task(listen("node-b", other, 1))
    await asyncio.sleep(0.2)            # subscribed
    for i in range(20):
        async def fn(tx: Any, i: int = i) -> None:
            tx.publish("node-a", f"m{i}")
        await broker.transact(fn)

    async def fn_b(tx: Any) -> None:
        tx.publish("node-b", "for b")
        tx.publish("nobody-listens", "lost, like Pub/Sub")
    await broker.transact(fn_b)
    await asyncio.wait_for(asyncio.gather(listener, listener_b), 5)
    assert got == [f"m{i}" for i in range(20)]
    assert other == ["for b"]


async def test_an_aborted_transaction_writes_and_publishes_nothing(broker: Any) -> None:
    async def fn(tx: Any) -> None:
        tx.set("jc:t:k", "v")
        tx.publish("node-a", "never")
        raise ValueError("changed my mind")

    with pytest.raises(ValueError):
        await broker.transact(fn)
    assert await broker.read(lambda tx: tx.get("jc:t:k")) is None


def _line(side: str = "visitor", *, expect: int, id_key: str = "visitor|i:1", digest: str = "d1",
          sender: str = "", blob: str = "sealed-1") -> LineWrite:
    return LineWrite(chat="c1", chat_key="jc:t:chat", ids_key="jc:t:ids", log_key="jc:t:log",
                     vol_prefix="jc:t:vol:", side=side, sender=sender,
                     id_key=id_key, digest=digest, expect=expect, blob=blob, now=100.0,
                     ttl_s=60.0, node="here")


async def _chat(broker: Any, **fields: str) -> None:
    async def fn(tx: Any) -> None:
        tx.hset("jc:t:chat", {"state": "active", "seq": "0", "vol": "v1", "vnode": "here", **fields})
        tx.hset("jc:t:vol:v1", {"node": "there"})
    await broker.transact(fn)


async def test_append_line_numbers_logs_and_notifies_atomically(broker: Any) -> None:
    await _chat(broker, obs="s1@here,s2@far")
    notices: dict[str, Any] = {}

    async def listen(node: str) -> None:
        async for message in broker.subscribe(node):
            got = json.loads(message)
            notices[node] = got[0] if isinstance(got, list) else got
            return

    listener = asyncio.gather(listen("there"), listen("far"))
    await asyncio.sleep(0.2)            # subscribed
    result = await broker.append_line(_line(expect=1))
    assert (result.status, result.seq) == ("ok", 1)
    assert sorted(result.local) == [("observer", "s1")]          # readers here: delivered by the caller
    await asyncio.wait_for(listener, 5)
    assert notices["there"] == {"k": "line", "chat": "c1", "to": "volunteer", "seq": 1, "vid": "v1",
                                "blob": "sealed-1"}
    assert notices["far"]["to"] == "observer" and notices["far"]["vid"] == "s2"

    async def read(tx: Any) -> tuple[Any, ...]:
        return (await tx.hgetall("jc:t:chat"), await tx.hgetall("jc:t:ids"), await tx.zrange("jc:t:log"),
                await tx.zscore("jc:t:due", "idle:c1"))

    chat, ids, log, idle = await broker.read(read)
    assert (chat["seq"], chat["last_act"], chat["warned"]) == ("1", "100.0", "0")
    assert ids == {"visitor|i:1": "1|d1"} and log == [("sealed-1", 1.0)]
    assert idle is None                 # a line leaves the timers alone (the idle timer reads last_act)
    # the volunteer answers: the visitor (on this node) is a local reader, the observer far away hears it
    answer = await broker.append_line(_line("volunteer", expect=2, id_key="v1|i:1", sender="v1",
                                            blob="sealed-2"))
    assert (answer.status, answer.seq) == ("ok", 2)
    assert sorted(answer.local) == [("observer", "s1"), ("visitor", "v1")]


async def test_append_line_refuses_a_stale_seq_a_closed_chat_and_a_stranger(broker: Any) -> None:
    await _chat(broker)
    assert (await broker.append_line(_line(expect=1))).status == "ok"
    stale = await broker.append_line(_line(expect=1, id_key="visitor|i:2", blob="sealed-for-1"))
    assert (stale.status, stale.seq) == ("seq", 2)
    # a resend of line 1 (same id and digest) gets seq 1 again, and writes nothing
    resend = await broker.append_line(_line(expect=2))
    assert (resend.status, resend.seq) == ("dup", 1)
    # the same id with other text is a new line
    assert (await broker.append_line(_line(expect=2, digest="d2", blob="s2"))).seq == 2
    assert (await broker.append_line(_line("volunteer", expect=3, id_key="x|i:1", sender="v2"))).status \
        == "not_yours"
    assert await broker.read(lambda tx: tx.zrange("jc:t:log")) == [("sealed-1", 1.0), ("s2", 2.0)]

    async def end(tx: Any) -> None:
        tx.hset("jc:t:chat", {"state": "ended"})
    await broker.transact(end)
    assert (await broker.append_line(_line(expect=3, id_key="visitor|i:9"))).status == "closed"
    assert (await broker.append_line(_line("volunteer", expect=3, id_key="v1|i:9", sender="v1"))).status \
        == "ended"
    gone = dataclasses.replace(_line(expect=1), chat_key="jc:t:none")
    assert (await broker.append_line(gone)).status == "closed"


async def test_append_line_keeps_the_newest_lines_only(broker: Any) -> None:
    await _chat(broker, seq=str(MAX_LOG_ENTRIES), state="queued")

    async def fill(tx: Any) -> None:
        tx.zadd("jc:t:log", {f"b{seq}": float(seq) for seq in range(1, MAX_LOG_ENTRIES + 1)})
    await broker.transact(fill)
    result = await broker.append_line(_line(expect=MAX_LOG_ENTRIES + 1, blob="newest"))
    assert (result.status, result.local) == ("ok", ())      # queued: nobody to tell yet
    log = await broker.read(lambda tx: tx.zrange("jc:t:log"))
    assert len(log) == MAX_LOG_ENTRIES
    assert (log[0][0], log[-1][0]) == ("b2", "newest")


async def test_concurrent_lines_each_get_their_own_seq(broker: Any) -> None:
    """Lines of one chat racing (each sealed for the seq its sender expected) and of
    other chats at once: every line gets one seq, none is lost (Redis batches them)."""
    await _chat(broker)
    chats = ["c1"] + [f"c{i}" for i in range(2, 6)]

    async def other(tx: Any) -> None:
        for chat in chats[1:]:
            tx.hset(f"jc:t:chat{chat}", {"state": "queued", "seq": "0"})
    await broker.transact(other)

    async def send(chat: str, n: int) -> int:
        key = "jc:t:chat" if chat == "c1" else f"jc:t:chat{chat}"
        expect = 1
        while True:
            result = await broker.append_line(dataclasses.replace(
                _line(expect=expect, id_key=f"visitor|i:{n}", blob=f"{chat}-{n}-{expect}"),
                chat=chat, chat_key=key, ids_key=key + ":ids", log_key=key + ":log"))
            if result.status != "seq":
                assert result.status == "ok"
                return result.seq
            expect = result.seq

    heard: list[int] = []

    async def listen() -> None:
        async for message in broker.subscribe("there"):       # c1's volunteer's node
            got = json.loads(message)
            heard.extend(n["seq"] for n in (got if isinstance(got, list) else [got]))
            if len(heard) == 10:
                return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.2)            # subscribed
    seqs = await asyncio.gather(*(send(chat, n) for chat in chats for n in range(10)))
    await asyncio.wait_for(listener, 5)
    assert sorted(heard) == list(range(1, 11))          # one notice per line, none lost or doubled
    for i in range(len(chats)):
        assert sorted(seqs[i * 10:(i + 1) * 10]) == list(range(1, 11))
    log = await broker.read(lambda tx: tx.zrange("jc:t:chat:log"))
    # each line is logged once, sealed for the seq it got
    assert [int(m.rsplit("-", 1)[1]) for m, _ in log] == list(range(1, 11))


async def test_redis_loads_the_line_script_when_redis_does_not_know_it() -> None:
    """After a Redis restart its scripts are gone (NOSCRIPT): the lines still go through."""
    broker = create_broker(await fresh_redis())
    await broker.start()
    try:
        await _chat(broker)
        broker._line_sha = "0" * 40                 # a script Redis has never seen
        results = await asyncio.gather(*(broker.append_line(_line(expect=1, id_key=f"visitor|i:{n}",
                                                                  blob=f"b{n}")) for n in range(3)))
        assert [(r.status, r.seq) for r in results] == [("ok", 1), ("seq", 2), ("seq", 2)]
        assert await broker.read(lambda tx: tx.zrange("jc:t:log")) == [("b0", 1.0)]
    finally:
        await broker.close()


async def test_a_closed_broker_refuses_every_operation(broker: Any) -> None:
    await broker.close()
    with pytest.raises(BrokerError):
        await broker.ping()
    with pytest.raises(BrokerError):
        await broker.read(lambda tx: tx.get("jc:t:k"))


async def test_an_unreachable_redis_is_a_broker_error_not_a_crash() -> None:
    broker = create_broker("redis://127.0.0.1:1/0")
    await broker.start()
    try:
        with pytest.raises(BrokerError):
            await broker.ping()

        async def fn(tx: Any) -> None:
            tx.set("k", "v")
        with pytest.raises(BrokerError):
            await broker.transact(fn)
    finally:
        await broker.close()


async def test_a_reconnect_callback_that_cannot_reach_redis_is_retried_not_fatal() -> None:
    """Redis back only briefly (or a failover still settling): the hub's resync after a
    reconnect fails with BrokerError. The subscription reconnects and calls it again; it
    does not end (which would leave the node deaf to every notice from then on)."""
    broker = create_broker(await fresh_redis())
    await broker.start()
    calls = 0

    async def resync() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise BrokerError("redis unreachable: ConnectionError")

    broker.on_reconnect(resync)
    got: list[str] = []

    async def read() -> None:
        async for message in broker.subscribe("n1"):
            got.append(message)

    async def heard(message: str) -> None:
        for _ in range(200):
            await broker.r.publish("jc:to:n1", message)
            if message in got:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the subscription never heard {message!r} ({calls} resyncs)")

    reader = asyncio.create_task(read())
    try:
        await heard("before")
        await broker.r.client_kill_filter(_type="pubsub")
        await heard("after")
        assert calls == 2 and not reader.done()
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await broker.close()
