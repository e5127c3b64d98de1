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

Lines (the hot path)
    ``append_line(LineWrite)`` numbers and logs one chat line in a single atomic
    step (in Redis one Lua script, one round trip; in memory a few dictionary
    operations), where a transaction would cost several round trips. The caller
    seals the line for the seq it expects (``expect``, bound into the sealing);
    if the chat's next seq is another, nothing is written and the result says
    which (``status == "seq"``): the caller seals again and retries. Otherwise,
    atomically: the chat must be open (and, for a volunteer's line, held by that
    volunteer, and active); a client id already logged with the same digest
    returns its seq and writes nothing ("dup"); else the chat's ``seq``,
    ``last_act`` and ``warned`` are set, the id is noted, the sealed line joins
    the replay log (bounded to ``MAX_LOG_ENTRIES``, TTL refreshed), and the
    line notice goes to every reader on
    another node by Pub/Sub (the other side, and supervisors observing; the
    notices of several lines for one node may come as one message holding a JSON
    array of them, so a reader's node also pays once per batch). Readers
    on the calling node come back in ``local`` as (to, account) for the caller
    to deliver in-process. A line does not touch the timers: the chat's idle
    timer, when it fires, reads ``last_act`` and sets itself again for
    ``last_act`` + the idle limit (chat.hub, ``_fire``), so moving it for every
    line would only cost a write to the shared timer set per line.

Failure
    Every operation that could not be carried out raises ``BrokerError``;
    nothing fails silently. ``ping()`` raises it while the broker is gone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Protocol, TypeVar

from ..exceptions import BrokerError as BrokerError  # re-exported: the contract names it

T = TypeVar("T")

# A chat longer than this many lines keeps only its newest ones for replay.
MAX_LOG_ENTRIES = 5000


@dataclass(frozen=True, slots=True)
class LineWrite:
    """One chat line to number and log (see "Lines" above). Keys are passed in full."""

    chat: str
    chat_key: str           # the chat's hash (fields state, seq, vol, vnode, obs)
    ids_key: str            # client id -> "seq|digest"
    log_key: str            # the replay log (sorted set scored by seq)
    vol_prefix: str         # + account id: a volunteer's hash (field node)
    side: str               # "visitor" or "volunteer": who wrote it
    sender: str             # the volunteer's account id (checked against the chat's holder)
    id_key: str             # the client's id for the line, as stored
    digest: str             # keyed digest of the text (tells a resend from a new line)
    expect: int             # the seq the line was sealed for
    blob: str               # the sealed line (base64)
    now: float
    ttl_s: float            # TTL of the chat's keys
    node: str               # the calling node (its readers come back in ``local``)


@dataclass(frozen=True, slots=True)
class LineResult:
    # "ok" | "dup" (a resend: ``seq`` is the first one's) | "seq" (retry sealed for ``seq``)
    # | "closed" (the chat is not open) | "not_yours" (a volunteer's line in a chat it does not hold)
    # | "ended" (a volunteer's line in a chat no longer active)
    status: str
    seq: int = 0
    local: tuple[tuple[str, str], ...] = ()


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
    # True while the node's channel is down or back but not yet resynced (the
    # ``on_reconnect`` callbacks have not all run): notices may be missing.
    channel_lost: bool

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

    async def append_line(self, line: LineWrite) -> LineResult:
        """Number and log one chat line atomically (see "Lines" in the module docstring)."""
        ...


def line_notice(chat: str, to: str, seq: int, vid: str, blob: str) -> str:
    """The Pub/Sub notice of a logged line, as ``append_line`` publishes it."""
    return json.dumps({"k": "line", "chat": chat, "to": to, "seq": seq, "vid": vid, "blob": blob},
                      separators=(",", ":"))


def pairs(items: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    return [(m, float(s)) for m, s in items]
