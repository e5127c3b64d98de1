"""The Redis broker (``redis://``, ``rediss://``, ``redis+sentinel://``): shared state for many nodes.

Transactions are Redis optimistic transactions: watched reads on one pooled
connection, then ``MULTI``/``EXEC`` of the buffered writes (and publishes, so a
message goes out exactly when the state it describes is there). Batched reads
watch their keys first and then read them in one pipelined round trip.

Each node subscribes to its own channel (``jc:to:<node>``), never to patterns.
When the subscription drops, the reader reconnects with exponential back-off
and calls the ``on_reconnect`` callbacks, with which the hub fills what Pub/Sub
lost from the replay logs; a callback that fails is run again after the next
back-off (``subscribe``), so the reader itself never dies of an outage.

Every call has a deadline of its own (``COMMAND_TIMEOUT_S``, with
``asyncio.timeout``) instead of redis-py's ``socket_timeout``: with a socket
timeout redis-py sends each command through ``asyncio.wait_for``, which on
Python 3.11 loses a cancellation that arrives just as the write finishes
(CPython gh-86296); the task then never stops, and neither does the server.

With ``redis+sentinel://`` (``chat.kernel.broker.sentinel``) the client asks the sentinels
for the master, and asks again after a failover; the subscription follows too (it
reconnects through the same pool, and checks every ``MASTER_CHECK_S`` that its
connection is still on the master the sentinels name; when the master changed, every
pooled connection is closed, so none writes to the old master any more).

Replication is asynchronous: a line acknowledged by the master and not yet on a
replica is lost if the master dies and the replica is promoted. With
``wait_replicas`` (JOURCHATT_BROKER_WAIT_REPLICAS) a batch of lines is followed, on the
same connection and in the same round trip, by ``WAIT n timeout``, and a line is acked
only when n replicas have it; when fewer confirm in time, its writer gets
``unavailable`` and resends (the resend is a "dup" and waits again). See
docs/deploy.md for the measured cost.

Redis must run without persistence (``--save "" --appendonly no``): the live
state is sealed, but nothing of a live chat belongs on a disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError, NoScriptError, RedisError, WatchError

from ..logs import get_logger
from . import sentinel
from .base import MAX_LOG_ENTRIES, BrokerError, LineResult, LineWrite, pairs

log = get_logger("chat.broker")
T = TypeVar("T")

# A transaction that keeps conflicting is tried this often before it fails.
MAX_ATTEMPTS = 64
# Back-off for the subscription: from 0.1 s, doubling, up to this. It bounds how long a
# node stays without notices once Redis answers again (ready within ~2.4 s of that, 5 s
# promised to operators), at the price of one connection attempt per node every 2 s
# during an outage. Catching up after a reconnect (the on_reconnect callbacks) backs off
# the same way, on its own count: Redis answering restarts the subscription's.
RECONNECT_FIRST_S = 0.1
RECONNECT_MAX_S = 2.0
# The most one broker call (a transaction with its retries, a read, a ping) may take.
COMMAND_TIMEOUT_S = 5.0
# How long the subscription waits for a message before it checks whether it should stop.
POLL_S = 1.0
EPOCH_KEY = "jc:epoch"
# Lines written by one script call at most: a bigger batch would hold Redis (single
# threaded) for longer than a round trip's worth of other nodes' commands.
LINE_BATCH = 128
# How often the subscription asks the sentinels, with a Sentinel URL, which is the master
# (one SENTINEL MASTERS a second per node): a failed-over master that stays up keeps its
# subscribers and takes writes, so this bounds how long a node may still use it.
MASTER_CHECK_S = 1.0
# WAIT's timeout must leave room in a batch's deadline for the script and the reply.
MAX_WAIT_TIMEOUT_MS = int(COMMAND_TIMEOUT_S * 1000) - 1000


def channel(node: str) -> str:
    return f"jc:to:{node}"


# append_line (chat.kernel.broker.base, "Lines") for a batch of lines in one script: one round
# trip and one reply for the batch instead of a transaction (watch, reads, MULTI/EXEC) per
# line. The lines run in order, each as append_line says; the notices for each other node
# go out as one message (a JSON array when there are several), so a reader node also pays
# once per batch. It reads the holder's hash (the reader's node) under a key built from
# the chat's ``vol`` field, so it needs one Redis, not a cluster.
# KEYS: chat, ids, log of each line.  ARGV: this node, vol prefix, then per line:
# side, sender, id_key, digest, expect, blob, now, ttl_ms, chat id.
# Returns per line: status, seq, count of local readers, then (to, account) of each.
LINE_ARGS = 9
APPEND_LINES = """
local here, vol_prefix = ARGV[1], ARGV[2]
local out, remote, nodes = {}, {}, {}
local function line(k, a)
  local st = redis.call('HMGET', KEYS[k + 1], 'state', 'seq', 'vol', 'vnode', 'obs')
  local state, vol = st[1], st[3] or ''
  if ARGV[a + 1] == 'volunteer' then
    if not state or vol ~= ARGV[a + 2] then return 'not_yours', 0, {} end
    if state ~= 'active' then return 'ended', 0, {} end
  elseif state ~= 'queued' and state ~= 'active' then
    return 'closed', 0, {}
  end
  local seen = redis.call('HGET', KEYS[k + 2], ARGV[a + 3])
  if seen then
    local bar = string.find(seen, '|', 1, true)
    if bar and string.sub(seen, bar + 1) == ARGV[a + 4] then
      return 'dup', tonumber(string.sub(seen, 1, bar - 1)), {}
    end
  end
  local seq = (tonumber(st[2]) or 0) + 1
  if seq ~= tonumber(ARGV[a + 5]) then return 'seq', seq, {} end
  local seqs, ttl, chat = string.format('%d', seq), ARGV[a + 8], ARGV[a + 9]
  redis.call('HSET', KEYS[k + 1], 'seq', seqs, 'last_act', ARGV[a + 7], 'warned', '0')
  redis.call('PEXPIRE', KEYS[k + 1], ttl)
  redis.call('HSET', KEYS[k + 2], ARGV[a + 3], seqs .. '|' .. ARGV[a + 4])
  redis.call('PEXPIRE', KEYS[k + 2], ttl)
  redis.call('ZADD', KEYS[k + 3], seqs, ARGV[a + 6])
  if seq > MAX_LOG then redis.call('ZREMRANGEBYRANK', KEYS[k + 3], 0, -MAX_LOG - 1) end
  redis.call('PEXPIRE', KEYS[k + 3], ttl)
  local readers = {}
  if state == 'active' then
    if ARGV[a + 1] == 'visitor' then
      local node = vol ~= '' and redis.call('HGET', vol_prefix .. vol, 'node') or false
      table.insert(readers, {'volunteer', vol, node or ''})
    else
      table.insert(readers, {'visitor', vol, st[4] or ''})
    end
  end
  if st[5] then
    for item in string.gmatch(st[5], '[^,]+') do
      local at = string.find(item, '@', 1, true)
      if at then table.insert(readers, {'observer', string.sub(item, 1, at - 1), string.sub(item, at + 1)}) end
    end
  end
  local here_readers = {}
  for _, r in ipairs(readers) do
    if r[3] == here then
      table.insert(here_readers, r[1])
      table.insert(here_readers, r[2])
    elseif r[3] ~= '' then
      if not remote[r[3]] then remote[r[3]] = {}; table.insert(nodes, r[3]) end
      table.insert(remote[r[3]], {k = 'line', chat = chat, to = r[1], seq = seq, vid = r[2], blob = ARGV[a + 6]})
    end
  end
  return 'ok', seq, here_readers
