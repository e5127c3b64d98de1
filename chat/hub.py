"""The hub: live chats, who is in them, and the rules that move them along.

The endpoints (``chat.endpoints``) turn sockets into calls on the hub and give it
an ``Outbox`` per socket; the hub never touches a socket. Routing decisions come
from the pure ``Router``; chat lines are sealed into the broker's replay log;
the de-identified record is written by a supervised background writer.

Life of a chat::

    queued ──match──▶ active ──end/leave/timeout──▶ ended ──wrap-up──▶ recorded
      ▲                 │ volunteer gone past grace
      └──(front)────────┘

Everything here runs on the event loop. State changes are synchronous; the only
awaits are the broker's log and replay, done under the chat's lock so that lines
reach every reader in ``seq`` order.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referral import geography
from volunteer.accounts import Profile

from . import texts
from .broker import Broker
from .exceptions import FrameError
from .logs import get_logger
from .record import ChatFacts, build_record, write_record
from .routing import QueueFull, Router
from .sealing import Sealer
from .settings import Settings

log = get_logger("chat.hub")

# How often timers (idle chats, grace periods, wrap-up deadlines) are checked.
HOUSEKEEPING_TICK_S = 1.0
# Queue positions are sent at most this often, whatever the churn: coalescing
# turns a burst of arrivals and departures into one update per waiting visitor.
POSITION_FLUSH_S = 0.1
# Frames buffered for one socket. Overflow policy: close the socket; the client
# resumes with last_seq and loses nothing (the lines are in the replay log).
OUTBOX_FRAMES = 512
# Client message ids remembered per chat, so a resent line is acked, not doubled.
CLIENT_IDS_KEPT = 1024
# Records waiting for the database. Overflow policy: the record waits in a task
# of its own for room (memory grows, nothing is dropped) and a warning is logged.
RECORD_QUEUE = 10000
# A record the database refused is retried after 0.5 s, 1 s, 2 s ... up to this
# pause, for as long as the process runs: a database restart loses no record.
RECORD_RETRY_MAX_S = 30.0

# The only service a visitor is told of when the chat cannot take them; the
# referral directory adds the rest.
FALLBACK_SERVICES: list[dict[str, Any]] = [
    {"id": "emergency-112", "kind": "emergency", "name": "112",
     "description": {"sv": "Ring 112 om du är i akut fara.", "en": "Call 112 if you are in immediate danger."},
     "phone": "112"},
]


class Outbox:
    """Frames waiting to go out on one socket.

    Live frames are bounded (OUTBOX_FRAMES). A replay may add a burst beyond
    that: it is bounded by the replay log itself, and the allowance it grants
    shrinks again as the send loop takes frames out.
    """

    __slots__ = ("queue", "close_code", "conn", "limit", "allowance")

    def __init__(self, conn: str, limit: int = OUTBOX_FRAMES) -> None:
        self.conn = conn
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.close_code: int | None = None
        self.limit = limit
        self.allowance = 0

    def send(self, frame: dict[str, Any], *, replay: bool = False) -> None:
        if self.close_code is not None:
            return
        if replay:
            self.allowance += 1
        elif self.queue.qsize() >= self.limit + self.allowance:
            log.warning("outbox.overflow", conn=self.conn)
            self.close(4408)
            return
        self.queue.put_nowait(frame)

    def taken(self) -> None:
        """The send loop took a frame out."""
        if self.allowance:
            self.allowance -= 1

    def close(self, code: int = 1000) -> None:
        """Ask the send loop to close the socket after what is queued (or at once on overflow)."""
        if self.close_code is not None:
            return
        self.close_code = code
        if code == 4408:     # behind anyway: drop what is queued, the client resumes
            while not self.queue.empty():
                self.queue.get_nowait()
        self.queue.put_nowait(None)


@dataclass(eq=False)
class Chat:
    id: str
    token_hash: str
    lang: str
    channel: str
    started_wall: datetime
    started: float
    sealer: Sealer
    last_activity: float
    intake: dict[str, Any] = field(default_factory=dict)
    state: str = "queued"                 # queued | active | ended
    seq: int = 0
    volunteer: str | None = None          # account id of whoever holds it now
    last_volunteer: str | None = None     # for the record, after a hand-back
    waited_s: float | None = None
    visitor: Outbox | None = None
    visitor_gone_since: float | None = None
    idle_warned: bool = False
    ended_at: float | None = None
    ended_by: str | None = None
    outcome: str | None = None
    last_queued: tuple[int, int] | None = None
    # (sender, client id) -> (seq, digest of the text): a resend is recognised by both
    client_ids: OrderedDict[tuple[str, str | int], tuple[int, bytes]] = field(default_factory=OrderedDict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(eq=False)
class Volunteer:
    profile: Profile
    outbox: Outbox | None = None
    wants_available: bool = False
    gone_since: float | None = None
    chats: set[str] = field(default_factory=set)
    wrapups: dict[str, float] = field(default_factory=dict)   # chat -> deadline

    @property
    def lang(self) -> str:
        return "sv" if "sv" in self.profile.languages else sorted(self.profile.languages)[0]


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Hub:
    def __init__(self, settings: Settings, broker: Broker,
                 sessions: async_sessionmaker[AsyncSession],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.broker = broker
        self.sessions = sessions
        self.clock = clock
        self.router = Router(max_queue=settings.max_queue)
        self.chats: dict[str, Chat] = {}
        self.by_token: dict[str, str] = {}
        self.tombstones: dict[str, tuple[str, float]] = {}   # token hash -> (ended by, expiry)
        self.volunteers: dict[str, Volunteer] = {}
        self._records: asyncio.Queue[dict[str, Any]] = asyncio.Queue(RECORD_QUEUE)
        self._tasks: list[asyncio.Task[None]] = []
        self._waiting_puts: set[asyncio.Task[None]] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._log_ttl = settings.visitor_grace_s + settings.idle_warn_s + settings.idle_close_s + 3600

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._housekeeping(), name="hub.housekeeping"),
                       asyncio.create_task(self._record_writer(), name="hub.records")]

    def healthy(self) -> bool:
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    async def stop(self) -> None:
        """Write a record for every chat still open, then stop the background tasks."""
        now = self.clock()
        for chat in list(self.chats.values()):
            if chat.state != "ended":
                self._mark_ended(chat, None, "left_queued" if chat.state == "queued" else "dropped", now)
            await self.broker.delete(chat.id)
            self._finalize(chat, None)
        if self._flush_handle:
            self._flush_handle.cancel()
        # Let the writer drain what is queued, then stop it.
        try:
            await asyncio.wait_for(self._records.join(), timeout=10)
        except asyncio.TimeoutError:
            log.error("records.unwritten", count=self._records.qsize())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- visitor ---------------------------------------------------------------------
    async def visitor_hello(self, outbox: Outbox, hello: dict[str, Any]) -> Chat | None:
        """Open or resume a chat for a visitor socket; None when it was turned away."""
        now = self.clock()
        if hello["resume"]:
            token_hash = _hash_token(hello["resume"])
            chat_id = self.by_token.get(token_hash)
            chat = self.chats.get(chat_id) if chat_id else None
            if chat is not None and chat.state != "ended":
                await self._visitor_resume(chat, outbox, hello["resume"], hello["last_seq"], now)
                return chat
            tomb = self.tombstones.get(token_hash)
            if tomb is not None:
                outbox.send({"type": "welcome", "resume_token": hello["resume"], "open": True,
                             "resumed": True})
                outbox.send({"type": "ended", "by": tomb[0]})
                outbox.close(1000)
                return None
            outbox.send({"type": "error", "code": "resume_failed",
                         "detail": "that chat is no longer open; a new chat starts"})
        token, chat_id = secrets.token_urlsafe(32), secrets.token_urlsafe(12)
        chat = Chat(
            id=chat_id, token_hash=_hash_token(token), lang=hello["lang"],
            channel=hello["channel"], started_wall=datetime.now(timezone.utc), started=now,
            sealer=Sealer(self.settings.secret, chat_id), last_activity=now, visitor=outbox,
        )
        try:
            self.router.enqueue(chat.id, chat.lang, now)
        except QueueFull:
            outbox.send({"type": "welcome", "resume_token": None, "open": False})
            outbox.send({"type": "closed", "reason": "full", "services": FALLBACK_SERVICES,
                         "text": texts.text("queue_full", chat.lang)})
            outbox.close(1000)
            log.info("chat.turned_away", reason="full", channel=chat.channel)
            self._enqueue_record(chat, ChatFacts(
                started_at=chat.started_wall, channel=chat.channel, lang=chat.lang,
                outcome="closed", ended_by=None, wait_s=0, duration_s=0), None)
            return None
        self.chats[chat.id] = chat
        self.by_token[chat.token_hash] = chat.id
        outbox.send({"type": "welcome", "resume_token": token, "open": True})
        log.info("chat.queued", chat=chat.id, lang=chat.lang, channel=chat.channel)
        self._positions_changed()
        self._send_queued(chat, self.router.waiting())
        await self._match()
        return chat

    async def _visitor_resume(self, chat: Chat, outbox: Outbox, token: str, last_seq: int,
                              now: float) -> None:
        old, chat.visitor = chat.visitor, outbox
        if old is not None and old is not outbox:
            old.close(4409)
        was_away = chat.visitor_gone_since is not None
        chat.visitor_gone_since = None
        async with chat.lock:
            outbox.send({"type": "welcome", "resume_token": token, "open": True, "resumed": True})
            replayed = await self._replay(chat, outbox, last_seq, side="visitor")
            if chat.state == "queued":
                chat.last_queued = None
                self._send_queued(chat, self.router.positions().get(chat.id))
            else:
                vol = self.volunteers.get(chat.volunteer or "")
                outbox.send({"type": "assigned",
                             "volunteer": vol.profile.display_name if vol else ""})
        if was_away and chat.state == "active":
            self._to_volunteer(chat, {"type": "presence", "chat": chat.id, "visitor": "here"})
            await self._system(chat, "visitor_back", to="volunteer")
        log.info("chat.resumed", chat=chat.id, side="visitor", replayed=replayed)

    async def visitor_frame(self, chat: Chat, outbox: Outbox, frame: dict[str, Any]) -> None:
        if chat.visitor is not outbox:
            raise FrameError("replaced", "this chat continues on a newer connection")
        kind = frame["type"]
        if kind == "hello":
            raise FrameError("out_of_order", "hello was already received on this connection")
        if chat.state == "ended":
            raise FrameError("chat_ended", "the chat is over")
        if kind == "message":
            await self._line(chat, "visitor", frame["id"], frame["text"], ack_to=outbox)
        elif kind == "intake":
            fields = {k: v for k, v in frame.items() if k != "type"}
            if "municipality" in fields and "district" not in fields:
                fields["district"] = None   # a district belongs to its municipality
            municipality = fields.get("municipality", chat.intake.get("municipality"))
            if fields.get("district") and not geography.valid_district(municipality, fields["district"]):
                raise FrameError("invalid_field", "district: must be a district of your municipality")
            chat.intake.update(fields)
            if chat.state == "active":
                self._to_volunteer(chat, {"type": "intake", "chat": chat.id, "intake": dict(chat.intake)})
        elif kind == "typing":
            if chat.state == "active":
                self._to_volunteer(chat, {"type": "typing", "chat": chat.id, "active": frame["active"]})
        elif kind == "leave":
            await self._end(chat, "visitor")

    async def visitor_disconnected(self, chat: Chat, outbox: Outbox) -> None:
        if chat.visitor is not outbox:
            return          # an older socket of a resumed chat
        chat.visitor = None
        if chat.state == "ended":
            return
        chat.visitor_gone_since = self.clock()
        if chat.state == "active":
            self._to_volunteer(chat, {"type": "presence", "chat": chat.id, "visitor": "away"})
            await self._system(chat, "visitor_away", to="volunteer")
        log.info("chat.visitor_away", chat=chat.id, state=chat.state)

    # -- volunteer -------------------------------------------------------------------
    async def volunteer_connected(self, profile: Profile, outbox: Outbox) -> Volunteer:
        now = self.clock()
        vol = self.volunteers.get(profile.id)
        if vol is None:
            vol = self.volunteers[profile.id] = Volunteer(profile=profile)
        else:
            vol.profile = profile
            if vol.outbox is not None:
                vol.outbox.close(4409)
        vol.outbox, vol.gone_since = outbox, None
        outbox.send({"type": "welcome", "display_name": profile.display_name,
                     "state": "available" if vol.wants_available else "paused",
                     "capacity": profile.capacity})
        self.router.set_volunteer(profile.id, languages=profile.languages, capacity=profile.capacity,
                                  available=vol.wants_available, now=now)
        for chat_id in sorted(vol.chats):
            chat = self.chats[chat_id]
            async with chat.lock:
                outbox.send(self._assigned_frame(chat, resumed=True))
                await self._replay(chat, outbox, 0, side="volunteer")
        for chat_id in sorted(vol.wrapups):
            outbox.send({"type": "ended", "chat": chat_id, "by": self.chats[chat_id].ended_by,
                         "wrapup_due": True})
        log.info("volunteer.connected", volunteer=profile.id[:8], active=len(vol.chats))
        await self._match()
        return vol

    async def volunteer_frame(self, vol: Volunteer, outbox: Outbox, frame: dict[str, Any]) -> None:
        if vol.outbox is not outbox:
            raise FrameError("replaced", "this console continues on a newer connection")
        kind = frame["type"]
        if kind == "status":
            vol.wants_available = frame["state"] == "available"
            self.router.set_volunteer(vol.profile.id, languages=vol.profile.languages,
                                      capacity=vol.profile.capacity, available=vol.wants_available,
                                      now=self.clock())
            outbox.send({"type": "status", "state": frame["state"]})
            log.info("volunteer.status", volunteer=vol.profile.id[:8], state=frame["state"])
            self._positions_changed()
            await self._match()
            return
        if kind == "wrapup":
            await self._wrapup(vol, frame["chat"], frame["report"])
            return
        chat = self._own_chat(vol, frame["chat"])
        if kind == "message":
            await self._line(chat, "volunteer", frame["id"], frame["text"], ack_to=outbox,
                             sender=vol.profile.id)
        elif kind == "typing":
            if chat.visitor is not None:
                chat.visitor.send({"type": "typing", "active": frame["active"]})
        elif kind == "end":
            await self._end(chat, "volunteer")
        elif kind == "refer":
            raise FrameError("referrals_unavailable", texts.text("referrals_unavailable", vol.lang))

    def volunteer_disconnected(self, vol: Volunteer, outbox: Outbox) -> None:
        if vol.outbox is not outbox:
            return
        vol.outbox, vol.gone_since = None, self.clock()
        self.router.set_volunteer(vol.profile.id, languages=vol.profile.languages,
                                  capacity=vol.profile.capacity, available=False, now=self.clock())
        self._positions_changed()
        log.info("volunteer.away", volunteer=vol.profile.id[:8], active=len(vol.chats))

    def signed_out(self, account_id: str) -> None:
        """The account signed out: its console socket closes (its chats get the grace period)."""
        vol = self.volunteers.get(account_id)
        if vol is not None and vol.outbox is not None:
            vol.outbox.send({"type": "error", "code": "signed_out", "detail": "you signed out"})
            vol.outbox.close(4401)

    def _own_chat(self, vol: Volunteer, chat_id: str) -> Chat:
        """The volunteer's active chat; anything else answers as if it did not exist."""
        if chat_id in vol.wrapups:
            raise FrameError("chat_ended", "the chat is over; file the wrap-up")
        if chat_id not in vol.chats:
            raise FrameError("unknown_chat", "you have no chat with that id")
        return self.chats[chat_id]

    # -- lines -------------------------------------------------------------------------
    async def _line(self, chat: Chat, side: str, client_id: str | int, body: str, ack_to: Outbox,
                    sender: str = "visitor") -> None:
        """A chat line: number it, log it sealed, ack it, deliver it.

        ``sender`` identifies who wrote it within its side (the volunteer's
        account id), so that two volunteers of one chat never share client ids.
        A line with an id *and* text already seen is a resend after a lost ack:
        it gets the same seq again and is not delivered twice.
        """
        async with chat.lock:
            key = (sender, client_id)
            digest = hashlib.sha256(body.encode()).digest()[:8]
            seen = chat.client_ids.get(key)
            if seen is not None and seen[1] == digest:
                ack_to.send(self._ack(chat, side, client_id, seen[0]))
                return
            chat.seq += 1
            seq = chat.seq
            payload = {"from": side, "text": body}
            await self.broker.append(chat.id, seq, chat.sealer.seal(seq, json.dumps(payload).encode()),
                                     self._log_ttl)
            chat.client_ids[key] = (seq, digest)
            chat.client_ids.move_to_end(key)
            if len(chat.client_ids) > CLIENT_IDS_KEPT:
                chat.client_ids.popitem(last=False)
            chat.last_activity, chat.idle_warned = self.clock(), False
            ack_to.send(self._ack(chat, side, client_id, seq))
            if side == "visitor":
                self._to_volunteer(chat, {"type": "message", "chat": chat.id, "seq": seq,
                                          "from": side, "text": body})
            elif chat.visitor is not None:
                chat.visitor.send({"type": "message", "seq": seq, "from": side, "text": body})

    @staticmethod
    def _ack(chat: Chat, side: str, client_id: str | int, seq: int) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "ack", "id": client_id, "seq": seq}
        if side == "volunteer":
            frame["chat"] = chat.id
        return frame

    async def _system(self, chat: Chat, key: str, *, to: str = "both") -> None:
        """A line from the system, numbered like any other, for one side or both.

        Rendered in each reader's language; a reader skips lines not meant for it,
        so its seq numbers have gaps, never reversals.
        """
        entry = {"from": "system", "key": key, "to": to}
        async with chat.lock:
            chat.seq += 1
            seq = chat.seq
            await self.broker.append(chat.id, seq, chat.sealer.seal(seq, json.dumps(entry).encode()),
                                     self._log_ttl)
            if to in ("both", "visitor") and chat.visitor is not None:
                chat.visitor.send(self._render(chat, seq, entry, "visitor"))
            if to in ("both", "volunteer"):
                self._to_volunteer(chat, self._render(chat, seq, entry, "volunteer"))

    def _render(self, chat: Chat, seq: int, entry: dict[str, Any], side: str) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "message", "seq": seq, "from": entry["from"]}
        if side == "volunteer":
            frame["chat"] = chat.id
        if entry["from"] == "system":
            vol = self.volunteers.get(chat.volunteer or "")
            lang = chat.lang if side == "visitor" else (vol.lang if vol else "sv")
            frame["key"] = entry["key"]
            frame["text"] = texts.text(entry["key"], lang)
        else:
            frame["text"] = entry["text"]
        return frame

    async def _replay(self, chat: Chat, outbox: Outbox, after_seq: int, *, side: str) -> int:
        """Send the chat's logged lines after ``after_seq`` (caller holds chat.lock)."""
        entries = await self.broker.read(chat.id, after_seq)
        for seq, sealed in entries:
            entry = json.loads(chat.sealer.open(seq, sealed))
            if entry.get("to", "both") not in ("both", side):
                continue
            outbox.send(self._render(chat, seq, entry, side), replay=True)
        return len(entries)

    def _to_volunteer(self, chat: Chat, frame: dict[str, Any]) -> None:
        vol = self.volunteers.get(chat.volunteer or "")
        if vol is not None and vol.outbox is not None:
            vol.outbox.send(frame)

    # -- matching and the queue -----------------------------------------------------------
    def _assigned_frame(self, chat: Chat, *, resumed: bool = False) -> dict[str, Any]:
        return {"type": "assigned", "chat": chat.id, "intake": dict(chat.intake), "lang": chat.lang,
                "channel": chat.channel, "resumed": resumed,
                "visitor": "here" if chat.visitor is not None else "away"}

    async def _match(self) -> None:
        now = self.clock()
        for chat_id, vid in self.router.match(now):
            chat, vol = self.chats[chat_id], self.volunteers[vid]
            chat.state, chat.volunteer, chat.last_volunteer = "active", vid, vid
            if chat.waited_s is None:
                chat.waited_s = now - chat.started
            chat.last_activity, chat.idle_warned, chat.last_queued = now, False, None
            vol.chats.add(chat_id)
            log.info("chat.assigned", chat=chat_id, volunteer=vid[:8])
            if chat.visitor is not None:
                chat.visitor.send({"type": "assigned", "volunteer": vol.profile.display_name})
            if vol.outbox is not None:
                async with chat.lock:
                    vol.outbox.send(self._assigned_frame(chat))
                    await self._replay(chat, vol.outbox, 0, side="volunteer")
        if self.router.waiting():
            self._positions_changed()

    def _positions_changed(self) -> None:
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(POSITION_FLUSH_S, self._flush_positions)

    def _flush_positions(self) -> None:
        """Send each waiting visitor its position, if it changed: O(waiting) per flush."""
        self._flush_handle = None
        per_position = self.router.wait_per_position()
        for chat_id, position in self.router.positions().items():
            chat = self.chats.get(chat_id)
            if chat is not None:
                self._send_queued(chat, position, per_position)

    def _send_queued(self, chat: Chat, position: int | None, per_position: float | None = None) -> None:
        if position is None or chat.visitor is None:
            return
        if per_position is None:
            per_position = self.router.wait_per_position()
        state = (position, Router.round_wait(position * per_position))
        if state != chat.last_queued:
            chat.last_queued = state
            chat.visitor.send({"type": "queued", "position": state[0], "estimated_wait_s": state[1]})

    # -- ending ------------------------------------------------------------------------
    async def _end(self, chat: Chat, by: str, outcome: str | None = None) -> None:
        now = self.clock()
        if outcome is None:
            if chat.state == "queued":
                outcome = "left_queued"
            elif by == "visitor":
                outcome = "visitor_left"
            elif by == "timeout":
                outcome = "dropped"
            else:
                outcome = "completed"
        vol = self.volunteers.get(chat.volunteer or "")
        self._mark_ended(chat, by, outcome, now)
        if chat.visitor is not None:
            chat.visitor.send({"type": "ended", "by": by})
            chat.visitor.close(1000)
        async with chat.lock:
            await self.broker.delete(chat.id)
        log.info("chat.ended", chat=chat.id, by=by, outcome=outcome)
        if vol is not None:
            vol.chats.discard(chat.id)
            vol.wrapups[chat.id] = now + self.settings.wrapup_timeout_s
            if vol.outbox is not None:
                vol.outbox.send({"type": "ended", "chat": chat.id, "by": by, "wrapup_due": True})
        else:
            self._finalize(chat, None)
        self._positions_changed()
        await self._match()

    def _mark_ended(self, chat: Chat, by: str | None, outcome: str, now: float) -> None:
        if chat.state == "queued":
            self.router.dequeue(chat.id)
        chat.state, chat.ended_at, chat.ended_by, chat.outcome = "ended", now, by, outcome
        self.by_token.pop(chat.token_hash, None)
        self.tombstones[chat.token_hash] = (by or "timeout", now + self.settings.visitor_grace_s)

    async def _wrapup(self, vol: Volunteer, chat_id: str, report: dict[str, Any]) -> None:
        if chat_id in vol.chats:
            raise FrameError("out_of_order", "end the chat before filing its wrap-up")
        if chat_id not in vol.wrapups:
            raise FrameError("unknown_chat", "you have no chat with that id awaiting a wrap-up")
        del vol.wrapups[chat_id]
        chat = self.chats[chat_id]
        self._finalize(chat, report)
        if vol.outbox is not None:
            vol.outbox.send({"type": "wrapup_saved", "chat": chat_id})
        log.info("chat.wrapup", chat=chat_id, non_data=report.get("non_data"))
        await self._match()

    def _finalize(self, chat: Chat, wrapup: dict[str, Any] | None) -> None:
        """The chat is over for everyone: queue its record and forget it."""
        if self.chats.pop(chat.id, None) is None:
            return
        end = chat.ended_at if chat.ended_at is not None else self.clock()
        waited = chat.waited_s if chat.waited_s is not None else end - chat.started
        duration = end - chat.started - waited if chat.waited_s is not None else 0.0
        if chat.last_volunteer:
            self.router.release(chat.last_volunteer, chat.id, self.clock(),
                                duration_s=duration if duration > 0 else None)
        facts = ChatFacts(
            started_at=chat.started_wall, channel=chat.channel, lang=chat.lang,
            outcome=chat.outcome or "dropped", ended_by=chat.ended_by, wait_s=waited,
            duration_s=duration, intake=dict(chat.intake), volunteer_id=chat.last_volunteer,
        )
        self._enqueue_record(chat, facts, wrapup)

    def _enqueue_record(self, chat: Chat, facts: ChatFacts, wrapup: dict[str, Any] | None) -> None:
        row = build_record(facts, wrapup, tz=self.settings.timezone, secret=self.settings.secret)
        try:
            self._records.put_nowait(row)
        except asyncio.QueueFull:
            log.warning("records.queue_full", chat=chat.id)
            task = asyncio.get_running_loop().create_task(self._records.put(row))
            self._waiting_puts.add(task)
            task.add_done_callback(self._waiting_puts.discard)

    async def _record_writer(self) -> None:
        while True:
            row = await self._records.get()
            try:
                pause = 0.5
                for attempt in itertools.count(1):
                    try:
                        await write_record(self.sessions, row)
                        break
                    except Exception:
                        log.exception("records.write_failed", count=attempt)
                        await asyncio.sleep(pause)
                        pause = min(pause * 2, RECORD_RETRY_MAX_S)
            finally:
                self._records.task_done()

    # -- timers --------------------------------------------------------------------------
    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_TICK_S)
            try:
                await self.tick()
            except Exception:
                log.exception("housekeeping.failed")

    async def tick(self) -> None:
        """Fire every timer that is due (called each HOUSEKEEPING_TICK_S)."""
        s, now = self.settings, self.clock()
        for chat in list(self.chats.values()):
            if chat.state == "ended":
                continue
            if chat.visitor_gone_since is not None and now - chat.visitor_gone_since > s.visitor_grace_s:
                await self._end(chat, "timeout")
                continue
            if chat.state == "active":
                quiet = now - chat.last_activity
                if not chat.idle_warned and quiet > s.idle_warn_s:
                    chat.idle_warned = True
                    await self._system(chat, "idle_warning")
                    log.info("chat.idle_warning", chat=chat.id)
                elif chat.idle_warned and quiet > s.idle_warn_s + s.idle_close_s:
                    await self._end(chat, "timeout")
        for vol in list(self.volunteers.values()):
            for chat_id, deadline in list(vol.wrapups.items()):
                if now > deadline or (vol.gone_since is not None and now - vol.gone_since > s.volunteer_grace_s):
                    del vol.wrapups[chat_id]
                    chat = self.chats.get(chat_id)
                    if chat is not None:
                        self._finalize(chat, None)
            if vol.gone_since is not None and now - vol.gone_since > s.volunteer_grace_s:
                await self._volunteer_gone(vol, now)
        for token_hash, (_, expiry) in list(self.tombstones.items()):
            if expiry < now:
                del self.tombstones[token_hash]
        await self._match()   # finalised wrap-ups may have freed volunteers

    async def _volunteer_gone(self, vol: Volunteer, now: float) -> None:
        """Past the grace period: hand the volunteer's chats back to the front of the queue."""
        vid = vol.profile.id
        for chat_id in sorted(vol.chats, key=lambda c: self.chats[c].started, reverse=True):
            chat = self.chats[chat_id]
            self.router.release(vid, chat_id, now)
            chat.state, chat.volunteer = "queued", None
            self.router.enqueue(chat_id, chat.lang, now, front=True)
            await self._system(chat, "volunteer_lost", to="visitor")
            chat.last_queued = None
            log.info("chat.requeued", chat=chat_id, volunteer=vid[:8])
        vol.chats.clear()
        self.router.remove_volunteer(vid)
        del self.volunteers[vid]
        log.info("volunteer.gone", volunteer=vid[:8])
        self._positions_changed()
        await self._match()

    # -- reading -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, int]:
        return {
            "waiting": self.router.waiting(),
            "active": sum(1 for c in self.chats.values() if c.state == "active"),
            "volunteers_available": self.router.volunteers_online(),
            "volunteers_connected": sum(1 for v in self.volunteers.values() if v.outbox is not None),
        }
