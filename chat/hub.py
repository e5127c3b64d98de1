"""The hub: live chats, who is in them, and the rules that move them along.

One hub runs in each node (process). The endpoints (``chat.endpoints``) turn
sockets into calls on the hub and give it an ``Outbox`` per socket; the hub
never touches a socket. Everything another node may need (the queue, who is
present, who holds which chat, the sealed replay logs, timers) lives in the
broker (``chat.state`` lists the keys) and changes only in broker
transactions; the hub itself keeps nothing but its own sockets. Any node can
therefore serve any visitor or volunteer, and a node that dies loses no chat.

Life of a chat::

    queued ──match──▶ active ──end/leave/timeout──▶ ended ──wrap-up──▶ recorded
      ▲                 │ volunteer gone past grace
      └──(front)────────┘

Delivery. Every line gets the chat's next ``seq`` in the same atomic broker step
that appends it (sealed) to the replay log (``Broker.append_line``; system lines
and referrals in a transaction). The line goes to the other side's node with that
step (Pub/Sub), or straight to the socket when both sides are here. Pub/Sub may drop messages, so each socket's ``Feed`` knows the last seq it
accounted for and fills any hole from the replay log, in order, before it
delivers anything newer; after the broker link comes back every feed is
refilled from the log.

Timers (idle chats, grace periods, wrap-up deadlines) are entries in a shared
sorted set; any node's housekeeping claims those that are due, with a lease so
that a node dying mid-way leaves them to another. Nodes beat every second; a
node silent for ``NODE_TIMEOUT_S`` is reaped by the others: its visitors and
volunteers are marked gone, and get their grace periods to resume elsewhere.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import itertools
import json
import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referral import codes as referral_codes
from referral import geography
from volunteer import hours
from referral import rules as referral_rules
from referral import store as referral_store
from volunteer.accounts import Profile
from volunteer.hours_store import HOURS_CACHE_S, HoursSource

from . import state as S
from . import texts
from .broker import MAX_LOG_ENTRIES, Broker, BrokerError, LineWrite, Tx
from .exceptions import FrameError
from .logs import get_logger
from .outbox import OUTBOX_FRAMES, Outbox  # noqa: F401  (Outbox is part of the hub's API)
from .record import ChatFacts, build_record, write_record
from .routing import DEFAULT_SERVICE_TIME_S, EWMA_ALPHA, Router
from .sealing import Sealer
from .settings import Settings
from .supervision import Supervision, render_extra
from .tasks import Tasks
from .frames import SUPERVISION_TYPES

log = get_logger("chat.hub")

# How often timers are claimed and the node beats.
HOUSEKEEPING_TICK_S = 1.0
# A node whose heartbeat is older than this is dead: its sockets are marked gone.
NODE_TIMEOUT_S = 5.0
# A claimed timer comes back after this long unless its handler settled it.
TIMER_LEASE_S = 30.0
# Timers claimed per tick and node.
TIMERS_PER_TICK = 200
# Queue positions are sent at most this often, whatever the churn: coalescing
# turns a burst of arrivals and departures into one update per waiting visitor.
POSITION_FLUSH_S = 0.1
# Positions also follow changes made on other nodes, this often.
POSITION_POLL_S = 1.0
# Records waiting for the database. Overflow policy: the record waits in a task
# of its own for room (memory grows, nothing is dropped) and a warning is logged.
RECORD_QUEUE = 10000
# A record the database refused is retried after 0.5 s, 1 s, 2 s ... up to this
# pause, for as long as the process runs: a database restart loses no record.
RECORD_RETRY_MAX_S = 30.0
# Bounds on stopping (Hub.stop): leaving the shared state (or ending every chat with
# memory://), waiting for the record writer, and the background tasks' cancellation.
STOP_STATE_S = 5.0
STOP_RECORDS_S = 10.0
STOP_TASKS_S = 2.0
# Shared keys of a live chat or volunteer expire this long after their last write
# (refreshed while in use); a crash of every node leaves nothing behind for long.
STATE_TTL_S = 6 * 3600
# How often the TTLs of this node's chats and volunteers are refreshed.
REFRESH_EVERY_TICKS = 600
# A line is sealed again for the chat's next seq at most this often (each time the
# other side's line took the seq it was sealed for): bounded like a transaction's retries.
LINE_ATTEMPTS = 64
# Seq used as associated data for sealed notices, intake answers and referrals.
NOTE_SEQ, INTAKE_SEQ, REFERRALS_SEQ = 0, -1, -2
# Expired referral codes are deleted this often (by every node; deleting twice is harmless).
PURGE_EVERY_TICKS = 3600
# Why an open console is closed from the HTTP side (Hub.signed_out): error code -> detail.
SIGNED_OUT = {
    "signed_out": "you signed out",
    "role_changed": "an admin changed this account's role; sign in again",
}

# The service a visitor is told of when the chat cannot take them and the
# referral directory cannot be read either (closed_services falls back to it).
FALLBACK_SERVICES: list[dict[str, Any]] = [
    {"id": "emergency-112", "kind": "emergency", "name": "112",
     "description": {"sv": "Ring 112 om du är i akut fara.", "en": "Call 112 if you are in immediate danger."},
     "phone": "112"},
]


def fallback_services(lang: str) -> list[dict[str, Any]]:
    """FALLBACK_SERVICES in the shape of the directory's cards (text in ``lang``)."""
    return [{**card, "description": card["description"].get(lang, card["description"]["sv"])}
            for card in FALLBACK_SERVICES]


class Feed:
    """What one socket has of one chat's lines: every seq up to ``last`` is settled.

    A seq is settled when it was delivered, acknowledged to this side as its own
    line, or read from the log and found not meant for this side. Own lines
    acknowledged ahead of ``last`` wait in ``own`` until the hole below closes.
    """

    __slots__ = ("last", "own", "lock")

    def __init__(self, last: int = 0) -> None:
        self.last = last
        self.own: set[int] = set()
        self.lock = asyncio.Lock()

    def settle(self, seq: int) -> None:
        if seq == self.last + 1:
            self.last = seq
            while self.last + 1 in self.own:
                self.last += 1
                self.own.discard(self.last)
        elif seq > self.last:
            self.own.add(seq)

    def settle_through(self, seq: int) -> None:
        if seq > self.last:
            self.last = seq
            self.own = {s for s in self.own if s > seq}
            while self.last + 1 in self.own:
                self.last += 1
                self.own.discard(self.last)


@dataclass(eq=False, slots=True)
class Visitor:
    """A visitor's socket on this node, for one chat."""

    id: str                     # the chat
    outbox: Outbox
    lang: str
    feed: Feed
    started: float
    channel: str
    state: str = "queued"       # queued | active | ended (as last heard)
    last_queued: tuple[int, int] | None = None
    token: str = ""             # hash of the resume token (its key's TTL is refreshed with the chat's)


@dataclass(eq=False)
class Console:
    """A volunteer's console socket on this node."""

    profile: Profile
    outbox: Outbox
    feeds: dict[str, Feed] = field(default_factory=dict)   # active chats
    wrapups: set[str] = field(default_factory=set)

    @property
    def lang(self) -> str:
        return "sv" if "sv" in self.profile.languages else sorted(self.profile.languages)[0]


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# The sealed form of a line: one encoder, not one per call (json.dumps builds one
# for every call with non-default options).
_dumps_entry = json.JSONEncoder(ensure_ascii=False).encode