end
for i = 0, (#ARGV - 2) / LINE_ARGS - 1 do
  local status, seq, here_readers = line(3 * i, 2 + LINE_ARGS * i)
  table.insert(out, status)
  table.insert(out, seq)
  table.insert(out, #here_readers / 2)
  for _, v in ipairs(here_readers) do table.insert(out, v) end
end
for _, node in ipairs(nodes) do
  local notices = remote[node]
  redis.call('PUBLISH', CHANNEL .. node, cjson.encode(#notices == 1 and notices[1] or notices))
end
return out
""".replace("MAX_LOG", str(MAX_LOG_ENTRIES)).replace("LINE_ARGS", str(LINE_ARGS)).replace(
    "CHANNEL", repr(channel("")))


class RedisBroker:
    # Other nodes carry on with the state: a node that stops only lets go of its sockets.
    shared = True

    def __init__(self, url: str, *, wait_replicas: int = 0, wait_timeout_ms: int = 1000,
                 connection_class: type | None = None) -> None:
        """``wait_replicas``: acknowledge a line only once this many replicas have it (WAIT),
        waiting at most ``wait_timeout_ms``. ``connection_class`` (Sentinel only) replaces
        the connection that follows the master, for the test that shows why it is needed."""
        if not 0 <= wait_replicas or not 0 < wait_timeout_ms <= MAX_WAIT_TIMEOUT_MS:
            raise ValueError("wait_replicas must be 0 or more, wait_timeout_ms 1 to "
                             f"{MAX_WAIT_TIMEOUT_MS}")
        self.url = url
        self.wait_replicas, self.wait_timeout_ms = wait_replicas, wait_timeout_ms
        opts: dict[str, Any] = {"decode_responses": True, "socket_connect_timeout": 2,
                                "health_check_interval": 10, "max_connections": 256}
        self._sentinels: list[aioredis.Redis] = []
        self._master: tuple[str, str] | None = None      # as the sentinels named it last
        self.r: aioredis.Redis
        if url.startswith(sentinel.SCHEME):
            self.r, self._sentinels = sentinel.master_client(sentinel.parse(url), connection_class, **opts)
        else:
            self.r = aioredis.from_url(url, **opts)
        self._reconnect: list[Callable[[], Awaitable[None]]] = []
        # True from a subscription's failure until it is back and its callbacks all ran.
        self.channel_lost = False
        self._closed = asyncio.Event()
        self._line_sha = hashlib.sha1(APPEND_LINES.encode()).hexdigest()
        # Lines waiting for the next pipeline. Not bounded here: each caller waits for
        # its own line, so there is at most one per socket of this node.
        self._lines: list[tuple[LineWrite, asyncio.Future[LineResult]]] = []
        self._line_flusher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._closed.clear()

    async def close(self) -> None:
        self._closed.set()
        if self._line_flusher is not None and not self._line_flusher.done():
            self._line_flusher.cancel()
            await asyncio.gather(self._line_flusher, return_exceptions=True)
        await self.r.aclose()
        for client in self._sentinels:
            await client.aclose()

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
            # decode_responses=True makes it a str; redis-py's types do not follow that option.
            return value  # type: ignore[return-value]
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
                    pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
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

    async def append_line(self, w: LineWrite) -> LineResult:
        """Lines are written in batches: the lines of every socket that sent one while
        the previous batch was on its way go out together, as one pipeline of scripts
        (each atomic), so a busy node pays one round trip per batch, not per line, and
        an idle one waits for no timer. Each caller still gets its own result only
        after its script ran (its ack promises the line is in the shared log)."""
        self._check_open()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[LineResult] = loop.create_future()
        self._lines.append((w, fut))
        if self._line_flusher is None or self._line_flusher.done():
            self._line_flusher = loop.create_task(self._flush_lines(), name="broker.lines")
        # No deadline of its own: the flusher answers every line it took, within its batch's
        # deadline (COMMAND_TIMEOUT_S), and every line left when it stops (its finally); a
        # line cannot be appended between its last look at the list and its end (nothing
        # awaits there). A timer per line cost ~2.5 % of a line on the node that wrote it.
        return await fut

    async def _flush_lines(self) -> None:
        batch: list[tuple[LineWrite, asyncio.Future[LineResult]]] = []
        try:
            while self._lines:
                batch, self._lines = self._lines[:LINE_BATCH], self._lines[LINE_BATCH:]
                try:
                    async with asyncio.timeout(COMMAND_TIMEOUT_S):
                        results = await self._run_lines([w for w, _ in batch])
                except (RedisError, OSError, BrokerError) as exc:     # TimeoutError is an OSError
                    results = [exc] * len(batch)
                for (_, fut), out in zip(batch, results):
                    if fut.done():                        # its socket went away meanwhile
                        continue
                    if isinstance(out, BrokerError):
                        fut.set_exception(out)
                    elif isinstance(out, BaseException):
                        fut.set_exception(BrokerError(f"redis: {type(out).__name__}"))
                    else:
                        fut.set_result(LineResult(*out))
                batch = []
        finally:
            # Stopped (the broker closes): nobody is left waiting for an answer.
            for _, fut in batch + self._lines:
                if not fut.done():
                    fut.set_exception(BrokerError("redis: the broker is closed"))
            self._lines = []

    async def _run_lines(self, lines: list[LineWrite]) -> list[Any]:
        """Run APPEND_LINES for ``lines``; each line's (status, seq, local readers) in order."""
        keys: list[str] = []
        args: list[Any] = [lines[0].node, lines[0].vol_prefix]
        for w in lines:
            keys += (w.chat_key, w.ids_key, w.log_key)
            args += (w.side, w.sender, w.id_key, w.digest, w.expect, w.blob, repr(w.now),
                     max(1, int(w.ttl_s * 1000)), w.chat)
        try:
            out = await self._eval_lines(keys, args)
        except NoScriptError:
            # Redis restarted or its scripts were flushed; a script Redis did not know ran
            # nothing, so the batch is safe to run again with the script loaded.
            self._line_sha = await self.r.script_load(APPEND_LINES)
            out = await self._eval_lines(keys, args)
        results, i = [], 0
        for _ in lines:
            n = int(out[i + 2])
            results.append((out[i], int(out[i + 1]), tuple((out[j], out[j + 1])
                                                          for j in range(i + 3, i + 3 + 2 * n, 2))))
            i += 3 + 2 * n
        return results

    async def _check_master(self, pubsub: Any) -> None:
        """After a failover, let go of every connection to the old master, in use or idle,
        and raise a ConnectionError (so the subscription reconnects) when the subscription
        is not on the master the sentinels name. A master failed over while it kept
        running (SENTINEL FAILOVER, a healed partition) takes writes for ~10 s more, and
        keeps its subscribers: a node still on it would write where nothing is kept
        (bench/failover.py --how failover lost 16,237 of 26,577 acked lines that way)."""
        pool = self.r.connection_pool
        if not isinstance(pool, SentinelConnectionPool):
            return                  # a plain Redis URL: no sentinels to ask
        async with asyncio.timeout(COMMAND_TIMEOUT_S):
            # redis-py leaves SentinelConnectionPool.get_master_address unannotated.
            host, port = await pool.get_master_address()  # type: ignore[no-untyped-call]
        master = (str(host), str(port))
        if self._master is not None and master != self._master:
            log.warning("broker.master_changed")
            await self.r.connection_pool.disconnect(inuse_connections=True)
        self._master = master
        conn = pubsub.connection
        if conn is not None and (str(conn.host), str(conn.port)) != master:
            raise RedisConnectionError("the subscription is not on the master")

    async def _eval_lines(self, keys: list[str], args: list[Any]) -> Any:
        """The script's reply; with ``wait_replicas``, only once that many replicas have
        the batch. WAIT counts the writes of its own connection, hence one pipeline."""
        if not self.wait_replicas:
            return await self.r.evalsha(self._line_sha, len(keys), *keys, *args)
        async with self.r.pipeline(transaction=False) as p:
            p.evalsha(self._line_sha, len(keys), *keys, *args)
            p.execute_command("WAIT", self.wait_replicas, self.wait_timeout_ms)
            out, replicas = await p.execute()
        if int(replicas) < self.wait_replicas:
            raise BrokerError(f"redis: {replicas} of {self.wait_replicas} replicas confirmed the lines in time")
        return out

    def on_reconnect(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._reconnect.append(callback)

    async def subscribe(self, node: str) -> AsyncIterator[str]:
        """The node's channel until the broker closes. Nothing ends it but ``close()``:
        whatever fails (Redis, the network, an ``on_reconnect`` callback, which may run
        while Redis still loads its data or before the pool's other connections notice
        the restart) is logged by its type and tried again after a back-off, the
        callbacks included, until they all ran once after the link came back."""
        pause = retry = RECONNECT_FIRST_S
        lost = False
        while not self._closed.is_set():
            pubsub = self.r.pubsub(ignore_subscribe_messages=True)
            resyncing = False
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT_S):
                    await pubsub.subscribe(channel(node))
                pause = RECONNECT_FIRST_S
                if lost:
                    log.info("broker.reconnected")
                    # The link was down: every idle pooled connection may be to a Redis
                    # that restarted, and its first command would fail (a notice handler's
                    # read, after /readyz said ready). Let them go; new ones are made on use.
                    await self.r.connection_pool.disconnect(inuse_connections=False)
                    resyncing = True
                    for callback in self._reconnect:
                        await callback()
                    resyncing = False
                    retry = RECONNECT_FIRST_S
                lost = self.channel_lost = False
                loop = asyncio.get_running_loop()
                check_at = loop.time() + MASTER_CHECK_S
                while not self._closed.is_set():
                    # get_message's own timeout returns None; ours bounds a reconnect in it.
                    async with asyncio.timeout(POLL_S + COMMAND_TIMEOUT_S):
                        message = await pubsub.get_message(timeout=POLL_S)
                    if message is not None and message.get("type") == "message":
                        yield message["data"]
                    if self._sentinels and loop.time() >= check_at:
                        check_at = loop.time() + MASTER_CHECK_S
                        await self._check_master(pubsub)
            except Exception as exc:      # never GeneratorExit or CancelledError: those stop it
                if resyncing:
                    log.warning("broker.resync_failed", error=type(exc).__name__)
                    wait, retry = retry, min(retry * 2, RECONNECT_MAX_S)
                else:
                    if not lost:
                        log.warning("broker.disconnected", error=type(exc).__name__)
                    wait, pause = pause, min(pause * 2, RECONNECT_MAX_S)
                lost = self.channel_lost = True
                await asyncio.sleep(wait * random.uniform(0.8, 1.2))
            finally:
                try:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
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
            return await p.execute()

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
