"""Both brokers keep the contract of chat/broker/base.py: memory:// and a real Redis."""

from __future__ import annotations

import asyncio
import math
from typing import Any, AsyncIterator

import pytest

from chat.broker import BrokerError, MemoryBroker, create_broker

from ..conftest import fresh_redis


@pytest.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    b = MemoryBroker() if request.param == "memory" else create_broker(await fresh_redis())
    await b.start()
    yield b
    await b.close()


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