def _parse_wraps(raw: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in raw.split(",") if raw else []:
        chat, _, deadline = item.partition("@")
        out[chat] = float(deadline)
    return out


def _vol_fields(chats: set[str], wraps: dict[str, float]) -> dict[str, str]:
    return {"chats": ",".join(sorted(chats)),
            "wraps": ",".join(f"{c}@{d!r}" for c, d in sorted(wraps.items()))}


def _vol_chats(raw: dict[str, str]) -> set[str]:
    return {c for c in raw.get("chats", "").split(",") if c}


Local = list[dict[str, Any]]


class Hub:
    def __init__(self, settings: Settings, broker: Broker,
                 sessions: async_sessionmaker[AsyncSession],
                 clock: Callable[[], float] = time.time, node: str | None = None) -> None:
        self.settings = settings
        self.broker = broker
        self.sessions = sessions
        self.clock = clock
        self.node = node or secrets.token_hex(6)
        self.visitors: dict[str, Visitor] = {}          # chat -> its visitor's socket here
        self.consoles: dict[str, Console] = {}          # account -> its console here
        self.outboxes: dict[str, Outbox] = {}           # conn -> outbox, for remote closes
        self._sealers: dict[str, Sealer] = {}
        self._records: asyncio.Queue[dict[str, Any]] = asyncio.Queue(RECORD_QUEUE)
        self._tasks = Tasks()
        self.records_written = self.records_failed = 0     # read by GET /metrics (chat.metrics)
        self._waiting_puts: set[asyncio.Task[None]] = set()
        self._flushes: set[asyncio.Task[None]] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._matching = False
        self._match_again = False
        self._match_handle: asyncio.Handle | None = None
        self._per_position = (0.0, -math.inf)     # (seconds per queue position, when computed)
        self._epoch: str | None = None
        self._ticks = 0
        self._last_poll = 0.0
        # What the last reconcile pass found out of step (Hub._reconcile): key -> what was due.
        self._out_of_step: dict[tuple[str, ...], Any] = {}
        # Local visitors waiting here that the last full queue view did not list.
        self._unlisted: set[str] = set()
        # Notices for a chat or console whose socket is being registered here: another
        # node may act on it (assign it, say) as soon as the transaction that opens it
        # lands, and its notice may be read before the registration ends. Held, then
        # delivered in order once the socket has its welcome (key: "v:"+chat, "c:"+account).
        self._held: dict[str, list[dict[str, Any]]] = {}
        self.draining = False
        self.hours = HoursSource(sessions)
        self._tz = ZoneInfo(settings.timezone)
        self.directory = referral_store.DirectoryCache(sessions)
        self.code_key = referral_codes.code_key(settings.secret)
        self._stopping = False
        self._log_ttl = max(STATE_TTL_S, settings.visitor_grace_s + settings.idle_warn_s
                            + settings.idle_close_s + 3600)
        self.sup = Supervision(self)        # supervisors' tools (chat.supervision)

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False
        self._epoch = await self.broker.epoch()
        await self._beat()
        await self.hours.refresh()
        self.broker.on_reconnect(self._resync)
        self._tasks = Tasks()       # supervised: a task that dies is logged and restarted
        for name, run in (("hub.housekeeping", self._housekeeping), ("hub.records", self._record_writer),
                          ("hub.notices", self._listen), ("hub.hours", self._hours_refresher)):
            self._tasks.start(name, run)

    def healthy(self) -> bool:
        return self._tasks.healthy()

    def tasks_alive(self) -> dict[str, bool]:
        """Each background task's name and whether it runs now (chat.tasks)."""
        return self._tasks.alive()

    async def drain(self) -> None:
        """Stop taking chats here; tell every client to reconnect (elsewhere) and let go."""
        self.draining = True
        for vis in list(self.visitors.values()):
            vis.outbox.send({"type": "reconnect", "after_ms": secrets.randbelow(2000)})
            vis.outbox.close(1012)
        for con in list(self.consoles.values()):
            con.outbox.send({"type": "reconnect", "after_ms": secrets.randbelow(2000)})
            con.outbox.close(1012)
        log.info("node.draining", visitors=len(self.visitors), consoles=len(self.consoles))

    async def stop(self) -> None:
        """Leave the shared state consistent, write what records are due, stop the tasks.

        With a shared broker the chats go on: this node's sockets are marked gone
        (each gets its grace period to resume on another node). With the memory
        broker the state dies with the process, so every chat ends and is recorded.
        Every step has a bound (``STOP_STATE_S``, ``STOP_RECORDS_S``, ``STOP_TASKS_S``):
        a node that cannot reach Redis or the database still stops.
        """
        if self._flush_handle:
            self._flush_handle.cancel()
        if self._match_handle:
            self._match_handle.cancel()
        await self.sup.stop()
        try:
            async with asyncio.timeout(STOP_STATE_S):
                if self.broker.shared:
                    for chat_id, vis in list(self.visitors.items()):
                        await self.visitor_disconnected(vis, vis.outbox)
                    for con in list(self.consoles.values()):
                        await self.volunteer_disconnected(con, con.outbox)
                    await self.broker.transact(self._tx_leave)
                else:
                    await self._end_everything()
        except BrokerError as exc:
            log.error("node.stop_failed", error=str(exc))
        except TimeoutError:
            log.error("node.stop_failed", error="timeout")
        try:
            async with asyncio.timeout(STOP_RECORDS_S):
                await self._records.join()
        except TimeoutError:
            log.error("records.unwritten", count=self._records.qsize())
        self._stopping = True
        await self._cancel_all([*self._tasks.stop(), *self._flushes, *self._waiting_puts])

    @staticmethod
    async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
        """Cancel ``tasks`` and wait for them, at most ``STOP_TASKS_S``.

        One cancel is not always enough: on Python 3.11 ``asyncio.wait_for`` (which
        libraries still use inside their calls) loses a cancellation that arrives
        just as what it waits for finishes (CPython gh-86296), and the task runs on.
        So a task still running is cancelled again, every 50 ms, until the bound.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_TASKS_S
        pending = {t for t in tasks if not t.done()}
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=min(0.05, max(0.0, deadline - loop.time())))
            if pending and loop.time() >= deadline:
                log.error("node.stop_stuck", count=len(pending),
                          where=",".join(sorted(t.get_name() for t in pending)))
                return

    async def _tx_leave(self, tx: Tx) -> None:
        tx.zrem(S.NODES, self.node)

    async def _end_everything(self) -> None:
        now = self.clock()

        async def every_chat(tx: Tx) -> set[str]:
            chats = {c for c, _ in await tx.zrange(S.QUEUE, watch=False)}
            vids = sorted(await tx.smembers(S.VOLS, watch=False))
            for raw in await tx.hgetall_many([S.vol_key(v) for v in vids], watch=False):
                chats |= _vol_chats(raw) | set(_parse_wraps(raw.get("wraps", "")))
            return chats

        for chat_id in sorted(await self.broker.read(every_chat)):
            async def fn(tx: Tx, chat_id: str = chat_id) -> S.ChatState | None:
                st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id)))
                if st is None:
                    return None
                if st.state in ("queued", "active"):
                    st.outcome = "left_queued" if st.state == "queued" else "dropped"
                    st.ended_at, st.ended_by = now, ""
                st.state = "ended"
                tx.delete(S.chat_key(chat_id), S.log_key(chat_id), S.ids_key(chat_id))
                return st
            st = await self.broker.transact(fn)
            if st is not None:
                self._record(st, None)

    # -- helpers ---------------------------------------------------------------------
    def sealer(self, chat_id: str) -> Sealer:
        sealer = self._sealers.get(chat_id)
        if sealer is None:
            if len(self._sealers) > 20000:
                self._sealers.clear()
            sealer = self._sealers[chat_id] = Sealer(self.settings.secret, chat_id)
        return sealer

    def _seal(self, chat_id: str, payload: Any, seq: int = NOTE_SEQ) -> str:
        return _b64(self.sealer(chat_id).seal(seq, json.dumps(payload, ensure_ascii=False).encode()))

    def _open(self, chat_id: str, blob: str, seq: int = NOTE_SEQ) -> Any:
        return json.loads(self.sealer(chat_id).open(seq, base64.b64decode(blob)))

    def _intake(self, st: S.ChatState) -> dict[str, Any]:
        return self._open(st.id, st.intake, INTAKE_SEQ) if st.intake else {}

    def _notify(self, tx: Tx, node: str, notice: dict[str, Any], local: Local,
                payload: Any = None, blob: str | None = None) -> None:
        """Send ``notice`` to ``node``: here at once after the commit, elsewhere by Pub/Sub.

        A payload crosses Redis sealed: ``blob`` when the caller sealed it already.
        """
        if not node:
            return
        if node == self.node:
            local.append({**notice, "payload": payload})
        else:
            if payload is not None:
                notice = {**notice, "blob": blob or self._seal(notice["chat"], payload)}
            tx.publish(node, json.dumps(notice, separators=(",", ":")))

    def _append(self, tx: Tx, local: Local, st: S.ChatState, seq: int, entry: dict[str, Any],
                readers: list[tuple[str, str]]) -> None:
        """Log line ``seq`` sealed (the log bounded, with a TTL) and send it to each (side, node)."""
        sealed = _b64(self.sealer(st.id).seal(seq, json.dumps(entry, ensure_ascii=False).encode()))
        key = S.log_key(st.id)
        tx.zadd(key, {sealed: seq})
        if seq > MAX_LOG_ENTRIES:
            tx.zremrangebyrank(key, 0, -MAX_LOG_ENTRIES - 1)
        tx.expire(key, self._log_ttl)
        for side, node in readers:
            self._notify(tx, node, {"k": "line", "chat": st.id, "to": side, "seq": seq, "vid": st.vol},
                         local, entry, blob=sealed)
        for vid, node in st.observers():    # supervisors observing (chat.supervision)
            self._notify(tx, node, {"k": "line", "chat": st.id, "to": "observer", "seq": seq, "vid": vid},
                         local, entry, blob=sealed)

    async def _vol_node(self, tx: Tx, vid: str) -> str:
        if not vid:
            return ""
        return (await tx.hgetall(S.vol_key(vid), watch=False)).get("node", "")

    async def _commit(self, fn: Callable[[Tx, Local], Awaitable[Any]]) -> Any:
        """Run a transaction that may notify sockets; deliver the local notices after it."""
        local: Local = []

        async def run(tx: Tx) -> Any:
            local.clear()
            return await fn(tx, local)

        result = await self.broker.transact(run)
        for notice in local:
            await self._on_notice(notice)
        return result

    # -- visitor ---------------------------------------------------------------------
    async def visitor_hello(self, outbox: Outbox, hello: dict[str, Any]) -> Visitor | None:
        """Open or resume a chat for a visitor socket; None when it was turned away."""
        now = self.clock()
        if hello["resume"]:
            token_hash = _hash_token(hello["resume"])
            found = await self._commit(lambda tx, local: self._tx_attach(tx, local, token_hash,
                                                                        outbox.conn, now))
            st, tomb, was_away = found
            if st is not None:
                return await self._visitor_resumed(st, outbox, hello["resume"], hello["last_seq"],
                                                   was_away)
            if tomb is not None:
                outbox.send({"type": "welcome", "resume_token": hello["resume"], "open": True,
                             "resumed": True})
                outbox.send({"type": "ended", "by": tomb})
                outbox.close(1000)
                return None
            outbox.send({"type": "error", "code": "resume_failed",
                         "detail": "that chat is no longer open; a new chat starts"})
        token, chat_id = secrets.token_urlsafe(32), secrets.token_urlsafe(12)
        st = S.ChatState(id=chat_id, state="queued", lang=hello["lang"], channel=hello["channel"],
                         started=now, token=_hash_token(token), vnode=self.node, vconn=outbox.conn,
                         last_act=now)
        schedule = self.hours.current               # in memory: no await before the queue
        at = datetime.fromtimestamp(now, timezone.utc)
        if not hours.is_open(schedule, at, self._tz):
            nxt = hours.next_open(schedule, at, self._tz)
            await self._turn_away(outbox, st, "out_of_hours", texts.out_of_hours(st.lang, nxt),
                            next_open=nxt.isoformat() if nxt else None)
            return None
        held = self._held["v:" + chat_id] = []
        try:
            opened = await self.broker.transact(lambda tx: self._tx_open(tx, st))
            if not opened:
                await self._turn_away(outbox, st, "full", texts.text("queue_full", st.lang))
                return None
            vis = self._adopt(st, outbox, Feed(0))
            outbox.send({"type": "welcome", "resume_token": token, "open": True})
        finally:
            del self._held["v:" + chat_id]
        log.info("chat.queued", chat=chat_id, lang=st.lang, channel=st.channel)
        for notice in held:
            await self._on_notice(notice)
        if "followup_vid" in hello:
            await self.sup.followup_returns(vis, hello.get("followup_vid", ""))
        # Only the newcomer's position is new: a chat joining at the back moves nobody
        # else (a change on another node is caught by the next POSITION_POLL_S poll).
        await self._flush_positions(only=vis)
        self._match_soon()
        return vis

    async def _turn_away(self, outbox: Outbox, st: S.ChatState, reason: str, text: str,
                         **extra: Any) -> None:
        """Refuse a new chat: ``welcome`` without a token, ``closed``, close 1000, a record."""
        services = await self.closed_services(st.lang)
        outbox.send({"type": "welcome", "resume_token": None, "open": False})
        outbox.send({"type": "closed", "reason": reason, **extra, "services": services,
                     "text": text})
        outbox.close(1000)
        log.info("chat.turned_away", reason=reason, channel=st.channel)
        st.state, st.outcome, st.ended_at = "ended", "closed", st.started
        self._record(st, None)

    async def _tx_open(self, tx: Tx, st: S.ChatState) -> bool:
        if await tx.zcard(S.QUEUE, watch=False) >= self.settings.max_queue:
            return False
        key = S.chat_key(st.id)
        tx.hset(key, st.dump_new())
        tx.expire(key, self._log_ttl)
        tx.set(S.token_key(st.token), st.id, ex=self._log_ttl)
        tx.zadd(S.QUEUE, {st.id: st.started})
        tx.sadd(S.nvis_key(self.node), st.id)
        return True

    def _adopt(self, st: S.ChatState, outbox: Outbox, feed: Feed) -> Visitor:
        vis = Visitor(id=st.id, outbox=outbox, lang=st.lang, feed=feed, started=st.started,
                      channel=st.channel, state="queued" if st.state == "queued" else "active", token=st.token)
        self.visitors[st.id] = vis
        self.outboxes[outbox.conn] = outbox
        return vis

    async def _tx_attach(self, tx: Tx, local: Local, token_hash: str, conn: str,
                         now: float) -> tuple[S.ChatState | None, str | None, bool]:
        chat_id = await tx.get(S.token_key(token_hash))
        st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id))) if chat_id else None
        if st is None or st.state not in ("queued", "active"):
            return None, await tx.get(S.tomb_key(token_hash), watch=False), False
        was_away = not st.vnode
        key = S.chat_key(st.id)
        tx.hset(key, {"vnode": self.node, "vconn": conn, "vgone": ""})
        tx.expire(key, self._log_ttl)
        if st.vnode and st.vnode != self.node:
            tx.srem(S.nvis_key(st.vnode), st.id)
            if st.vconn:
                tx.publish(st.vnode, json.dumps({"k": "close", "conn": st.vconn, "code": 4409}))
        tx.sadd(S.nvis_key(self.node), st.id)
        tx.zrem(S.DUE, f"vgone:{st.id}")
        if was_away and st.state == "active":
            self._notify(tx, await self._vol_node(tx, st.vol),
                         {"k": "frame", "chat": st.id, "to": "volunteer", "vid": st.vol}, local,
                         {"type": "presence", "chat": st.id, "visitor": "here"})
        return st, None, was_away

    async def _visitor_resumed(self, st: S.ChatState, outbox: Outbox, token: str, last_seq: int,
                               was_away: bool) -> Visitor:
        previous = self.visitors.get(st.id)
        if previous is not None and previous.outbox is not outbox:
            previous.outbox.close(4409)
        # A client may claim more than the chat holds (a stale or buggy last_seq): it has
        # at most every line so far, and no later line may be taken as already seen.
        vis = self._adopt(st, outbox, Feed(min(last_seq, st.seq)))
        async with vis.feed.lock:
            outbox.send({"type": "welcome", "resume_token": token, "open": True, "resumed": True})
            replayed = await self._replay(st.id, vis.feed, outbox, "visitor", vis.lang)
            if st.state == "queued":
                await self._flush_positions(only=vis)
            else:
                name = (await self.broker.read(lambda tx: tx.hgetall(S.vol_key(st.vol), watch=False))
                        ).get("name", "")
                outbox.send({"type": "assigned", "volunteer": name})
        if was_away and st.state == "active":
            await self._system(st.id, "visitor_back", to="volunteer")
        log.info("chat.resumed", chat=st.id, side="visitor", replayed=replayed)
        return vis

    async def visitor_frame(self, vis: Visitor, outbox: Outbox, frame: dict[str, Any]) -> None:
        if self.visitors.get(vis.id) is not vis:
            raise FrameError("replaced", "this chat continues on a newer connection")
        kind = frame["type"]
        if kind == "hello":
            raise FrameError("out_of_order", "hello was already received on this connection")
        if vis.state == "ended":
            raise FrameError("chat_ended", "the chat is over")
        if kind == "message":
            await self._line(vis.id, "visitor", "visitor", frame["id"], frame["text"], outbox, vis.feed)
        elif kind == "intake":
            await self._commit(lambda tx, local: self._tx_intake(tx, local, vis.id, frame))
        elif kind == "typing":
            await self._commit(lambda tx, local: self._tx_typing(tx, local, vis.id, frame["active"]))
        elif kind == "leave":
            if not await self._end(vis.id, "visitor"):
                raise FrameError("chat_ended", "the chat is over")

    async def _live(self, tx: Tx, chat_id: str, *, watch: bool = True) -> S.ChatState:
        st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id), watch=watch))
        if st is None or st.state not in ("queued", "active"):
            raise FrameError("chat_ended", "the chat is over")
        return st

    async def _tx_intake(self, tx: Tx, local: Local, chat_id: str, frame: dict[str, Any]) -> None:
        st = await self._live(tx, chat_id)
        intake = self._intake(st)
        fields = {k: v for k, v in frame.items() if k != "type"}
        if "municipality" in fields and "district" not in fields:
            fields["district"] = None   # a district belongs to its municipality
        municipality = fields.get("municipality", intake.get("municipality"))
        if fields.get("district") and not geography.valid_district(municipality, fields["district"]):
            raise FrameError("invalid_field", "district: must be a district of your municipality")
        intake.update(fields)
        tx.hset(S.chat_key(chat_id), {"intake": self._seal(chat_id, intake, INTAKE_SEQ)})
        if st.state == "active":
            self._notify(tx, await self._vol_node(tx, st.vol),
                         {"k": "frame", "chat": chat_id, "to": "volunteer", "vid": st.vol}, local,
                         {"type": "intake", "chat": chat_id, "intake": intake})

    async def _tx_typing(self, tx: Tx, local: Local, chat_id: str, active: bool) -> None:
        st = await self._live(tx, chat_id, watch=False)
        if st.state == "active":
            self._notify(tx, await self._vol_node(tx, st.vol),
                         {"k": "frame", "chat": chat_id, "to": "volunteer", "vid": st.vol}, local,
                         {"type": "typing", "chat": chat_id, "active": active})

    async def visitor_disconnected(self, vis: Visitor, outbox: Outbox) -> None:
        if self.visitors.get(vis.id) is not vis:
            self.outboxes.pop(outbox.conn, None)
            return          # an older socket of a resumed chat
        del self.visitors[vis.id]
        self.outboxes.pop(outbox.conn, None)
        if vis.state == "ended":
            return
        now = self.clock()

        async def fn(tx: Tx, local: Local) -> str | None:
            st = S.ChatState.load(vis.id, await tx.hgetall(S.chat_key(vis.id)))
            if st is None or st.vconn != outbox.conn or st.state not in ("queued", "active"):
                return None
            tx.hset(S.chat_key(vis.id), {"vnode": "", "vconn": "", "vgone": repr(now)})
            tx.srem(S.nvis_key(self.node), vis.id)
            tx.zadd(S.DUE, {f"vgone:{vis.id}": now + self.settings.visitor_grace_s})
            if st.state == "active":
                self._notify(tx, await self._vol_node(tx, st.vol),
                             {"k": "frame", "chat": vis.id, "to": "volunteer", "vid": st.vol}, local,
                             {"type": "presence", "chat": vis.id, "visitor": "away"})
            return st.state

        try:
            state = await self._commit(fn)
        except BrokerError as exc:
            log.warning("chat.detach_failed", chat=vis.id, error=str(exc))
            return
        if state == "active":
            await self._system(vis.id, "visitor_away", to="volunteer")
        if state is not None:
            log.info("chat.visitor_away", chat=vis.id, state=state)

    # -- volunteer -------------------------------------------------------------------
    async def volunteer_connected(self, profile: Profile, outbox: Outbox) -> Console:
        now = self.clock()
        vid = profile.id

        async def fn(tx: Tx, local: Local) -> tuple[dict[str, str], tuple[str, str]]:
            raw = await tx.hgetall(S.vol_key(vid))
            vol = S.VolState.load(vid, raw) or S.VolState(id=vid, idle_since=now)
            old = (vol.node, vol.conn)
            vol.node, vol.conn, vol.gone = self.node, outbox.conn, None
            vol.capacity, vol.langs, vol.name = max(1, profile.capacity), profile.languages, profile.display_name
            tx.hset(S.vol_key(vid), vol.dump())
            tx.expire(S.vol_key(vid), self._log_ttl)
            tx.sadd(S.VOLS, vid)
            tx.sadd(S.nvol_key(self.node), vid)
            tx.zrem(S.DUE, f"vol:{vid}")
            if old[0] and old[0] != self.node:
                tx.srem(S.nvol_key(old[0]), vid)
                if old[1]:
                    tx.publish(old[0], json.dumps({"k": "close", "conn": old[1], "code": 4409}))
            return raw, old

        key = "c:" + vid
        held = self._held[key] = []
        try:
            raw, old = await self._commit(fn)
            previous = self.consoles.get(vid)
            if previous is not None and previous.outbox is not outbox:
                previous.outbox.close(4409)
            con = self.consoles[vid] = Console(profile=profile, outbox=outbox)
            self.outboxes[outbox.conn] = outbox
            wants = raw.get("wants") == "1"
            outbox.send({"type": "welcome", "display_name": profile.display_name,
                         "state": "available" if wants else "paused", "capacity": profile.capacity})
            for chat_id in sorted(_vol_chats(raw)):
                await self._console_assigned(con, chat_id, resumed=True)
            for chat_id in sorted(_parse_wraps(raw.get("wraps", ""))):
                st = await self._read_chat(chat_id)
                con.wrapups.add(chat_id)
                outbox.send({"type": "ended", "chat": chat_id, "by": (st.ended_by if st else "") or None,
                             "wrapup_due": True})
        finally:
            if self._held.get(key) is held:     # a second connection of the account may have begun
                del self._held[key]
        for notice in held:
            await self._on_notice(notice)
        log.info("volunteer.connected", volunteer=vid[:8], active=len(con.feeds))
        await self._match()
        return con

    async def _read_chat(self, chat_id: str) -> S.ChatState | None:
        raw = await self.broker.read(lambda tx: tx.hgetall(S.chat_key(chat_id), watch=False))
        return S.ChatState.load(chat_id, raw)

    async def _console_assigned(self, con: Console, chat_id: str, *, resumed: bool) -> None:
        st = await self._read_chat(chat_id)
        if st is None or st.state != "active" or st.vol != con.profile.id:
            return
        feed = con.feeds.get(chat_id)
        if feed is not None and not resumed:
            return                  # already told (a local and a resync notice)
        feed = con.feeds[chat_id] = Feed(0)
        async with feed.lock:
            con.outbox.send({"type": "assigned", "chat": chat_id, "intake": self._intake(st),
                             "lang": st.lang, "channel": st.channel, "resumed": resumed,
                             "visitor": "here" if st.vnode else "away"})
            await self._replay(chat_id, feed, con.outbox, "volunteer", con.lang)
        await self.sup.assigned(con, st)

    async def volunteer_frame(self, con: Console, outbox: Outbox, frame: dict[str, Any]) -> None:
        vid = con.profile.id
        if self.consoles.get(vid) is not con:
            raise FrameError("replaced", "this console continues on a newer connection")
        kind = frame["type"]
        if kind in SUPERVISION_TYPES:
            await self.sup.frame(con, frame)
            return
        if kind == "status":
            available = frame["state"] == "available"
            now = self.clock()

            async def fn(tx: Tx) -> None:
                vol = S.VolState.load(vid, await tx.hgetall(S.vol_key(vid)))
                if vol is None:
                    raise FrameError("replaced", "this console is no longer connected")
                fields = {"wants": "1" if available else "0"}
                if available and not vol.wants:
                    fields["idle_since"] = repr(now)
                tx.hset(S.vol_key(vid), fields)

            await self.broker.transact(fn)
            outbox.send({"type": "status", "state": frame["state"]})
            log.info("volunteer.status", volunteer=vid[:8], state=frame["state"])
            self._positions_changed()
            await self._match()
            return
        if kind == "wrapup":
            await self._wrapup(con, frame["chat"], frame["report"])
            return
        chat_id = frame["chat"]
        if chat_id in con.wrapups:
            raise FrameError("chat_ended", "the chat is over; file the wrap-up")
        feed = con.feeds.get(chat_id)
        if feed is None:
            if await self.sup.joined_frame(con, frame):
                return
            raise FrameError("unknown_chat", "you have no chat with that id")
        if kind == "message":
            await self._line(chat_id, "volunteer", vid, frame["id"], frame["text"], outbox, feed)
        elif kind == "typing":
            async def fn2(tx: Tx, local: Local) -> None:
                st = await self._own(tx, chat_id, vid, watch=False)
                self._notify(tx, st.vnode, {"k": "frame", "chat": chat_id, "to": "visitor"}, local,
                             {"type": "typing", "active": frame["active"]})
            await self._commit(fn2)
        elif kind == "end":
            if not await self._end(chat_id, "volunteer", vid=vid):
                raise FrameError("unknown_chat", "you have no chat with that id")
        elif kind == "refer":
            await self._refer(con, chat_id, frame["services"], outbox, feed, frame.get("facts") or {})

    async def _own(self, tx: Tx, chat_id: str, vid: str, *, watch: bool = True) -> S.ChatState:
        st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id), watch=watch))
        if st is None or st.vol != vid:
            raise FrameError("unknown_chat", "you have no chat with that id")
        if st.state != "active":
            raise FrameError("chat_ended", "the chat is over; file the wrap-up")
        return st

    async def volunteer_disconnected(self, con: Console, outbox: Outbox) -> None:
        vid = con.profile.id
        self.outboxes.pop(outbox.conn, None)
        if self.consoles.get(vid) is not con:
            return
        del self.consoles[vid]
        now = self.clock()

        async def fn(tx: Tx) -> bool:
            vol = S.VolState.load(vid, await tx.hgetall(S.vol_key(vid)))
            if vol is None or vol.conn != outbox.conn:
                return False
            tx.hset(S.vol_key(vid), {"node": "", "conn": "", "gone": repr(now)})
            tx.srem(S.nvol_key(self.node), vid)
            tx.zadd(S.DUE, {f"vol:{vid}": now + self.settings.volunteer_grace_s})
            return True

        try:
            if await self.broker.transact(fn):
                log.info("volunteer.away", volunteer=vid[:8], active=len(con.feeds))
        except BrokerError as exc:
            log.warning("volunteer.detach_failed", volunteer=vid[:8], error=str(exc))
        self._positions_changed()

    def signed_out(self, account_id: str, code: str = "signed_out") -> None:
        """The account signed out, or an admin disabled, reset or changed its role: its console
        socket closes (its chats get the grace period)."""
        con = self.consoles.get(account_id)
        if con is not None:
            detail = SIGNED_OUT.get(code, SIGNED_OUT["signed_out"])
            con.outbox.send({"type": "error", "code": code, "detail": detail})
            con.outbox.close(4401)

    # -- referrals ---------------------------------------------------------------------
    async def closed_services(self, lang: str) -> list[dict[str, Any]]:
        """The cards a visitor gets when the chat cannot take them: the directory's, 112 first."""
        try:
            directory = await self.directory.recent()
        except Exception:
            log.exception("directory.unreadable")
            return fallback_services(lang)
        cards = [s.card(lang) for s in referral_rules.closed_services(directory)]
        return cards or fallback_services(lang)

    def _referrals(self, st: S.ChatState) -> dict[str, Any]:
        """What was referred in a chat: ``{"given": [{"service", "codes": [hash]}]}``."""
        return self._open(st.id, st.referrals, REFERRALS_SEQ) if st.referrals else {"given": []}

    async def _refer(self, con: Console, chat_id: str, service_ids: list[str], outbox: Outbox,
                     feed: Feed, facts: dict[str, Any]) -> None:
        """Give the visitor cards with fresh one-time codes; tell the console; note it for the record.

        The codes exist in the clear only in the visitor's frame and, sealed, in
        the replay log (so a resumed visitor gets the cards again); the database
        and the chat state keep keyed hashes.
        """
        vid = con.profile.id
        st = await self._read_chat(chat_id)
        if st is None or st.vol != vid:
            raise FrameError("unknown_chat", "you have no chat with that id")
        if st.state != "active":
            raise FrameError("chat_ended", "the chat is over; file the wrap-up")
        directory = await self.directory.current()
        intake = self._intake(st)
        if "municipality" in facts and "district" not in facts:
            intake["district"] = None
        intake.update(facts)        # what the volunteer learned outranks the intake answers
        query = referral_rules.Query(age=intake.get("age"), municipality=intake.get("municipality"),
                                     district=geography.consistent(intake.get("municipality"),
                                                                   intake.get("district")))
        unknown, unfit = referral_rules.ineligible(directory, service_ids, query)
        if unknown:
            raise FrameError("unknown_service", f"services: {unknown[0]!r} is not in the referral directory")
        if unfit:
            raise FrameError("ineligible_service", f"services: {unfit[0]!r} does not fit what the visitor "
                             "said (age, where they live); ask /api/referrals/suggest")
        issued = await referral_store.issue_codes(
            self.sessions, self.code_key, service_ids, issued_on=referral_store.today(self.settings.timezone),
            valid_days=self.settings.referral_code_days)
        cards = []
        for item in issued:
            service = directory.get(item.service_id)
            assert service is not None
            cards.append({**service.card(st.lang), "code": referral_codes.display(item.code),
                          "expires_on": item.expires_on.isoformat()})
        entry = {"from": "volunteer", "kind": "referral", "to": "both", "services": service_ids, "cards": cards}
        now = self.clock()

        async def fn(tx: Tx, local: Local) -> int:
            current = await self._own(tx, chat_id, vid)
            given = self._referrals(current)
            for item in issued:
                found = next((g for g in given["given"] if g["service"] == item.service_id), None)
                if found is None:
                    given["given"].append({"service": item.service_id, "codes": [item.code_hash]})
                else:
                    found["codes"].append(item.code_hash)
            seq = current.seq + 1
            key = S.chat_key(chat_id)
            tx.hset(key, {"seq": str(seq), "last_act": repr(now), "warned": "0",
                          "referrals": self._seal(chat_id, given, REFERRALS_SEQ)})
            tx.expire(key, self._log_ttl)
            tx.zadd(S.DUE, {f"idle:{chat_id}": now + self.settings.idle_warn_s})
            self._append(tx, local, current, seq, entry, [("visitor", current.vnode)])
            return seq

        try:
            seq = await self._commit(fn)
        except Exception:
            await referral_store.withdraw_codes(self.sessions, [i.code_hash for i in issued])
            raise
        async with feed.lock:
            outbox.send({"type": "referred", "chat": chat_id, "seq": seq, "services": service_ids})
            feed.settle(seq)
        log.info("chat.referred", chat=chat_id, count=len(issued))

    async def _purge_codes(self) -> None:
        try:
            count = await referral_store.purge(self.sessions, referral_store.today(self.settings.timezone))
        except Exception:
            log.exception("referrals.purge_failed")
            return
        if count:
            log.info("referrals.purged", count=count)

    # -- lines -------------------------------------------------------------------------
    @functools.cached_property
    def _digest_key(self) -> bytes:
        return hashlib.sha256(b"jourchatt/resend/v1/" + self.settings.secret).digest()

    def _digest(self, chat_id: str, body: str) -> str:
        """A keyed digest of a line, to tell a resend from a new line with the same id.

        Keyed BLAKE2b (a third of HMAC-SHA256's cost here); never the text itself.
        """
        return hashlib.blake2b(f"{chat_id}\0{body}".encode(), key=self._digest_key, digest_size=8).hexdigest()

    def _id_key(self, chat_id: str, sender: str, client_id: str | int, digest: str) -> str:
        """The field of ``jc:ids:<chat>`` that remembers a sender's message id (for resends).

        The id is the client's own (any string up to 64 characters), so it may say
        anything: only a keyed digest of it reaches the broker, never the id itself.
        """
        kind = "i" if isinstance(client_id, int) else "s"
        return hashlib.blake2b(f"client-id\0{chat_id}\0{sender}\0{kind}:{client_id}\0{digest}".encode(),
                               key=self._digest_key, digest_size=16).hexdigest()

    async def _line(self, chat_id: str, side: str, sender: str, client_id: str | int, body: str,
                    ack_to: Outbox, feed: Feed) -> None:
        """A chat line: number it, log it sealed, ack it, deliver it.

        ``sender`` identifies who wrote it within its side (the volunteer's
        account id), so that two volunteers of one chat never share client ids.
        A line with an id *and* text already seen is a resend after a lost ack:
        it gets the same seq again and is not delivered twice.

        One ``append_line`` does it all in the broker (one round trip with Redis).
        The line is sealed for the seq this socket expects next (the last it
        settled, plus one); when another line came in between, the broker says
        which seq is next and the line is sealed again for it.
        """
        now = self.clock()
        digest = self._digest(chat_id, body)
        # Keyed by id *and* text: a reused id with a new text must not make the old pair forgotten.
        id_key = self._id_key(chat_id, sender, client_id, digest)
        entry = {"from": side, "text": body}
        plain = _dumps_entry(entry).encode()
        sealer = self.sealer(chat_id)
        seq = max(feed.last, max(feed.own, default=0)) + 1
        for _ in range(LINE_ATTEMPTS):
            result = await self.broker.append_line(LineWrite(
                chat=chat_id, chat_key=S.chat_key(chat_id), ids_key=S.ids_key(chat_id),
                log_key=S.log_key(chat_id), vol_prefix=S.vol_key(""), side=side,
                sender=sender if side == "volunteer" else "", id_key=id_key,
                digest=digest, expect=seq, blob=_b64(sealer.seal(seq, plain)),
                now=now, ttl_s=self._log_ttl, node=self.node))
            if result.status != "seq":
                break
            seq = result.seq
        else:
            raise BrokerError("the chat's seq kept moving")
        if result.status == "closed" or result.status == "ended":
            raise FrameError("chat_ended", "the chat is over" if side == "visitor"
                             else "the chat is over; file the wrap-up")
        if result.status == "not_yours":
            raise FrameError("unknown_chat", "you have no chat with that id")
        seq = result.seq
        for to, vid in result.local:
            await self._on_notice({"k": "line", "chat": chat_id, "to": to, "seq": seq, "vid": vid,
                                   "payload": entry})
        ack: dict[str, Any] = {"type": "ack", "id": client_id, "seq": seq}
        if side == "volunteer":
            ack["chat"] = chat_id
        ack_to.send(ack)
        feed.settle(seq)

    async def _system(self, chat_id: str, key: str, *, to: str = "both",
                      check: Callable[[S.ChatState], bool] | None = None,
                      fields: dict[str, str] | None = None) -> bool:
        """A line from the system, numbered like any other, for one side or both.

        Rendered in each reader's language; a reader skips lines not meant for it,
        so its seq numbers have gaps, never reversals. ``check`` runs inside the
        transaction: the line is written only if it holds.
        """
        entry = {"from": "system", "key": key, "to": to}

        async def fn(tx: Tx, local: Local) -> bool:
            st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id)))
            if st is None or st.state not in ("queued", "active") or (check and not check(st)):
                return False
            seq = st.seq + 1
            tx.hset(S.chat_key(chat_id), {"seq": str(seq), **(fields or {})})
            readers = []
            if to in ("both", "visitor"):
                readers.append(("visitor", st.vnode))
            if to in ("both", "volunteer") and st.state == "active":
                readers.append(("volunteer", await self._vol_node(tx, st.vol)))
            self._append(tx, local, st, seq, entry, readers)
            return True

        try:
            return bool(await self._commit(fn))
        except BrokerError as exc:
            log.warning("chat.system_line_failed", chat=chat_id, key=key, error=str(exc))
            return False

    def _render(self, chat_id: str, seq: int, entry: dict[str, Any], side: str, lang: str) -> dict[str, Any]:
        if entry.get("kind") == "referral":
            if side == "visitor":
                return {"type": "referral", "seq": seq, "services": entry["cards"]}
            return {"type": "referred", "chat": chat_id, "seq": seq, "services": entry["services"]}
        frame: dict[str, Any] = {"type": "message", "seq": seq, "from": entry["from"]}
        if side == "volunteer":
            frame["chat"] = chat_id
        if entry["from"] == "system":
            frame["key"] = entry["key"]
            frame["text"] = texts.text(entry["key"], lang)
        else:
            frame["text"] = entry["text"]
        render_extra(frame, entry, side)
        return frame

    async def _read_log(self, chat_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        found = await self.broker.read(
            lambda tx: tx.zrangebyscore(S.log_key(chat_id), after + 1, math.inf, watch=False))
        sealer = self.sealer(chat_id)
        return [(int(seq), json.loads(sealer.open(int(seq), base64.b64decode(blob))))
                for blob, seq in found]

    async def _replay(self, chat_id: str, feed: Feed, outbox: Outbox, side: str, lang: str) -> int:
        """Send the logged lines after ``feed.last`` (caller holds feed.lock)."""
        entries = await self._read_log(chat_id, feed.last)
        for seq, entry in entries:
            if entry.get("to", "both") in ("both", side):
                outbox.send(self._render(chat_id, seq, entry, side, lang), replay=True)
        if entries:
            feed.settle_through(entries[-1][0])
        return len(entries)

    async def _deliver(self, chat_id: str, feed: Feed, outbox: Outbox, side: str, lang: str,
                       seq: int, entry: dict[str, Any] | None) -> int:
        """Deliver line ``seq``; first fill any hole below it from the log, in order.

        Returns how many frames went out (lines not meant for ``side`` are skipped).
        """
        sent = 0
        async with feed.lock:
            if seq <= feed.last or seq in feed.own:
                return 0
            if seq == feed.last + 1 and entry is not None:
                if entry.get("to", "both") in ("both", side):
                    outbox.send(self._render(chat_id, seq, entry, side, lang))
                    sent = 1
                feed.settle(seq)
                return sent
            for logged_seq, logged in await self._read_log(chat_id, feed.last):
                if logged_seq in feed.own:
                    continue
                if logged.get("to", "both") in ("both", side) and logged["from"] != side:
                    outbox.send(self._render(chat_id, logged_seq, logged, side, lang))
                    sent += 1
                feed.settle_through(logged_seq)
            feed.settle_through(seq)
        return sent

    # -- notices -----------------------------------------------------------------------
    async def _listen(self) -> None:
        channel = self.broker.subscribe(self.node)
        try:
            async for message in channel:
                try:
                    notices = json.loads(message)
                except ValueError:
                    log.error("notice.unreadable")
                    continue
                # A batch of lines for this node comes as one message: a list (chat.broker.redis).
                for notice in notices if isinstance(notices, list) else (notices,):
                    try:
                        await self._on_notice(notice)
                    except Exception:
                        log.exception("notice.failed")
        finally:
            # Cancelled between messages, the generator would be left open and its
            # connection collected after the loop closed: close it here.
            await channel.aclose()  # type: ignore[attr-defined]

    async def _on_notice(self, n: dict[str, Any]) -> None:
        kind = n["k"]
        if kind == "close":
            outbox = self.outboxes.get(n["conn"])
            if outbox is not None:
                outbox.close(n["code"])
            return
        chat_id = n["chat"]
        if self._held:
            held = self._held.get(("v:" + chat_id) if n["to"] == "visitor" else ("c:" + n.get("vid", "")))
            if held is not None and n["to"] != "observer":
                held.append(n)
                return
        payload = n.get("payload")
        if payload is None and "blob" in n:
            payload = self._open(chat_id, n["blob"], n["seq"] if kind == "line" else NOTE_SEQ)
        if n["to"] in ("observer", "sup"):
            await self.sup.on_notice(n, payload)
            return
        if n["to"] == "visitor":
            vis = self.visitors.get(chat_id)
            if vis is None:
                return
            if kind == "line":
                await self._deliver(chat_id, vis.feed, vis.outbox, "visitor", vis.lang, n["seq"], payload)
            elif kind == "assigned":
                vis.state, vis.last_queued = "active", None
                vis.outbox.send({"type": "assigned", "volunteer": n["name"]})
            elif kind == "requeued":
                vis.state, vis.last_queued = "queued", None
                self._positions_changed()
            elif kind == "ended":
                vis.state = "ended"
                vis.outbox.send({"type": "ended", "by": n["by"]})
                vis.outbox.close(1000)
            elif kind == "frame":
                vis.outbox.send(payload)
            return
        con = self.consoles.get(n.get("vid", ""))
        if con is None:
            return
        if kind == "line":
            feed = con.feeds.get(chat_id)
            if feed is not None:
                await self._deliver(chat_id, feed, con.outbox, "volunteer", con.lang, n["seq"], payload)
        elif kind == "assigned":
            await self._console_assigned(con, chat_id, resumed=False)
        elif kind == "ended":
            con.feeds.pop(chat_id, None)
            con.wrapups.add(chat_id)
            con.outbox.send({"type": "ended", "chat": chat_id, "by": n["by"], "wrapup_due": True})
        elif kind == "frame" and chat_id in con.feeds:
            con.outbox.send(payload)

    async def _resync(self) -> None:
        """After the broker link came back: fill every feed from the logs, catch up on state
        (what Pub/Sub lost while the link was down), at once rather than on two passes.
        Redis that came back empty (a new epoch) lost the live chats: ``_state_lost``.
        A ``BrokerError`` goes to the broker, which runs this again after a back-off."""
        epoch = await self.broker.epoch()
        if epoch != self._epoch:
            await self._state_lost(epoch)
            return
        await self._reconcile(at_once=True)
        self._positions_changed()
        await self._match()

    async def _reconcile(self, *, at_once: bool = False) -> None:
        """Make up for notices that never came: Redis Pub/Sub drops messages (facts.md),
        while its link is down (then ``_resync`` runs this ``at_once``) and, rarely, with
        the link up, which would leave a visitor waiting for an assignment that happened,
        a console without its chat, or a line undelivered until the next one.

        Once per ``POSITION_POLL_S`` on a shared broker: the shared state of the chats
        the sockets here are in (active ones, waiting ones the queue no longer lists)
        and of the consoles here is read in one round trip and compared with what
        each socket was told. A difference seen in two passes in a row (so not a
        notice still on its way) is repaired as the notice would have: the same code
        runs, so the socket gets what it would have got, in order, at most once.
        Waiting visitors the queue still lists cost nothing here (the position flush
        reads the queue anyway). ``at_once`` (after a reconnect) reads every open
        chat here and repairs on this pass.
        """
        if not at_once and not self.broker.shared:
            return
        visitors = [v for v in self.visitors.values()
                    if v.state == "active" or (v.state == "queued" and (at_once or v.id in self._unlisted))]
        consoles = list(self.consoles.values())
        feeds = [(con, chat_id, feed) for con in consoles for chat_id, feed in con.feeds.items()]
        keys = ([S.chat_key(v.id) for v in visitors] + [S.vol_key(c.profile.id) for c in consoles]
                + [S.chat_key(chat_id) for _, chat_id, _ in feeds])
        if not keys:
            self._out_of_step = {}
            return
        try:
            raws = await self.broker.read(lambda tx: tx.hgetall_many(keys, watch=False))
        except BrokerError:
            if at_once:
                raise           # _resync: the broker tries again
            return
        seen: dict[tuple[str, ...], Any] = {}
        repairs: list[tuple[tuple[str, ...], Callable[[], Awaitable[Any]]]] = []

        def out_of_step(key: tuple[str, ...], due: Any, repair: Callable[[], Awaitable[Any]]) -> None:
            seen[key] = due
            if at_once or self._out_of_step.get(key) == due:
                repairs.append((key, repair))

        at = 0
        for vis in visitors:
            st = S.ChatState.load(vis.id, raws[at])
            at += 1
            if st is None or st.state not in ("queued", "active"):
                by = (st.ended_by if st else "") or "timeout"
                out_of_step(("v-ended", vis.id), by, lambda vis=vis, by=by: self._on_notice(
                    {"k": "ended", "chat": vis.id, "to": "visitor", "by": by}))
            elif st.state == "active" and vis.state == "queued":
                out_of_step(("v-assigned", vis.id), st.vol, lambda vis=vis, vid=st.vol: self._reassigned(vis, vid))
            elif st.state == "queued" and vis.state == "active":
                out_of_step(("v-requeued", vis.id), st.seq, lambda vis=vis: self._on_notice(
                    {"k": "requeued", "chat": vis.id, "to": "visitor"}))
            if st is not None and st.seq > vis.feed.last:
                out_of_step(("v-line", vis.id), st.seq, lambda vis=vis, seq=st.seq: self._deliver(
                    vis.id, vis.feed, vis.outbox, "visitor", vis.lang, seq, None))
        for con in consoles:
            held = _vol_chats(raws[at])
            at += 1
            vid = con.profile.id
            for chat_id in sorted(held - set(con.feeds)):
                out_of_step(("c-assigned", vid, chat_id), True, lambda con=con, chat_id=chat_id:
                            self._console_assigned(con, chat_id, resumed=False))
        for con, chat_id, feed in feeds:
            st = S.ChatState.load(chat_id, raws[at])
            at += 1
            vid = con.profile.id
            if st is None or st.state != "active" or st.vol != vid:
                by = (st.ended_by if st else "") or None
                out_of_step(("c-ended", vid, chat_id), by, lambda con=con, chat_id=chat_id, by=by:
                            self._console_ended(con, chat_id, by))
            elif st.seq > feed.last:
                out_of_step(("c-line", vid, chat_id), st.seq, lambda con=con, chat_id=chat_id, feed=feed,
                            seq=st.seq: self._deliver(chat_id, feed, con.outbox, "volunteer", con.lang, seq, None))
        self._out_of_step = seen
        for key, repair in repairs:
            self._out_of_step.pop(key, None)
            try:
                done = await repair()
            except BrokerError:
                if at_once:
                    raise
                return
            # A repair says 0 or False when nothing was missing after all (a line gap is
            # normal when the lines in it were for the other side only).
            if done is None or done:
                log.warning("notice.missed", kind=key[0])

    async def _reassigned(self, vis: Visitor, vid: str) -> bool:
        """The visitor's chat was assigned to ``vid`` and the notice never came."""
        if self.visitors.get(vis.id) is not vis or vis.state != "queued":
            return False
        await self._on_notice({"k": "assigned", "chat": vis.id, "to": "visitor", "name": await self._vol_name(vid)})
        return True

    async def _console_ended(self, con: Console, chat_id: str, by: str | None) -> bool:
        """The console's chat ended (or went to another volunteer) and the notice never came."""
        if con.feeds.get(chat_id) is None or self.consoles.get(con.profile.id) is not con:
            return False
        await self._on_notice({"k": "ended", "chat": chat_id, "to": "volunteer", "vid": con.profile.id, "by": by})
        return True

    async def _vol_name(self, vid: str) -> str:
        raw = await self.broker.read(lambda tx: tx.hgetall(S.vol_key(vid), watch=False))
        return raw.get("name", "")

    # -- matching and the queue -----------------------------------------------------------
    async def _match(self) -> None:
        """Assign waiting chats to free volunteers; one run at a time per node."""
        if self.draining:
            return
        if self._matching:
            self._match_again = True
            return
        self._matching = True
        try:
            while True:
                self._match_again = False
                try:
                    assigned = await self._commit(self._tx_match)
                except BrokerError as exc:
                    log.warning("match.failed", error=str(exc))
                    return
                for chat_id, vid in assigned:
                    log.info("chat.assigned", chat=chat_id, volunteer=vid[:8])
                if assigned:
                    self._positions_changed()
                if not self._match_again:
                    return
        finally:
            self._matching = False

    def _match_soon(self) -> None:
        """Match on one of the loop's next turns: hellos that arrive together share one run."""
        if self._match_handle is None and not self.draining:
            self._match_handle = asyncio.get_running_loop().call_soon(self._schedule_match)

    def _schedule_match(self) -> None:
        self._match_handle = None
        task = asyncio.get_running_loop().create_task(self._match())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _tx_match(self, tx: Tx, local: Local) -> list[tuple[str, str]]:
        now = self.clock()
        if not await tx.zcard(S.QUEUE, watch=False):
            return []
        # vid -> (its state, the chats it holds, its wrap-ups due)
        vols: dict[str, tuple[S.VolState, set[str], dict[str, float]]] = {}
        free = 0
        for vol, raw in await self._on_duty(tx, now, watch=True):
            held, wraps = _vol_chats(raw), _parse_wraps(raw.get("wraps", ""))
            free += max(0, vol.capacity - len(held) - len(wraps))
            vols[vol.id] = (vol, held, wraps)
        if free == 0:
            return []
        # Only the head of the queue can be matched: as many chats as there are free slots.
        head = [chat for chat, _ in await tx.zrangebyscore(S.QUEUE, -math.inf, math.inf, limit=free)]
        router = Router(max_queue=len(head) + 1)
        for vid, (vol, held, wraps) in vols.items():
            router.set_volunteer(vid, languages=vol.langs, capacity=vol.capacity, available=True,
                                 now=vol.idle_since)
            for chat in held | set(wraps):
                router.hold(vid, chat, vol.idle_since)
        states = [S.ChatState.load(c, raw) for c, raw in
                  zip(head, await tx.hgetall_many([S.chat_key(c) for c in head]))]
        for chat_id, st in zip(head, states):
            if st is not None and st.state == "queued":
                router.enqueue(st.id, st.lang, now)
            elif st is None:
                tx.zrem(S.QUEUE, chat_id)       # its state expired: nobody is waiting
        pairs = router.match(now)
        by_id = {st.id: st for st in states if st is not None}
        for chat_id, vid in pairs:
            st = by_id[chat_id]
            vol, held, wraps = vols[vid]
            fields = {"state": "active", "vol": vid, "last_vol": vid, "last_act": repr(now), "warned": "0"}
            if st.waited is None:
                fields["waited"] = repr(max(0.0, now - st.started))
            tx.hset(S.chat_key(chat_id), fields)
            S.left_queue(tx, st)
            held.add(chat_id)
            tx.hset(S.vol_key(vid), {"idle_since": repr(now), **_vol_fields(held, wraps)})
            tx.zadd(S.DUE, {f"idle:{chat_id}": now + self.settings.idle_warn_s})
            self._notify(tx, st.vnode, {"k": "assigned", "chat": chat_id, "to": "visitor",
                                        "name": vol.name}, local)
            self._notify(tx, vol.node, {"k": "assigned", "chat": chat_id, "to": "volunteer",
                                        "vid": vid}, local)
        return pairs

    async def _on_duty(self, tx: Tx, now: float, *, watch: bool) -> list[tuple[S.VolState, dict[str, str]]]:
        """Volunteers available on a live node, with their raw hashes (held chats, wrap-ups)."""
        vids = sorted(await tx.smembers(S.VOLS, watch=watch))
        raws = await tx.hgetall_many([S.vol_key(v) for v in vids], watch=watch)
        alive = {n for n, beat in await tx.zrange(S.NODES, watch=False) if beat > now - NODE_TIMEOUT_S}
        out = []
        for vid, raw in zip(vids, raws):
            vol = S.VolState.load(vid, raw)
            if vol is not None and vol.available and vol.node in alive:
                out.append((vol, raw))
        return out

    def _positions_changed(self) -> None:
        if self._flush_handle is None and not self.draining:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._flush_handle = loop.call_later(POSITION_FLUSH_S, self._schedule_flush)

    def _schedule_flush(self) -> None:
        self._flush_handle = None
        task = asyncio.get_running_loop().create_task(self._flush_positions())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _queue_view(self) -> tuple[list[str], float]:
        """The queue in order, and the expected seconds between two answered chats."""
        now = self.clock()

        async def fn(tx: Tx) -> tuple[list[str], float]:
            queue = await tx.zrange(S.QUEUE, watch=False)
            return [c for c, _ in queue], await self._tx_per_position(tx, now)

        return await self.broker.read(fn)

    async def _tx_per_position(self, tx: Tx, now: float) -> float:
        """Expected seconds between two answered chats (remembered for ``_send_position``)."""
        svc = float(await tx.get(S.SVC, watch=False) or DEFAULT_SERVICE_TIME_S)
        slots = sum(vol.capacity for vol, _ in await self._on_duty(tx, now, watch=False))
        self._per_position = (svc / max(slots, 1), now)
        return self._per_position[0]

    async def _flush_positions(self, only: Visitor | None = None) -> None:
        """Send each waiting visitor here its position, if it changed: O(waiting) per flush."""
        if only is not None:
            await self._send_position(only)
            return
        if not any(v.state == "queued" for v in self.visitors.values()):
            return
        try:
            order, per_position = await self._queue_view()
        except BrokerError:
            return
        if self.broker.shared:          # for _reconcile; with memory:// no notice is ever lost
            listed = set(order)
            self._unlisted = {v.id for v in self.visitors.values() if v.state == "queued" and v.id not in listed}
        for position, chat_id in enumerate(order, start=1):
            vis = self.visitors.get(chat_id)
            if vis is None or vis.state != "queued":
                continue
            self._tell_position(vis, position, per_position)

    async def _send_position(self, vis: Visitor) -> None:
        """Send one visitor its position (on entry, on resume): a rank lookup, not the whole queue.

        The estimate uses the wait per position of the last flush when it is recent
        (the coalesced flush that follows an arrival corrects it if it changed).
        """
        if self.visitors.get(vis.id) is not vis or vis.state != "queued":
            return
        now = self.clock()

        async def fn(tx: Tx) -> tuple[int | None, float]:
            rank = await tx.zrank(S.QUEUE, vis.id, watch=False)
            per, at = self._per_position
            if rank is not None and not 0 <= now - at < POSITION_POLL_S:
                per = await self._tx_per_position(tx, now)
            return rank, per

        try:
            rank, per_position = await self.broker.read(fn)
        except BrokerError:
            return
        if rank is not None:
            self._tell_position(vis, rank + 1, per_position)

    @staticmethod
    def _tell_position(vis: Visitor, position: int, per_position: float) -> None:
        state = (position, Router.round_wait(position * per_position))
        if state != vis.last_queued:
            vis.last_queued = state
            vis.outbox.send({"type": "queued", "position": state[0], "estimated_wait_s": state[1]})

    # -- ending ------------------------------------------------------------------------
    async def _end(self, chat_id: str, by: str, *, vid: str | None = None,
                   check: Callable[[S.ChatState, float], bool] | None = None) -> bool:
        """End a queued or active chat; False if it was not open (or ``check`` failed)."""
        now = self.clock()

        async def fn(tx: Tx, local: Local) -> S.ChatState | None:
            st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id)))
            if st is None or st.state not in ("queued", "active"):
                return None
            if vid is not None and (st.vol != vid or st.state != "active"):
                return None
            if check is not None and not check(st, now):
                return None
            if st.state == "queued":
                outcome = "left_queued"
            elif by == "visitor":
                outcome = "visitor_left"
            elif by == "timeout":
                outcome = "dropped"
            else:
                outcome = "completed"
            holder = st.vol if st.state == "active" else ""
            S.left_queue(tx, st)
            st.state, st.ended_at, st.ended_by, st.outcome = "ended", now, by, outcome
            tx.zrem(S.DUE, f"idle:{chat_id}", f"vgone:{chat_id}")
            tx.delete(S.token_key(st.token), S.log_key(chat_id), S.ids_key(chat_id))
            tx.set(S.tomb_key(st.token), by, ex=self.settings.visitor_grace_s)
            if st.vnode:
                tx.srem(S.nvis_key(st.vnode), chat_id)
                self._notify(tx, st.vnode, {"k": "ended", "chat": chat_id, "to": "visitor", "by": by}, local)
            for obs_vid, obs_node in st.observers():
                self._notify(tx, obs_node, {"k": "ended", "chat": chat_id, "to": "observer", "vid": obs_vid},
                             local)
            if holder:
                raw = await tx.hgetall(S.vol_key(holder))
                held, wraps = _vol_chats(raw), _parse_wraps(raw.get("wraps", ""))
                held.discard(chat_id)
                deadline = now + self.settings.wrapup_timeout_s
                wraps[chat_id] = deadline
                if raw:
                    tx.hset(S.vol_key(holder), _vol_fields(held, wraps))
                tx.zadd(S.DUE, {f"wrapup:{chat_id}": deadline})
                tx.hset(S.chat_key(chat_id), st.dump("state", "ended_at", "ended_by", "outcome"))
                self._notify(tx, raw.get("node", ""), {"k": "ended", "chat": chat_id, "to": "volunteer",
                                                       "vid": holder, "by": by}, local)
            else:
                st.vol = ""
                tx.delete(S.chat_key(chat_id))
            return st

        st = await self._commit(fn)
        if st is None:
            return False
        log.info("chat.ended", chat=chat_id, by=by, outcome=st.outcome)
        if not st.vol:
            self._record(st, None)
        self._positions_changed()
        await self._match()
        return True

    async def _wrapup(self, con: Console, chat_id: str, report: dict[str, Any] | None) -> None:
        if chat_id in con.feeds:
            raise FrameError("out_of_order", "end the chat before filing its wrap-up")
        st = await self._finish(con.profile.id, chat_id)
        if st is None:
            raise FrameError("unknown_chat", "you have no chat with that id awaiting a wrap-up")
        con.wrapups.discard(chat_id)
        self._record(st, report)
        con.outbox.send({"type": "wrapup_saved", "chat": chat_id})
        log.info("chat.wrapup", chat=chat_id, non_data=(report or {}).get("non_data"))
        await self._match()

    async def _finish(self, vid: str, chat_id: str, *, due_by: float | None = None) -> S.ChatState | None:
        """Take a chat off the volunteer's wrap-ups: it is over for everyone.

        With ``due_by``, only if its deadline has passed by then (a timer).
        """
        now = self.clock()

        async def fn(tx: Tx) -> S.ChatState | None:
            raw = await tx.hgetall(S.vol_key(vid))
            wraps = _parse_wraps(raw.get("wraps", ""))
            if chat_id not in wraps or (due_by is not None and wraps[chat_id] > due_by):
                return None
            st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id)))
            del wraps[chat_id]
            tx.hset(S.vol_key(vid), {"idle_since": repr(now), **_vol_fields(_vol_chats(raw), wraps)})
            tx.delete(S.chat_key(chat_id))
            tx.zrem(S.DUE, f"wrapup:{chat_id}")
            if st is not None and st.waited is not None and st.ended_at is not None:
                duration = st.ended_at - st.started - st.waited
                if duration > 0:
                    svc = float(await tx.get(S.SVC) or DEFAULT_SERVICE_TIME_S)
                    tx.set(S.SVC, repr(svc + EWMA_ALPHA * (duration - svc)))
            return st

        return await self.broker.transact(fn)  # type: ignore[no-any-return]

    def _record(self, st: S.ChatState, wrapup: dict[str, Any] | None) -> None:
        end = st.ended_at if st.ended_at is not None else self.clock()
        waited = st.waited if st.waited is not None else end - st.started
        duration = end - st.started - st.waited if st.waited is not None else 0.0
        try:
            intake = self._intake(st)
        except Exception:
            intake = {}
        facts = ChatFacts(
            started_at=datetime.fromtimestamp(st.started, timezone.utc), channel=st.channel,
            lang=st.lang, outcome=st.outcome or "dropped", ended_by=st.ended_by or None,
            wait_s=max(0.0, waited), duration_s=max(0.0, duration), intake=intake,
            volunteer_id=st.last_vol or None,
        )
        row = build_record(facts, wrapup, tz=self.settings.timezone, secret=self.settings.secret)
        try:
            row["referrals"] = self._referrals(st)["given"]
        except Exception:
            log.exception("records.referrals_unreadable", chat=st.id)
        try:
            self._records.put_nowait(row)
        except asyncio.QueueFull:
            log.warning("records.queue_full", chat=st.id)
            task = asyncio.get_running_loop().create_task(self._records.put(row))
            self._waiting_puts.add(task)
            task.add_done_callback(self._waiting_puts.discard)

    async def _record_writer(self) -> None:
        while not self._stopping:
            row = await self._records.get()
            try:
                pause = 0.5
                for attempt in itertools.count(1):
                    try:
                        await write_record(self.sessions, row)
                        self.records_written += 1
                        break
                    except Exception:
                        self.records_failed += 1
                        log.exception("records.write_failed", count=attempt)
                        await asyncio.sleep(pause)
                        pause = min(pause * 2, RECORD_RETRY_MAX_S)
            finally:
                self._records.task_done()

    # -- timers and nodes ----------------------------------------------------------------
    async def _hours_refresher(self) -> None:
        """Follow schedule changes made on other nodes (refresh never raises)."""
        while True:
            await asyncio.sleep(HOURS_CACHE_S)
            await self.hours.refresh()

    async def _housekeeping(self) -> None:
        while not self._stopping:
            await asyncio.sleep(HOUSEKEEPING_TICK_S)
            try:
                await self.tick()
            except BrokerError as exc:
                log.warning("housekeeping.broker_unavailable", error=str(exc))
            except Exception:
                log.exception("housekeeping.failed")

    async def _beat(self) -> None:
        now = self.clock()

        async def fn(tx: Tx) -> None:
            tx.zadd(S.NODES, {self.node: now})

        await self.broker.transact(fn)

    async def tick(self) -> None:
        """Beat, reap dead nodes, fire every timer that is due (each HOUSEKEEPING_TICK_S)."""
        now = self.clock()
        self._ticks += 1
        epoch = await self.broker.epoch()
        if epoch != self._epoch:
            await self._state_lost(epoch)
        await self._beat()
        if self._ticks % REFRESH_EVERY_TICKS == 0:
            await self._refresh_ttls()
        if self._ticks % PURGE_EVERY_TICKS == 1:
            await self._purge_codes()
        nodes = await self.broker.read(lambda tx: tx.zrange(S.NODES, watch=False))
        for node, beat in nodes:
            if node != self.node and beat < now - NODE_TIMEOUT_S:
                await self._reap(node, now)

        async def claim(tx: Tx) -> list[str]:
            due = await tx.zrangebyscore(S.DUE, -math.inf, now, limit=TIMERS_PER_TICK)
            if due:
                tx.zadd(S.DUE, {member: now + TIMER_LEASE_S for member, _ in due})
            return [member for member, _ in due]

        for timer in await self.broker.transact(claim):
            try:
                await self._fire(timer, now)
            except BrokerError:
                raise
            except Exception:
                log.exception("timer.failed", timer=timer.split(":")[0])
        if now - self._last_poll >= POSITION_POLL_S:
            self._last_poll = now
            await self._flush_positions()
            await self._reconcile()
        await self._match()

    async def _cancel(self, timer: str) -> None:
        async def fn(tx: Tx) -> None:
            tx.zrem(S.DUE, timer)
        await self.broker.transact(fn)

    async def _later(self, timer: str, when: float) -> None:
        async def fn(tx: Tx) -> None:
            tx.zadd(S.DUE, {timer: when})
        await self.broker.transact(fn)

    async def _fire(self, timer: str, now: float) -> None:
        kind, _, ident = timer.partition(":")
        s = self.settings
        if kind == "vgone":
            ended = await self._end(ident, "timeout", check=lambda st, t: (
                not st.vnode and st.vgone is not None and t - st.vgone >= s.visitor_grace_s))
            if not ended:
                st = await self._read_chat(ident)
                if st is not None and not st.vnode and st.vgone is not None and st.state in ("queued", "active"):
                    await self._later(timer, st.vgone + s.visitor_grace_s)
                    return
            await self._cancel(timer)
        elif kind == "idle":
            st = await self._read_chat(ident)
            if st is None or st.state != "active":
                await self._cancel(timer)
                return
            quiet = now - st.last_act
            if not st.warned and quiet >= s.idle_warn_s:
                if await self._system(ident, "idle_warning", check=lambda c: not c.warned
                                      and now - c.last_act >= s.idle_warn_s, fields={"warned": "1"}):
                    log.info("chat.idle_warning", chat=ident)
                await self._later(timer, now + s.idle_close_s)
            elif st.warned and quiet >= s.idle_warn_s + s.idle_close_s:
                await self._end(ident, "timeout", check=lambda c, t: c.warned and
                                t - c.last_act >= s.idle_warn_s + s.idle_close_s)
                await self._cancel(timer)
            else:
                await self._later(timer, st.last_act + s.idle_warn_s + (s.idle_close_s if st.warned else 0))
        elif kind == "wrapup":
            st = await self._read_chat(ident)
            if st is None or st.state != "ended" or not st.vol:
                await self._cancel(timer)
                return
            done = await self._finish(st.vol, ident, due_by=now)
            if done is not None:
                self._record(done, None)
                log.info("chat.wrapup_overdue", chat=ident)
                con = self.consoles.get(st.vol)
                if con is not None:
                    con.wrapups.discard(ident)
            await self._cancel(timer)
        elif kind == "vol":
            await self._volunteer_gone(ident, now)
        else:
            await self._cancel(timer)

    async def _volunteer_gone(self, vid: str, now: float) -> None:
        """Past the grace period: finish its wrap-ups, hand its chats back to the front of the queue."""
        grace = self.settings.volunteer_grace_s

        async def fn(tx: Tx, local: Local) -> tuple[list[str], list[S.ChatState]] | None:
            raw = await tx.hgetall(S.vol_key(vid))
            vol = S.VolState.load(vid, raw)
            if vol is not None and (vol.node or (vol.gone is not None and now - vol.gone < grace)):
                if not vol.node and vol.gone is not None:
                    tx.zadd(S.DUE, {f"vol:{vid}": vol.gone + grace})
                else:
                    tx.zrem(S.DUE, f"vol:{vid}")
                return None
            tx.zrem(S.DUE, f"vol:{vid}")
            held = sorted(_vol_chats(raw))
            wraps = sorted(_parse_wraps(raw.get("wraps", "")))
            states = await tx.hgetall_many([S.chat_key(c) for c in held + wraps])
            queue = await tx.zrange(S.QUEUE)
            front = min([score for _, score in queue] + [now]) - 1
            requeued: list[str] = []
            finished: list[S.ChatState] = []
            held_states = [S.ChatState.load(c, r) for c, r in zip(held, states[:len(held)])]
            # The newest chat goes in first, so that the oldest ends up at the very front.
            for st in sorted((s for s in held_states if s is not None and s.state == "active"),
                             key=lambda s: s.started, reverse=True):
                tx.hset(S.chat_key(st.id), {"state": "queued", "vol": ""})
                tx.zadd(S.QUEUE, {st.id: front})
                front -= 1
                tx.zrem(S.DUE, f"idle:{st.id}")
                requeued.append(st.id)
                self._notify(tx, st.vnode, {"k": "requeued", "chat": st.id, "to": "visitor"}, local)
            for chat_id, r in zip(wraps, states[len(held):]):
                st = S.ChatState.load(chat_id, r)
                tx.delete(S.chat_key(chat_id))
                tx.zrem(S.DUE, f"wrapup:{chat_id}")
                if st is not None:
                    finished.append(st)
            tx.delete(S.vol_key(vid))
            tx.srem(S.VOLS, vid)
            return requeued, finished

        result = await self._commit(fn)
        if result is None:
            return
        requeued, finished = result
        for st in finished:
            self._record(st, None)
        for chat_id in requeued:
            await self._system(chat_id, "volunteer_lost", to="visitor")
            log.info("chat.requeued", chat=chat_id, volunteer=vid[:8])
        log.info("volunteer.gone", volunteer=vid[:8])
        self._positions_changed()
        await self._match()

    async def _reap(self, node: str, now: float) -> None:
        """A node stopped beating: its visitors and volunteers are gone (each with its grace)."""
        s = self.settings

        async def fn(tx: Tx, local: Local) -> list[str] | None:
            beat = await tx.zscore(S.NODES, node)
            if beat is None or beat >= now - NODE_TIMEOUT_S:
                return None
            tx.zrem(S.NODES, node)
            vids = sorted(await tx.smembers(S.nvol_key(node)))
            for vid, raw in zip(vids, await tx.hgetall_many([S.vol_key(v) for v in vids])):
                if raw.get("node") == node:
                    tx.hset(S.vol_key(vid), {"node": "", "conn": "", "gone": repr(now)})
                    tx.zadd(S.DUE, {f"vol:{vid}": now + s.volunteer_grace_s})
            chats = sorted(await tx.smembers(S.nvis_key(node)))
            away: list[str] = []
            for chat_id, raw in zip(chats, await tx.hgetall_many([S.chat_key(c) for c in chats])):
                st = S.ChatState.load(chat_id, raw)
                if st is None or st.vnode != node or st.state not in ("queued", "active"):
                    continue
                tx.hset(S.chat_key(chat_id), {"vnode": "", "vconn": "", "vgone": repr(now)})
                tx.zadd(S.DUE, {f"vgone:{chat_id}": now + s.visitor_grace_s})
                if st.state == "active":
                    away.append(chat_id)
                    self._notify(tx, await self._vol_node(tx, st.vol),
                                 {"k": "frame", "chat": chat_id, "to": "volunteer", "vid": st.vol}, local,
                                 {"type": "presence", "chat": chat_id, "visitor": "away"})
            tx.delete(S.nvis_key(node), S.nvol_key(node))
            return away

        away = await self._commit(fn)
        if away is None:
            return
        log.warning("node.reaped", node=node, visitors_away=len(away))
        for chat_id in away:
            await self._system(chat_id, "visitor_away", to="volunteer")
        self._positions_changed()

    async def _refresh_ttls(self) -> None:
        async def fn(tx: Tx) -> None:
            for chat_id, vis in self.visitors.items():
                # The log, resend ids and token too: a chat may wait longer than their TTL.
                for key in (S.chat_key(chat_id), S.log_key(chat_id), S.ids_key(chat_id)):
                    tx.expire(key, self._log_ttl)
                if vis.token:
                    tx.expire(S.token_key(vis.token), self._log_ttl)
            for vid in self.consoles:
                tx.expire(S.vol_key(vid), self._log_ttl)
        await self.broker.transact(fn)

    async def _state_lost(self, epoch: str | None) -> None:
        """The broker lost its state (Redis restarted empty): the live chats are gone.

        Both sides are told plainly (``error chat_lost``, then ``ended``); each
        visitor here gets a record with what this node knew; consoles stay
        connected and are registered again, so new chats reach them. The new epoch is
        kept only once all that is done: if Redis fails meanwhile, the next look at the
        epoch (a tick, a resync) runs this again (visitors already told are not told or
        recorded twice; consoles are registered again).
        """
        log.error("broker.state_lost", visitors=len(self.visitors), consoles=len(self.consoles))
        now = self.clock()
        for vis in list(self.visitors.values()):
            vis.outbox.send({"type": "error", "code": "chat_lost",
                             "detail": "the chat service restarted and this chat was lost; please start a new chat"})
            vis.outbox.send({"type": "ended", "by": "timeout"})
            vis.outbox.close(1000)
            if vis.state == "ended":
                continue
            vis.state = "ended"
            st = S.ChatState(id=vis.id, state="ended", lang=vis.lang, channel=vis.channel,
                             started=vis.started, outcome="dropped", ended_at=now, ended_by="timeout")
            self._record(st, None)
        for con in list(self.consoles.values()):
            for chat_id in sorted(set(con.feeds) | con.wrapups):
                con.outbox.send({"type": "error", "code": "chat_lost",
                                 "detail": "the chat service restarted and this chat was lost"})
                con.outbox.send({"type": "ended", "chat": chat_id, "by": "timeout", "wrapup_due": False})
            con.feeds.clear()
            con.wrapups.clear()
            vid = con.profile.id

            async def fn(tx: Tx, con: Console = con, vid: str = vid) -> None:
                vol = S.VolState(id=vid, node=self.node, conn=con.outbox.conn, wants=False,
                                 capacity=max(1, con.profile.capacity), langs=con.profile.languages,
                                 idle_since=now, name=con.profile.display_name)
                tx.hset(S.vol_key(vid), vol.dump())
                tx.expire(S.vol_key(vid), self._log_ttl)
                tx.sadd(S.VOLS, vid)
                tx.sadd(S.nvol_key(self.node), vid)

            await self.broker.transact(fn)
            con.outbox.send({"type": "status", "state": "paused"})
        self._epoch = epoch
