"""The supervisor's tools on the volunteer socket, and a volunteer's call for help.

Frames (validated in ``chat.frames``, documented in docs/protocol.md):

    supervise {active}          the shift overview, sent every OVERVIEW_EVERY_S while active
    observe {chat, active}      silent observation: the chat's lines, the visitor is not told;
                                the volunteer is (``observed``)
    whisper {chat, id, text}    a line only the volunteer and supervisors see
    join {chat}                 openly: the visitor is told, the supervisor may write
    takeover {chat}             the chat becomes the supervisor's (and its wrap-up)
    block {chat, hours}         the visitor's address hash is refused for 24/72/168 h; the chat ends
    dismiss {alert}             an alert is dealt with
    escalate {chat, kind}       a volunteer asks for help (``help``) or flags acute danger
    transfer {chat, to}         warm transfer to another volunteer or to a language queue

Everything here is shared state in the broker (``chat.state``): who observes
(``obs`` in the chat's hash, with the node that holds the observer's socket), who
joined, the alerts, the blocks. The overview carries metadata only, never a line.
Every observe, join, takeover, transfer, block, supervisor end and whisper is
written to the audit log (who, what, when, which chat; never text).
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from volunteer.audit import audit

from . import followup
from . import state as S
from .addresses import AddressHasher
from .broker import BrokerError
from .exceptions import FrameError
from .frames import SUPERVISOR_TYPES
from .logs import get_logger

if TYPE_CHECKING:
    from .broker import Tx
    from .hub import Console, Feed, Hub

log = get_logger("chat.supervision")

# How often a supervising console gets a fresh overview (also at once after a change here).
OVERVIEW_EVERY_S = 1.0
# Queued chats listed in the overview (the count covers them all).
OVERVIEW_QUEUED = 50
# Alerts are kept this long at most (they also go when their chat ends or is dismissed).
ALERT_TTL_S = 6 * 3600

_UNKNOWN = ("unknown_chat", "you have no chat with that id")


def _chats(raw: dict[str, str]) -> set[str]:
    return {c for c in raw.get("chats", "").split(",") if c}


def _wraps(raw: dict[str, str]) -> set[str]:
    return {item.partition("@")[0] for item in raw.get("wraps", "").split(",") if item}


def _joined(raw: dict[str, str]) -> set[str]:
    return {v for v in raw.get("joined", "").split(",") if v}


def render_extra(frame: dict[str, Any], entry: dict[str, Any], side: str) -> None:
    """Supervisors' lines: a name, and ``from: "volunteer"`` for the visitor (the contract's word)."""
    if "name" in entry:
        frame["name"] = entry["name"]
    if entry["from"] == "supervisor" and side == "visitor":
        frame["from"] = "volunteer"


class Supervision:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.hasher = AddressHasher(hub.broker, hub.settings.secret)
        self.watchers: set[str] = set()                       # accounts here receiving overviews
        self.feeds: dict[tuple[str, str], Feed] = {}          # (account, chat) observed here
        # ... and the console that asked: a console that replaces it must ask again.
        self.observers_here: dict[tuple[str, str], Console] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        # Hellos are screened one at a time, in the order they arrived, so that the
        # broker round trips of the screen cannot reorder the queue (FIFO by arrival).
        self._screening = asyncio.Lock()

    # -- lifecycle ---------------------------------------------------------------------
    async def stop(self) -> None:
        self.watchers.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def disconnected(self, con: Console) -> None:
        """A console closed: it stops receiving overviews and stops observing."""
        vid = con.profile.id
        if self.hub.consoles.get(vid) is con:
            self.watchers.discard(vid)
        for key in [k for k, c in self.observers_here.items() if c is con]:
            del self.observers_here[key]
            self.feeds.pop(key, None)
            try:
                await self.hub._commit(lambda tx, local, c=key[1]: self._tx_unobserve(tx, local, c, vid))
            except Exception as exc:   # the chat may be gone, or the broker: nothing to undo
                log.debug("observe.cleanup", error=type(exc).__name__)

    async def _tx_unobserve(self, tx: Tx, local: list[dict[str, Any]], chat: str, vid: str) -> None:
        """The console went away: it stops observing, but stays joined (it may come back)."""
        st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
        if st is None or not any(v == vid for v, _ in st.observers()):
            return
        observers = [(v, n) for v, n in st.observers() if v != vid]
        tx.hset(S.chat_key(chat), {"obs": ",".join(f"{v}@{n}" for v, n in observers)})
        if st.state == "active":
            await self._tell_volunteer(tx, local, st, observers)

    async def _tell_volunteer(self, tx: Tx, local: list[dict[str, Any]], st: S.ChatState,
                              observers: list[tuple[str, str]]) -> None:
        names = [r.get("name", "") for r in
                 await tx.hgetall_many([S.vol_key(v) for v, _ in observers], watch=False)]
        self.hub._notify(tx, await self.hub._vol_node(tx, st.vol),
                         {"k": "frame", "chat": st.id, "to": "volunteer", "vid": st.vol}, local,
                         {"type": "observed", "chat": st.id, "supervisors": sorted(names)})

    # -- frames ------------------------------------------------------------------------
    async def frame(self, con: Console, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind in SUPERVISOR_TYPES and con.profile.role != "supervisor":
            raise FrameError("supervisor_only", "this frame needs the supervisor role")
        handler = getattr(self, f"_on_{kind}")
        await handler(con, frame)

    async def _on_supervise(self, con: Console, frame: dict[str, Any]) -> None:
        vid = con.profile.id
        if frame["active"]:
            self.watchers.add(vid)
            con.outbox.send(await self.overview())
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._loop(), name="supervision.overview")
        else:
            self.watchers.discard(vid)

    async def _on_observe(self, con: Console, frame: dict[str, Any]) -> None:
        await self._observe(con, frame["chat"], frame["active"], join=False)

    async def _on_join(self, con: Console, frame: dict[str, Any]) -> None:
        await self._observe(con, frame["chat"], True, join=True)
        await self.hub._system(frame["chat"], "supervisor_joined")

    async def _observe(self, con: Console, chat: str, active: bool, *, join: bool) -> None:
        vid = con.profile.id
        st, joined = await self.hub._commit(lambda tx, local: self._tx_observe(tx, local, chat, vid,
                                                                              active=active, join=join))
        key = (vid, chat)
        if not active:
            self.feeds.pop(key, None)
            self.observers_here.pop(key, None)
            con.outbox.send({"type": "observing", "chat": chat, "active": False})
            log.info("chat.observe_stopped", chat=chat, supervisor=vid[:8])
            return
        await audit(self.hub.sessions, actor=vid, action="chat.join" if join else "chat.observe", subject=chat)
        log.info("chat.joined" if join else "chat.observed", chat=chat, supervisor=vid[:8])
        from .hub import Feed
        feed = self.feeds[key] = Feed(0)
        self.observers_here[key] = con
        holder = await self.hub._vol_name(st.vol) if st.vol else ""
        async with feed.lock:
            con.outbox.send({"type": "observing", "chat": chat, "active": True, "joined": joined,
                             "state": st.state, "volunteer": holder, "intake": self.hub._intake(st),
                             "lang": st.lang, "channel": st.channel,
                             "visitor": "here" if st.vnode else "away"})
            entries = await self.hub._read_log(chat, 0)
            for seq, entry in entries:
                self._send(con, chat, seq, entry, replay=True)
            if entries:
                feed.settle_through(entries[-1][0])
        self._wake.set()

    async def _tx_observe(self, tx: Tx, local: list[dict[str, Any]], chat: str, vid: str, *,
                          active: bool, join: bool) -> tuple[S.ChatState, bool]:
        raw = await tx.hgetall(S.chat_key(chat))
        st = S.ChatState.load(chat, raw)
        if st is None or st.state not in ("queued", "active"):
            raise FrameError(*_UNKNOWN)
        if st.vol == vid:
            raise FrameError("out_of_order", "this chat is already yours")
        if join and st.state != "active":
            raise FrameError("out_of_order", "the chat has no volunteer yet")
        observers = [(v, n) for v, n in st.observers() if v != vid]
        joined = _joined(raw)
        if active:
            observers.append((vid, self.hub.node))
        else:
            joined.discard(vid)
        if join:
            joined.add(vid)
        obs = ",".join(f"{v}@{n}" for v, n in observers)
        tx.hset(S.chat_key(chat), {"obs": obs, "joined": ",".join(sorted(joined))})
        if st.state == "active":
            await self._tell_volunteer(tx, local, st, observers)
        st.obs = obs
        return st, vid in joined

    async def assigned(self, con: Console, st: S.ChatState) -> None:
        """A console got a chat (new, resumed or handed over): tell it who observes, if anyone."""
        vid = con.profile.id
        if any(v == vid for v, _ in st.observers()):
            # A supervisor observed the chat while it waited and now holds it: a holder does
            # not observe too (every line would come twice, and ``observed`` name oneself).
            self.feeds.pop((vid, st.id), None)
            self.observers_here.pop((vid, st.id), None)
            await self.hub._commit(lambda tx, local: self._tx_unobserve(tx, local, st.id, vid))
            con.outbox.send({"type": "observing", "chat": st.id, "active": False})
            return
        observers = [v for v, _ in st.observers()]
        if not observers:
            return
        raws = await self.hub.broker.read(
            lambda tx: tx.hgetall_many([S.vol_key(v) for v in observers], watch=False))
        con.outbox.send({"type": "observed", "chat": st.id,
                         "supervisors": sorted(r.get("name", "") for r in raws)})

    async def _on_whisper(self, con: Console, frame: dict[str, Any]) -> None:
        await self._say(con, frame["chat"], frame["id"], frame["text"], whisper=True)
        await audit(self.hub.sessions, actor=con.profile.id, action="chat.whisper", subject=frame["chat"])

    async def joined_frame(self, con: Console, frame: dict[str, Any]) -> bool:
        """``message``/``typing``/``end`` from a supervisor for a chat they joined; False if not joined."""
        chat, vid = frame["chat"], con.profile.id
        raw = await self.hub.broker.read(lambda tx: tx.hgetall(S.chat_key(chat), watch=False))
        if vid not in _joined(raw) or frame["type"] not in ("message", "typing", "end"):
            return False
        if frame["type"] == "message":
            await self._say(con, chat, frame["id"], frame["text"], whisper=False)
        elif frame["type"] == "typing":
            st = S.ChatState.load(chat, raw)
            if st is not None and st.vnode:
                await self.hub._commit(lambda tx, local: self._typing(tx, local, st, frame["active"]))
        else:
            if not await self.hub._end(chat, "supervisor"):
                raise FrameError(*_UNKNOWN)
            await audit(self.hub.sessions, actor=vid, action="chat.end", subject=chat)
        return True

    async def _typing(self, tx: Tx, local: list[dict[str, Any]], st: S.ChatState, active: bool) -> None:
        self.hub._notify(tx, st.vnode, {"k": "frame", "chat": st.id, "to": "visitor"}, local,
                         {"type": "typing", "active": active})

    async def _say(self, con: Console, chat: str, client_id: str | int, body: str, *, whisper: bool) -> None:
        """A supervisor's line: to the volunteer only (whisper) or to both sides (joined)."""
        hub, vid, now = self.hub, con.profile.id, self.hub.clock()
        digest = hub._digest(chat, body)
        id_key = hub._id_key(chat, vid, client_id, digest)          # as Hub._line
        entry: dict[str, Any] = {"from": "whisper" if whisper else "supervisor", "text": body,
                                 "name": con.profile.display_name, "sid": vid}
        if whisper:
            entry["to"] = "volunteer"

        async def fn(tx: Tx, local: list[dict[str, Any]]) -> int:
            raw = await tx.hgetall(S.chat_key(chat))
            st = S.ChatState.load(chat, raw)
            if st is None or st.state not in ("queued", "active"):
                raise FrameError(*_UNKNOWN)
            allowed = (any(v == vid for v, _ in st.observers()) if whisper else vid in _joined(raw))
            if not allowed:
                raise FrameError("unknown_chat", "observe (or join) the chat first")
            if st.state != "active":
                raise FrameError("out_of_order", "the chat has no volunteer yet")
            seen = await tx.hget(S.ids_key(chat), id_key, watch=False)
            if seen:
                seq_s, _, seen_digest = seen.partition("|")
                if seen_digest == digest:
                    return int(seq_s)
            seq = st.seq + 1
            fields = {"seq": str(seq)}
            readers = [("volunteer", await hub._vol_node(tx, st.vol))]
            if not whisper:
                fields.update({"last_act": repr(now), "warned": "0"})
                readers.append(("visitor", st.vnode))
                tx.zadd(S.DUE, {f"idle:{chat}": now + hub.settings.idle_warn_s})
            tx.hset(S.chat_key(chat), fields)
            tx.hset(S.ids_key(chat), {id_key: f"{seq}|{digest}"})
            tx.expire(S.ids_key(chat), hub._log_ttl)
            hub._append(tx, local, st, seq, entry, readers)
            return seq

        seq = await hub._commit(fn)
        con.outbox.send({"type": "ack", "chat": chat, "id": client_id, "seq": seq})
        feed = self.feeds.get((vid, chat))
        if feed is not None:
            feed.settle(seq)

    async def _on_takeover(self, con: Console, frame: dict[str, Any]) -> None:
        chat = frame["chat"]
        await self._move(chat, con.profile.id, reason="takeover")
        self.feeds.pop((con.profile.id, chat), None)
        self.observers_here.pop((con.profile.id, chat), None)
        await audit(self.hub.sessions, actor=con.profile.id, action="chat.takeover", subject=chat)
        await self.hub._system(chat, "supervisor_took_over", to="visitor")
        log.info("chat.taken_over", chat=chat, supervisor=con.profile.id[:8])
        self._wake.set()

    async def _on_transfer(self, con: Console, frame: dict[str, Any]) -> None:
        chat, vid, target = frame["chat"], con.profile.id, frame["to"]
        holder = None if con.profile.role == "supervisor" else vid
        if "volunteer" in target:
            await self._move(chat, target["volunteer"], reason="transfer", holder=holder)
        else:
            await self._requeue(chat, target["queue"], holder=holder)
        await audit(self.hub.sessions, actor=vid, action="chat.transfer", subject=chat)
        await self.hub._system(chat, "transferred", to="visitor")
        con.outbox.send({"type": "transferred", "chat": chat})
        log.info("chat.transferred", chat=chat, to="volunteer" if "volunteer" in target else "queue")
        if "queue" in target:
            self.hub._positions_changed()
            await self.hub._match()
        self._wake.set()

    async def _move(self, chat: str, to: str, *, reason: str, holder: str | None = None) -> None:
        """Give an active chat to account ``to`` (present on some node); its holder lets go."""
        async def fn(tx: Tx, local: list[dict[str, Any]]) -> None:
            raw = await tx.hgetall(S.chat_key(chat))
            st = S.ChatState.load(chat, raw)
            if st is None or st.state != "active" or (holder is not None and st.vol != holder):
                raise FrameError(*_UNKNOWN)
            if st.vol == to:
                raise FrameError("out_of_order", "the chat is already theirs")
            old_raw = await tx.hgetall(S.vol_key(st.vol))
            new_raw = await tx.hgetall(S.vol_key(to))
            new = S.VolState.load(to, new_raw)
            if new is None or not new.node:
                raise FrameError("transfer_refused", "that volunteer is not connected")
            if reason == "transfer" and (not new.wants or
                                         len(_chats(new_raw)) + len(_wraps(new_raw)) >= new.capacity):
                raise FrameError("transfer_refused", "that volunteer is paused or has no free slot")
            if old_raw:
                tx.hset(S.vol_key(st.vol), {"chats": ",".join(sorted(_chats(old_raw) - {chat}))})
            tx.hset(S.vol_key(to), {"chats": ",".join(sorted(_chats(new_raw) | {chat}))})
            observers = ",".join(f"{v}@{n}" for v, n in st.observers() if v != to)
            tx.hset(S.chat_key(chat), {"vol": to, "last_vol": to, "obs": observers,
                                       "joined": ",".join(sorted(_joined(raw) - {to}))})
            self.hub._notify(tx, old_raw.get("node", ""), {"k": "released", "chat": chat, "to": "sup",
                                                           "vid": st.vol, "reason": reason}, local)
            self.hub._notify(tx, new.node, {"k": "assigned", "chat": chat, "to": "volunteer", "vid": to}, local)
            self.hub._notify(tx, st.vnode, {"k": "assigned", "chat": chat, "to": "visitor", "name": new.name},
                             local)

        await self.hub._commit(fn)

    async def _requeue(self, chat: str, lang: str, *, holder: str | None) -> None:
        now = self.hub.clock()

        async def fn(tx: Tx, local: list[dict[str, Any]]) -> None:
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            if st is None or st.state != "active" or (holder is not None and st.vol != holder):
                raise FrameError(*_UNKNOWN)
            old_raw = await tx.hgetall(S.vol_key(st.vol))
            queue = await tx.zrange(S.QUEUE)
            front = min([score for _, score in queue] + [now]) - 1
            if old_raw:
                tx.hset(S.vol_key(st.vol), {"chats": ",".join(sorted(_chats(old_raw) - {chat}))})
            tx.hset(S.chat_key(chat), {"state": "queued", "vol": "", "lang": lang, "joined": ""})
            tx.zadd(S.QUEUE, {chat: front})
            tx.zrem(S.DUE, f"idle:{chat}")
            self.hub._notify(tx, old_raw.get("node", ""), {"k": "released", "chat": chat, "to": "sup",
                                                           "vid": st.vol, "reason": "transfer"}, local)
            self.hub._notify(tx, st.vnode, {"k": "requeued", "chat": chat, "to": "visitor"}, local)

        await self.hub._commit(fn)

    async def _on_escalate(self, con: Console, frame: dict[str, Any]) -> None:
        chat, vid, kind = frame["chat"], con.profile.id, frame["kind"]
        alert = secrets.token_hex(6)
        now = self.hub.clock()

        async def fn(tx: Tx) -> None:
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            if st is None or st.vol != vid:
                raise FrameError(*_UNKNOWN)
            if st.state != "active":
                raise FrameError("chat_ended", "the chat is over; file the wrap-up")
            tx.hset(S.ALERTS, {alert: json.dumps({"chat": chat, "kind": kind, "vid": vid, "at": now})})
            tx.expire(S.ALERTS, ALERT_TTL_S)

        await self.hub.broker.transact(fn)
        con.outbox.send({"type": "escalated", "chat": chat, "kind": kind, "alert": alert})
        if kind == "acute":
            await self.hub._system(chat, "acute_guidance", to="volunteer")
        log.warning("chat.escalated", chat=chat, kind=kind, volunteer=vid[:8])
        self._wake.set()

    async def _on_dismiss(self, con: Console, frame: dict[str, Any]) -> None:
        async def fn(tx: Tx) -> bool:
            if await tx.hget(S.ALERTS, frame["alert"]) is None:
                return False
            tx.hdel(S.ALERTS, frame["alert"])
            return True

        if not await self.hub.broker.transact(fn):
            raise FrameError("unknown_alert", "no such alert (it may have been dismissed already)")
        self._wake.set()

    async def _on_block(self, con: Console, frame: dict[str, Any]) -> None:
        chat, hours = frame["chat"], frame["hours"]
        raw = await self.hub.broker.read(lambda tx: tx.hgetall(S.chat_key(chat), watch=False))
        st = S.ChatState.load(chat, raw)
        if st is None or st.state not in ("queued", "active"):
            raise FrameError(*_UNKNOWN)
        day, _, address_hash = raw.get("addr", "").partition(":")
        if address_hash:
            async def fn(tx: Tx) -> None:
                tx.set(S.block_key(address_hash), "1", ex=hours * 3600)

            await self.hub.broker.transact(fn)
            until = datetime.fromtimestamp(self.hub.clock() + hours * 3600, timezone.utc)
            await self.hasher.retain(day, until)
        await self.hub._end(chat, "supervisor")
        await audit(self.hub.sessions, actor=con.profile.id, action="visitor.block", subject=chat)
        con.outbox.send({"type": "blocked", "chat": chat, "hours": hours, "address": bool(address_hash)})
        log.info("visitor.blocked", chat=chat, hours=hours, supervisor=con.profile.id[:8])
        self._wake.set()

    # -- follow-up codes (chat.followup) --------------------------------------------------
    async def _on_followup(self, con: Console, frame: dict[str, Any]) -> None:
        chat, vid = frame["chat"], con.profile.id
        st = S.ChatState.load(chat, await self.hub.broker.read(
            lambda tx: tx.hgetall(S.chat_key(chat), watch=False)))
        if st is None or st.vol != vid:
            raise FrameError(*_UNKNOWN)
        if st.state != "active":
            raise FrameError("chat_ended", "the chat is over; file the wrap-up")
        code = await followup.issue(self.hub.sessions, self.hub.settings.secret, vid)
        payload = {"type": "followup", "code": code, "valid_days": followup.VALID_DAYS}

        async def fn(tx: Tx, local: list[dict[str, Any]]) -> None:
            now_st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat), watch=False))
            if now_st is None or now_st.state != "active":
                raise FrameError("chat_ended", "the chat is over; file the wrap-up")
            self.hub._notify(tx, now_st.vnode, {"k": "frame", "chat": chat, "to": "visitor"}, local, payload)

        await self.hub._commit(fn)
        con.outbox.send({"type": "followup_given", "chat": chat, "valid_days": followup.VALID_DAYS})
        log.info("chat.followup_given", chat=chat, volunteer=vid[:8])

    async def followup_owner(self, code: str) -> str:
        """The account that gave a valid follow-up code, or "" (looked up before the chat opens)."""
        return await followup.resolve(self.hub.sessions, self.hub.settings.secret, code) or ""

    async def followup_returns(self, vis: Any, vid: str) -> None:
        """A new chat came with a follow-up code: straight to its volunteer if they are free.

        Runs right after the chat was queued. On a shared broker another node's
        matching may take the chat in the moment between; it is then an ordinary chat.
        """
        if not vid:
            vis.outbox.send({"type": "error", "code": "followup_unknown",
                             "detail": "that follow-up code is unknown or has expired; you are in the queue"})
            return
        from .hub import NODE_TIMEOUT_S
        hub, chat, now = self.hub, vis.id, self.hub.clock()

        async def fn(tx: Tx, local: list[dict[str, Any]]) -> bool:
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            raw = await tx.hgetall(S.vol_key(vid))
            vol = S.VolState.load(vid, raw)
            if st is None or st.state != "queued" or vol is None or not vol.available:
                return False
            beat = await tx.zscore(S.NODES, vol.node, watch=False)
            held = _chats(raw)
            if beat is None or beat < now - NODE_TIMEOUT_S or len(held) + len(_wraps(raw)) >= vol.capacity:
                return False
            fields = {"state": "active", "vol": vid, "last_vol": vid, "last_act": repr(now), "warned": "0"}
            if st.waited is None:
                fields["waited"] = repr(max(0.0, now - st.started))
            tx.hset(S.chat_key(chat), fields)
            S.left_queue(tx, st)
            tx.hset(S.vol_key(vid), {"idle_since": repr(now), "chats": ",".join(sorted(held | {chat}))})
            tx.zadd(S.DUE, {f"idle:{chat}": now + hub.settings.idle_warn_s})
            hub._notify(tx, st.vnode, {"k": "assigned", "chat": chat, "to": "visitor", "name": vol.name}, local)
            hub._notify(tx, vol.node, {"k": "assigned", "chat": chat, "to": "volunteer", "vid": vid}, local)
            hub._notify(tx, vol.node, {"k": "frame", "chat": chat, "to": "volunteer", "vid": vid}, local,
                        {"type": "followup_returned", "chat": chat})
            return True

        routed = await hub._commit(fn)
        log.info("chat.followup_returned", chat=chat, routed=routed)

    # -- the visitor's address (only ever as a keyed hash) ----------------------------------
    async def screen(self, address: str | None) -> tuple[bool, dict[str, str]]:
        """Is this address blocked? Also its hashes under every live key (today's first).

        The caller opens the chat right after (without awaiting anything else), so
        chats still queue in the order their hellos arrived.
        """
        async with self._screening:
            hashes = await self.hasher.hashes(address)
            if not hashes:
                return False, {}

            async def fn(tx: Tx) -> bool:
                for h in hashes.values():
                    if await tx.get(S.block_key(h), watch=False) is not None:
                        return True
                return False

            return await self.hub.broker.read(fn), hashes

    async def remember(self, chat: str, hashes: dict[str, str]) -> None:
        """Keep today's hash of the visitor's address with the live chat (for a block)."""
        if not hashes:
            return
        day, address_hash = next(iter(hashes.items()))

        async def fn(tx: Tx) -> None:
            if await tx.hget(S.chat_key(chat), "state") is not None:
                tx.hset(S.chat_key(chat), {"addr": f"{day}:{address_hash}"})

        try:
            await self.hub.broker.transact(fn)
        except BrokerError as exc:
            # The chat goes on; a block of it can then only end it (blocked.address false).
            log.warning("chat.address_unkept", chat=chat, error=str(exc))

    # -- notices from the hub -----------------------------------------------------------
    async def on_notice(self, n: dict[str, Any], payload: Any) -> None:
        vid, chat, kind = n.get("vid", ""), n["chat"], n["k"]
        con = self.hub.consoles.get(vid)
        if con is None:
            return
        if kind == "line":
            feed = self.feeds.get((vid, chat))
            if feed is not None and self.observers_here.get((vid, chat)) is con and chat not in con.feeds:
                await self._deliver(con, chat, feed, n["seq"], payload)
        elif kind == "ended":
            self.observers_here.pop((vid, chat), None)
            if self.feeds.pop((vid, chat), None) is not None:
                con.outbox.send({"type": "observing", "chat": chat, "active": False, "ended": True})
        elif kind == "released":
            if con.feeds.pop(chat, None) is not None:
                con.outbox.send({"type": "released", "chat": chat, "reason": n["reason"]})

    async def _deliver(self, con: Console, chat: str, feed: Feed, seq: int, entry: dict[str, Any] | None) -> None:
        async with feed.lock:
            if seq <= feed.last or seq in feed.own:
                return
            if seq == feed.last + 1 and entry is not None:
                self._send(con, chat, seq, entry)
                feed.settle(seq)
                return
            for logged_seq, logged in await self.hub._read_log(chat, feed.last):
                if logged_seq not in feed.own:
                    self._send(con, chat, logged_seq, logged)
                feed.settle_through(logged_seq)
            feed.settle_through(seq)

    def _send(self, con: Console, chat: str, seq: int, entry: dict[str, Any], *, replay: bool = False) -> None:
        if entry.get("sid") == con.profile.id and not replay:
            return          # the supervisor's own line: acknowledged already
        frame = self.hub._render(chat, seq, entry, "volunteer", con.lang)
        frame["observed"] = True
        con.outbox.send(frame, replay=replay)

    # -- the overview -------------------------------------------------------------------
    async def _loop(self) -> None:
        while self.watchers:
            try:
                async with asyncio.timeout(OVERVIEW_EVERY_S):   # not wait_for: see Hub._cancel_all
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            if not self.watchers:
                return
            try:
                frame = await self.overview()
            except Exception as exc:
                log.warning("overview.failed", error=type(exc).__name__)
                continue
            for vid in list(self.watchers):
                con = self.hub.consoles.get(vid)
                if con is None:
                    self.watchers.discard(vid)
                else:
                    con.outbox.send(frame)

    async def overview(self) -> dict[str, Any]:
        """The shift at a glance: queue, chats, volunteers, alerts. Metadata only, never a line."""
        now = self.hub.clock()
        from .hub import NODE_TIMEOUT_S

        async def fn(tx: Tx) -> tuple[Any, ...]:
            queue = await tx.zrange(S.QUEUE, watch=False)
            vids = sorted(await tx.smembers(S.VOLS, watch=False))
            vraws = await tx.hgetall_many([S.vol_key(v) for v in vids], watch=False)
            alive = {n for n, beat in await tx.zrange(S.NODES, watch=False) if beat > now - NODE_TIMEOUT_S}
            alerts = await tx.hgetall(S.ALERTS, watch=False)
            held = [(c, vid) for vid, raw in zip(vids, vraws) for c in sorted(_chats(raw) | _wraps(raw))]
            queued = [c for c, _ in queue[:OVERVIEW_QUEUED]]
            craws = await tx.hgetall_many([S.chat_key(c) for c, _ in held] + [S.chat_key(c) for c in queued],
                                          watch=False)
            return queue, vids, vraws, alive, alerts, held, queued, craws

        queue, vids, vraws, alive, alerts_raw, held, queued, craws = await self.hub.broker.read(fn)
        names = {vid: raw.get("name", "") for vid, raw in zip(vids, vraws)}
        alerts: list[dict[str, Any]] = []
        flags: dict[str, set[str]] = {}
        live_chats: set[str] = set()
        chats: list[dict[str, Any]] = []
        states = [S.ChatState.load(c, r) for c, r in zip([c for c, _ in held] + queued, craws)]
        for (chat, raw), st in zip(zip([c for c, _ in held] + queued, craws), states):
            if st is not None and st.state in ("queued", "active"):
                live_chats.add(chat)
        for alert, blob in sorted(alerts_raw.items()):
            a = json.loads(blob)
            if a["chat"] not in live_chats:
                continue
            flags.setdefault(a["chat"], set()).add(a["kind"])
            alerts.append({"alert": alert, "chat": a["chat"], "kind": a["kind"],
                           "volunteer": names.get(a["vid"], ""), "since_s": int(now - a["at"])})
        longest = 0.0
        for chat, raw, st in zip([c for c, _ in held] + queued, craws, states):
            if st is None:
                continue
            if st.state == "queued":
                longest = max(longest, now - st.started)
            chat_flags = set(flags.get(chat, set()))
            if st.obs:
                chat_flags.add("observed")
            if _joined(raw):
                chat_flags.add("joined")
            if not st.vnode:
                chat_flags.add("visitor_away")
            chats.append({"chat": chat, "state": "wrapup" if st.state == "ended" else st.state,
                          "volunteer": names.get(st.vol, "") if st.vol else "", "volunteer_id": st.vol,
                          "since_s": int(now - st.started), "lang": st.lang, "channel": st.channel,
                          "flags": sorted(chat_flags)})
        volunteers = []
        for vid, raw in zip(vids, vraws):
            vol = S.VolState.load(vid, raw)
            if vol is None:
                continue
            present = bool(vol.node) and vol.node in alive
            volunteers.append({"id": vid, "display_name": vol.name,
                               "state": ("available" if vol.wants else "paused") if present else "away",
                               "load": len(_chats(raw)) + len(_wraps(raw)), "capacity": vol.capacity,
                               "languages": sorted(vol.langs)})
        return {"type": "overview",
                "queue": {"waiting": len(queue), "longest_wait_s": int(math.floor(longest))},
                "chats": chats, "volunteers": volunteers, "alerts": alerts}
