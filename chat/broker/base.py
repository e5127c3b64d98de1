"""The broker contract: shared state in transactions, and one channel per node.

A broker holds everything about live chats that another node may need: the
queue, volunteer presence, chat ownership, the sealed replay logs, timers and
node heartbeats (``chat.state`` names the keys). Two implementations keep the
same contract: ``memory://`` (one process) and ``redis://`` (many processes).

Transactions
    ``await broker.transact(fn)`` runs ``fn(tx)``: reads first, through ``tx``,
    then buffered writes, applied all at once when ``fn`` returns. If a key read
    with ``watch=True`` changed before the writes were applied, nothing is
    applied and ``fn`` runs again (Redis ``WATCH``/``MULTI``); in memory nothing
    can interleave, so ``fn`` runs once. ``fn`` must touch nothing but ``tx``:
    it may run more than once. A read after a write in the same transaction
    does not see the write.

Data types
    Strings, hashes, sets and sorted sets, with the semantics of the Redis
    commands of the same names; every value is a ``str``. A key may carry a TTL
    (``expire``); an expired key reads as absent.

Delivery
    ``tx.publish(node, message)`` sends ``message`` (a ``str``) to the node's
    channel when the transaction is applied. A node reads its channel with
    ``subscribe(node)``. Delivery is at most once and, per sender, in order:
    Redis Pub/Sub drops what arrives while a link is down, so receivers fill
    gaps from the replay log by ``seq`` and resync after reconnecting
    (``on_reconnect``).

Failure
    Every operation that could not be carried out raises ``BrokerError``;
    nothing fails silently. ``ping()`` raises it while the broker is gone.
"""

from __future__ import annotations

from typing import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Protocol, TypeVar

T = TypeVar("T")

# A chat longer than this many lines keeps only its newest ones for replay.
MAX_LOG_ENTRIES = 5000


class BrokerError(Exception):
    """The broker could not carry out an operation (it is down, or kept conflicting)."""


class Tx(Protocol):
    """One transaction: reads (watched unless ``watch=False``), then buffered writes."""

    async def get(self, key: str, *, watch: bool = True) -> str | None: ...
    async def hget(self, key: str, field: str, *, watch: bool = True) -> str | None: ...
    async def hgetall(self, key: str, *, watch: bool = True) -> dict[str, str]: ...
    async def hgetall_many(self, keys: list[str], *, watch: bool = True) -> list[dict[str, str]]: ...
    async def smembers(self, key: str, *, watch: bool = True) -> set[str]: ...
    async def zrange(self, key: str, *, watch: bool = True) -> list[tuple[str, float]]: ...
    async def zrangebyscore(self, key: str, lo: float, hi: float, *, limit: int | None = None,
                            watch: bool = True) -> list[tuple[str, float]]: ...
    async def zrank(self, key: str, member: str, *, watch: bool = True) -> int | None: ...
    async def zscore(self, key: str, member: str, *, watch: bool = True) -> float | None: ...
    async def zcard(self, key: str, *, watch: bool = True) -> int: ...

    def set(self, key: str, value: str, *, ex: float | None = None) -> None: ...
    def hset(self, key: str, mapping: Mapping[str, str]) -> None: ...
    def hdel(self, key: str, *fields: str) -> None: ...
    def delete(self, *keys: str) -> None: ...
    def expire(self, key: str, seconds: float) -> None: ...
    def zadd(self, key: str, mapping: Mapping[str, float]) -> None: ...
    def zrem(self, key: str, *members: str) -> None: ...
    def zremrangebyrank(self, key: str, start: int, stop: int) -> None: ...
    def sadd(self, key: str, *members: str) -> None: ...
    def srem(self, key: str, *members: str) -> None: ...
    def publish(self, node: str, message: str) -> None: ...


class Broker(Protocol):
    url: str
    # True when other processes share the state (Redis): a node that stops lets go
    # of its sockets and the chats go on; False (memory): the state dies with it.
    shared: bool

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def transact(self, fn: Callable[[Tx], Awaitable[T]]) -> T: ...

    async def read(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``fn`` for its reads only: nothing watched, nothing written."""
        ...

    def subscribe(self, node: str) -> AsyncIterator[str]:
        """The node's channel, for as long as the broker is open; reconnects by itself."""
        ...

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Call ``callback`` after the channel came back from an outage."""
        ...

    async def epoch(self) -> str | None:
        """A value that changes when the broker lost its state (a restart)."""
        ...


def pairs(items: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    return [(m, float(s)) for m, s in items]
