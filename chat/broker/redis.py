"""The Redis broker (``redis://`` and ``rediss://``): shared state for many nodes.

Transactions are Redis optimistic transactions: watched reads on one pooled
connection, then ``MULTI``/``EXEC`` of the buffered writes (and publishes, so a
message goes out exactly when the state it describes is there). Batched reads
watch their keys first and then read them in one pipelined round trip.

Each node subscribes to its own channel (``jc:to:<node>``), never to patterns.
When the subscription drops, the reader reconnects with exponential back-off
and calls the ``on_reconnect`` callbacks, with which the hub fills what Pub/Sub
lost from the replay logs.

Every call has a deadline of its own (``COMMAND_TIMEOUT_S``, with
``asyncio.timeout``) instead of redis-py's ``socket_timeout``: with a socket
timeout redis-py sends each command through ``asyncio.wait_for``, which on
Python 3.11 loses a cancellation that arrives just as the write finishes
(CPython gh-86296); the task then never stops, and neither does the server.

Redis must run without persistence (``--save "" --appendonly no``): the live
state is sealed, but nothing of a live chat belongs on a disk.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from ..logs import get_logger
from .base import BrokerError, pairs

log = get_logger("chat.broker")
T = TypeVar("T")

# A transaction that keeps conflicting is tried this often before it fails.
MAX_ATTEMPTS = 64
# Back-off for the subscription: from 0.1 s, doubling, up to this.
RECONNECT_MAX_S = 5.0
# The most one broker call (a transaction with its retries, a read, a ping) may take.
COMMAND_TIMEOUT_S = 5.0
# How long the subscription waits for a message before it checks whether it should stop.
POLL_S = 1.0
EPOCH_KEY = "jc:epoch"


def channel(node: str) -> str:
    return f"jc:to:{node}"


class RedisBroker:
    # Other nodes carry on with the state: a node that stops only lets go of its sockets.
    shared = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.r: aioredis.Redis = aioredis.from_url(
            url, decode_responses=True, socket_connect_timeout=2,
            health_check_interval=10, max_connections=256)
        self._reconnect: list[Callable[[], Awaitable[None]]] = []
        self._closed = asyncio.Event()

    async def start(self) -> None:
        self._closed.clear()

    async def close(self) -> None:
        self._closed.set()
        await self.r.aclose()

    async def ping(self) -> None:
        self._check_open()
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                await self.r.ping()
        except (RedisError, OSError) as exc:
            raise BrokerError(f"redis unreachable: {type(exc).__name__}") from None

    async def epoch(self) -> str | None:
        self._check_open()
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                value = await self.r.get(EPOCH_KEY)
                if value is None:
                    await self.r.set(EPOCH_KEY, secrets.token_hex(8), nx=True)
                    value = await self.r.get(EPOCH_KEY)
            return value  # type: ignore[no-any-return]
        except (RedisError, OSError) as exc:
            raise BrokerError(f"redis unreachable: {type(exc).__name__}") from None

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise BrokerError("redis: the broker is closed")

    async def transact(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        self._check_open()
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                return await self._transact(fn)
        except (RedisError, OSError) as exc:     # TimeoutError is an OSError
            raise BrokerError(f"redis: {type(exc).__name__}") from None

    async def _transact(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        for attempt in range(MAX_ATTEMPTS):
            try:
                async with self.r.pipeline(transaction=True) as pipe:
                    tx = _RedisTx(self.r, pipe)
                    result = await fn(tx)
                    if not tx.writes:
                        return result
                    pipe.multi()
                    for write in tx.writes:
                        write(pipe)
                    await pipe.execute()
                    return result
            except WatchError:
                await asyncio.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        raise BrokerError("redis: transaction kept conflicting")

    async def read(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        self._check_open()
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                return await fn(_RedisTx(self.r, None))
        except (RedisError, OSError) as exc:
            raise BrokerError(f"redis: {type(exc).__name__}") from None

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._reconnect.append(callback)

    async def subscribe(self, node: str) -> AsyncIterator[str]:
        pause, lost = 0.1, False
        while not self._closed.is_set():
            pubsub = self.r.pubsub(ignore_subscribe_messages=True)
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT_S):
                    await pubsub.subscribe(channel(node))
                if lost:
                    log.info("broker.reconnected")
                    for callback in self._reconnect:
                        await callback()
                pause, lost = 0.1, False
                while not self._closed.is_set():
                    # get_message's own timeout returns None; ours bounds a reconnect in it.
                    async with asyncio.timeout(POLL_S + COMMAND_TIMEOUT_S):
                        message = await pubsub.get_message(timeout=POLL_S)
                    if message is not None and message.get("type") == "message":
                        yield message["data"]
            except (RedisError, OSError) as exc:
                if not lost:
                    log.warning("broker.disconnected", error=type(exc).__name__)
                lost = True
                await asyncio.sleep(pause * random.uniform(0.8, 1.2))
                pause = min(pause * 2, RECONNECT_MAX_S)
            finally:
                try:
                    await pubsub.aclose()
                except (RedisError, OSError, RuntimeError):
                    pass


class _RedisTx:
    __slots__ = ("r", "pipe", "writes")

    def __init__(self, r: aioredis.Redis, pipe: Any) -> None:
        self.r = r
        self.pipe = pipe
        self.writes: list[Callable[[Any], None]] = []

    async def _on(self, key: str | list[str], watch: bool) -> Any:
        """The connection to read ``key`` on, after watching it if asked."""
        if watch and self.pipe is not None:
            keys = [key] if isinstance(key, str) else key
            if keys:
                await self.pipe.watch(*keys)
            return self.pipe
        return self.r

    # reads ---------------------------------------------------------------------
    async def get(self, key: str, *, watch: bool = True) -> str | None:
        return await (await self._on(key, watch)).get(key)  # type: ignore[no-any-return]

    async def hget(self, key: str, field: str, *, watch: bool = True) -> str | None:
        return await (await self._on(key, watch)).hget(key, field)  # type: ignore[no-any-return]

    async def hgetall(self, key: str, *, watch: bool = True) -> dict[str, str]:
        return await (await self._on(key, watch)).hgetall(key)  # type: ignore[no-any-return]

    async def hgetall_many(self, keys: list[str], *, watch: bool = True) -> list[dict[str, str]]:
        if not keys:
            return []
        await self._on(keys, watch)
        async with self.r.pipeline(transaction=False) as p:
            for key in keys:
                p.hgetall(key)
            return await p.execute()  # type: ignore[no-any-return]

    async def smembers(self, key: str, *, watch: bool = True) -> set[str]:
        return set(await (await self._on(key, watch)).smembers(key))

    async def zrange(self, key: str, *, watch: bool = True) -> list[tuple[str, float]]:
        return pairs(await (await self._on(key, watch)).zrange(key, 0, -1, withscores=True))

    async def zrangebyscore(self, key: str, lo: float, hi: float, *, limit: int | None = None,
                            watch: bool = True) -> list[tuple[str, float]]:
        conn = await self._on(key, watch)
        if limit is None:
            found = await conn.zrangebyscore(key, lo, hi, withscores=True)
        else:
            found = await conn.zrangebyscore(key, lo, hi, start=0, num=limit, withscores=True)
        return pairs(found)

    async def zrank(self, key: str, member: str, *, watch: bool = True) -> int | None:
        value = await (await self._on(key, watch)).zrank(key, member)
        return None if value is None else int(value)

    async def zscore(self, key: str, member: str, *, watch: bool = True) -> float | None:
        value = await (await self._on(key, watch)).zscore(key, member)
        return None if value is None else float(value)

    async def zcard(self, key: str, *, watch: bool = True) -> int:
        return int(await (await self._on(key, watch)).zcard(key))

    # writes --------------------------------------------------------------------
    def set(self, key: str, value: str, *, ex: float | None = None) -> None:
        px = None if ex is None else max(1, int(ex * 1000))
        self.writes.append(lambda p: p.set(key, value, px=px))

    def hset(self, key: str, mapping: Mapping[str, str]) -> None:
        items = dict(mapping)
        if items:
            self.writes.append(lambda p: p.hset(key, mapping=items))

    def hdel(self, key: str, *fields: str) -> None:
        if fields:
            self.writes.append(lambda p: p.hdel(key, *fields))

    def delete(self, *keys: str) -> None:
        if keys:
            self.writes.append(lambda p: p.delete(*keys))

    def expire(self, key: str, seconds: float) -> None:
        ms = max(1, int(seconds * 1000))
        self.writes.append(lambda p: p.pexpire(key, ms))

    def zadd(self, key: str, mapping: Mapping[str, float]) -> None:
        items = dict(mapping)
        if items:
            self.writes.append(lambda p: p.zadd(key, items))

    def zrem(self, key: str, *members: str) -> None:
        if members:
            self.writes.append(lambda p: p.zrem(key, *members))

    def zremrangebyrank(self, key: str, start: int, stop: int) -> None:
        self.writes.append(lambda p: p.zremrangebyrank(key, start, stop))

    def sadd(self, key: str, *members: str) -> None:
        if members:
            self.writes.append(lambda p: p.sadd(key, *members))

    def srem(self, key: str, *members: str) -> None:
        if members:
            self.writes.append(lambda p: p.srem(key, *members))

    def publish(self, node: str, message: str) -> None:
        self.writes.append(lambda p: p.publish(channel(node), message))
