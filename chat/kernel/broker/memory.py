"""The in-memory broker: one process, nothing on disk (``memory://``).

Implements the contract of ``chat.kernel.broker.base`` with dictionaries.
Transactions run one at a time, so they never conflict. Several hubs may
share one ``MemoryBroker`` (the tests run two "nodes" in one process that way);
each node's channel is an asyncio queue.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from bisect import bisect_left, bisect_right, insort
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, TypeVar

from .base import MAX_LOG_ENTRIES, BrokerError, LineResult, LineWrite, line_notice

T = TypeVar("T")

# Expired keys are swept once every this many transactions: amortised O(1).
SWEEP_EVERY = 1000


class MemoryBroker:
    # The state lives and dies with this process: at shutdown every chat ends.
    shared = False
    # Its channels never drop (see Broker.channel_lost).
    channel_lost = False

    def __init__(self, url: str = "memory://", *, clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self._clock = clock
        self.data: dict[str, Any] = {}
        self.expires: dict[str, float] = {}
        self._channels: dict[str, asyncio.Queue[str | None]] = {}
        self._epoch = secrets.token_hex(8)
        self._count = 0
        self._closed = False
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        self.data.clear()
        self.expires.clear()
        for queue in self._channels.values():
            queue.put_nowait(None)

    async def ping(self) -> None:
        if self._closed:
            raise BrokerError("the memory broker is closed")

    async def epoch(self) -> str | None:
        return self._epoch

    # -- keys -------------------------------------------------------------------
    def _live(self, key: str) -> Any:
        exp = self.expires.get(key)
        if exp is not None and exp <= self._clock():
            self.data.pop(key, None)
            self.expires.pop(key, None)
            return None
        return self.data.get(key)

    def _sweep(self) -> None:
        self._count += 1
        if self._count % SWEEP_EVERY:
            return
        now = self._clock()
        for key in [k for k, exp in self.expires.items() if exp <= now]:
            self.data.pop(key, None)
            self.expires.pop(key, None)

    def __len__(self) -> int:
        return sum(1 for k in list(self.data) if self._live(k) is not None)

    # -- transactions -------------------------------------------------------------
    async def transact(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        if self._closed:
            raise BrokerError("the memory broker is closed")
        # Uncontended, the lock never yields; it only matters if ``fn`` awaits
        # something that does, and then it keeps transactions serial.
        async with self._lock:
            tx = _MemoryTx(self)
            result = await fn(tx)
            tx.apply()
        self._sweep()
        return result

    async def read(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        if self._closed:
            raise BrokerError("the memory broker is closed")
        return await fn(_MemoryTx(self))

    async def append_line(self, line: LineWrite) -> LineResult:
        if self._closed:
            raise BrokerError("the memory broker is closed")
        if self._lock.locked():
            async with self._lock:      # never interleaves with a transaction
                result = self._append_line(line)
        else:
            # Nothing can interleave with a synchronous call: the lock, free, would be
            # taken and given back without a yield; skipping it saves ~3 % of a line.
            result = self._append_line(line)
        self._sweep()
        return result

    def _append_line(self, w: LineWrite) -> LineResult:
        chat = self._live(w.chat_key)
        state = chat.get("state") if isinstance(chat, dict) else None
        if w.side == "volunteer":
            if state is None or chat.get("vol", "") != w.sender:
                return LineResult("not_yours")
            if state != "active":
                return LineResult("ended")
        elif state not in ("queued", "active"):
            return LineResult("closed")
        ids = self._live(w.ids_key)
        seen = ids.get(w.id_key) if isinstance(ids, dict) else None
        if seen:
            seq_s, _, digest = seen.partition("|")
            if hmac.compare_digest(digest, w.digest):
                return LineResult("dup", int(seq_s))
        seq = int(chat.get("seq") or 0) + 1
        if seq != w.expect:
            return LineResult("seq", seq)
        expires = self._clock() + w.ttl_s
        chat.update(seq=str(seq), last_act=repr(w.now), warned="0")
        self.expires[w.chat_key] = expires
        if not isinstance(ids, dict):
            ids = self.data[w.ids_key] = {}
        ids[w.id_key] = f"{seq}|{w.digest}"
        self.expires[w.ids_key] = expires
        log = self._live(w.log_key)
        if not isinstance(log, _ZSet):
            log = self.data[w.log_key] = _ZSet()
        log.update({w.blob: float(seq)})
        while len(log) > MAX_LOG_ENTRIES:       # one line in, the oldest out
            log.pop(log.order[0][1])
        self.expires[w.log_key] = expires
        readers: list[tuple[str, str, str]] = []         # (to, account, node)
        vol = chat.get("vol", "")
        if state == "active":
            if w.side == "visitor":
                holder = self._live(w.vol_prefix + vol) if vol else None
                readers.append(("volunteer", vol, holder.get("node", "") if isinstance(holder, dict) else ""))
            else:
                readers.append(("visitor", vol, chat.get("vnode", "")))
        for item in chat.get("obs", "").split(",") if chat.get("obs") else []:
            vid, _, node = item.partition("@")
            readers.append(("observer", vid, node))
        local = []
        for to, vid, node in readers:
            if node == w.node:
                local.append((to, vid))
            elif node:
                self._publish(node, line_notice(w.chat, to, seq, vid, w.blob))
        return LineResult("ok", seq, tuple(local))

    # -- channels -----------------------------------------------------------------
    def _channel(self, node: str) -> asyncio.Queue[str | None]:
        queue = self._channels.get(node)
        if queue is None:
            queue = self._channels[node] = asyncio.Queue()
        return queue

    async def subscribe(self, node: str) -> AsyncIterator[str]:
        queue = self._channel(node)
        try:
            while True:
                message = await queue.get()
                if message is None:
                    return
                yield message
        finally:
            self._channels.pop(node, None)

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        return None   # nothing to reconnect to

    def _publish(self, node: str, message: str) -> None:
        queue = self._channels.get(node)
        if queue is not None:         # like Pub/Sub: nobody listening, nobody gets it
            queue.put_nowait(message)


class _MemoryTx:
    __slots__ = ("b", "writes")

    def __init__(self, broker: MemoryBroker) -> None:
        self.b = broker
        self.writes: list[Callable[[], None]] = []

    # reads ---------------------------------------------------------------------
    async def get(self, key: str, *, watch: bool = True) -> str | None:
        value = self.b._live(key)
        return value if isinstance(value, str) else None

    async def hget(self, key: str, field: str, *, watch: bool = True) -> str | None:
        value = self.b._live(key)
        return value.get(field) if isinstance(value, dict) else None

    async def hgetall(self, key: str, *, watch: bool = True) -> dict[str, str]:
        value = self.b._live(key)
        return dict(value) if isinstance(value, dict) else {}

    async def hgetall_many(self, keys: list[str], *, watch: bool = True) -> list[dict[str, str]]:
        return [await self.hgetall(k) for k in keys]

    async def smembers(self, key: str, *, watch: bool = True) -> set[str]:
        value = self.b._live(key)
        return set(value) if isinstance(value, set) else set()

    def _zset(self, key: str) -> _ZSet:
        value = self.b._live(key)
        return value if isinstance(value, _ZSet) else _ZSet()

    async def zrange(self, key: str, *, watch: bool = True) -> list[tuple[str, float]]:
        return [(m, s) for s, m in self._zset(key).order]

    async def zrangebyscore(self, key: str, lo: float, hi: float, *, limit: int | None = None,
                            watch: bool = True) -> list[tuple[str, float]]:
        order = self._zset(key).order
        start = bisect_left(order, lo, key=_score)
        stop = bisect_right(order, hi, key=_score)
        if limit is not None:
            stop = min(stop, start + max(0, limit))
        return [(m, s) for s, m in order[start:stop]]

    async def zrank(self, key: str, member: str, *, watch: bool = True) -> int | None:
        zset = self._zset(key)
        score = zset.get(member)
        return None if score is None else bisect_left(zset.order, (score, member))

    async def zscore(self, key: str, member: str, *, watch: bool = True) -> float | None:
        return self._zset(key).get(member)

    async def zcard(self, key: str, *, watch: bool = True) -> int:
        return len(self._zset(key))

    # writes --------------------------------------------------------------------
    def apply(self) -> None:
        for write in self.writes:
            write()

    def _container(self, key: str, kind: type) -> Any:
        value = self.b._live(key)
        if not isinstance(value, kind):
            value = self.b.data[key] = kind()
            self.b.expires.pop(key, None)
        return value

    def _drop_if_empty(self, key: str) -> None:
        if not self.b.data.get(key):
            self.b.data.pop(key, None)
            self.b.expires.pop(key, None)

    def set(self, key: str, value: str, *, ex: float | None = None) -> None:
        def write() -> None:
            self.b.data[key] = value
            if ex is None:
                self.b.expires.pop(key, None)
            else:
                self.b.expires[key] = self.b._clock() + ex
        self.writes.append(write)

    def hset(self, key: str, mapping: Mapping[str, str]) -> None:
        items = dict(mapping)
        self.writes.append(lambda: self._container(key, dict).update(items))

    def _remove(self, key: str, kind: type, members: tuple[str, ...]) -> None:
        """HDEL / ZREM / SREM: drop members; a container left empty is deleted, as in Redis."""
        def write() -> None:
            value = self.b._live(key)
            if isinstance(value, kind):
                if isinstance(value, set):
                    value.difference_update(members)
                elif isinstance(value, dict):
                    for m in members:
                        value.pop(m, None)
                self._drop_if_empty(key)
        self.writes.append(write)

    def hdel(self, key: str, *fields: str) -> None:
        self._remove(key, dict, fields)

    def delete(self, *keys: str) -> None:
        def write() -> None:
            for k in keys:
                self.b.data.pop(k, None)
                self.b.expires.pop(k, None)
        self.writes.append(write)

    def expire(self, key: str, seconds: float) -> None:
        def write() -> None:
            if self.b._live(key) is not None:
                self.b.expires[key] = self.b._clock() + seconds
        self.writes.append(write)

    def zadd(self, key: str, mapping: Mapping[str, float]) -> None:
        items = {m: float(s) for m, s in mapping.items()}
        self.writes.append(lambda: self._container(key, _ZSet).update(items))

    def zrem(self, key: str, *members: str) -> None:
        self._remove(key, _ZSet, members)

    def zremrangebyrank(self, key: str, start: int, stop: int) -> None:
        def write() -> None:
            value = self.b._live(key)
            if isinstance(value, _ZSet):
                n = len(value.order)
                lo = start if start >= 0 else n + start
                hi = stop if stop >= 0 else n + stop
                for _, m in value.order[max(lo, 0):hi + 1]:
                    value.pop(m, None)
                self._drop_if_empty(key)
        self.writes.append(write)

    def sadd(self, key: str, *members: str) -> None:
        self.writes.append(lambda: self._container(key, set).update(members))

    def srem(self, key: str, *members: str) -> None:
        self._remove(key, set, members)

    def publish(self, node: str, message: str) -> None:
        self.writes.append(lambda: self.b._publish(node, message))


def _score(entry: tuple[float, str]) -> float:
    return entry[0]


_ABSENT = object()


class _ZSet(dict[str, float]):
    """A sorted set: member -> score, and ``order``, the (score, member) pairs kept sorted.

    Kept sorted as it changes (a binary search and a list insert or delete each),
    so that a range or a rank costs what it returns (or a binary search), not a
    sort of the whole set: the queue of thousands of waiting chats is read often.
    Only ``update`` and ``pop`` change it (item assignment and ``del`` go through them).
    """

    __slots__ = ("order",)

    def __init__(self) -> None:
        super().__init__()
        self.order: list[tuple[float, str]] = []

    def update(self, items: Mapping[str, float]) -> None:  # type: ignore[override]
        for member, score in items.items():
            old = dict.get(self, member, _ABSENT)
            if old == score:
                continue
            if old is not _ABSENT:
                del self.order[bisect_left(self.order, (old, member))]
            dict.__setitem__(self, member, score)
            insort(self.order, (score, member))

    def pop(self, member: str, default: Any = None) -> Any:
        old = dict.pop(self, member, _ABSENT)
        if old is _ABSENT:
            return default
        del self.order[bisect_left(self.order, (old, member))]
        return old

    def __setitem__(self, member: str, score: float) -> None:
        self.update({member: score})

    def __delitem__(self, member: str) -> None:
        if self.pop(member, _ABSENT) is _ABSENT:
            raise KeyError(member)
