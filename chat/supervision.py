"""Supervision on the volunteer socket: observing, whispering, joining, taking over, handing
over, and a volunteer's call for help.

Frames (validated in ``chat.frames``, documented in docs/protocol.md):

    observe {chat, active}      silent observation: the chat's lines, the visitor is not told;
                                the volunteer is (``observed``)
    whisper {chat, id, text}    a line only the volunteer and supervisors see
    join {chat}                 openly: the visitor is told, the supervisor may write

The neighbours each own their frames: the shift overview (``supervise``) is
``chat.overview``'s; handing a chat over (``takeover``, ``transfer``) is
``chat.handover``'s; calls for help (``escalate``, ``dismiss``) are ``chat.alerts``';
blocks (``block``) are ``chat.blocks``'; follow-up codes (``followup``) are
``chat.followup_frames``'.

Everything here is shared state in the broker (``chat.state``): who observes
(``obs`` in the chat's hash, with the node that holds the observer's socket), who
joined. Every observe, join, supervisor end and whisper is written to the audit
log (who, what, when, which chat; never text).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from volunteer.audit import audit

from . import state as S
from .frame_types import ChatFrame, Join, Observe, Whisper
from .kernel.broker import Tx
from .kernel import error_codes as codes
from .kernel.exceptions import FrameError
from .live.context import Live, Local, joined_by
from .live.delivery import Delivery, render, render_extra
from .live.ending import Ending
from .live.lines import Lines
from .live.sessions import Console, Feed
from .kernel.logs import get_logger
from .overview import Overview

__all__ = ["Supervision", "render_extra"]

log = get_logger(__name__)



def observed_frame(st: S.ChatState, vids: list[str], raws: list[dict[str, str]]) -> dict[str, Any]:
    """``observed``: who follows the chat, by display name; trainees apart from supervisors."""
    trainees = st.trainees()
    return {"type": "observed", "chat": st.id,
            "supervisors": sorted(r.get("name", "") for v, r in zip(vids, raws) if v not in trainees),
            "trainees": sorted(r.get("name", "") for v, r in zip(vids, raws) if v in trainees)}


class Supervision:
    def __init__(self, live: Live, *, lines: Lines, delivery: Delivery, ending: Ending,
                 overview: Overview) -> None:
        self.live = live
        self.lines = lines
        self.delivery = delivery
        self.ending = ending
        self.overview = overview
        self.feeds: dict[tuple[str, str], Feed] = {}          # (account, chat) observed here
        # ... and the console that asked: a console that replaces it must ask again.
        self.observers_here: dict[tuple[str, str], Console] = {}
        live.notices.register("observer", ("line", "ended"), self.on_notice)

    async def disconnected(self, con: Console) -> None:
        """A console closed: it stops observing."""
        vid = con.profile.id
        for key in [k for k, c in self.observers_here.items() if c is con]:
            del self.observers_here[key]
            self.feeds.pop(key, None)
            try:
                await self.live.commit(partial(self._tx_unobserve, chat=key[1], vid=vid))
            except Exception as exc:   # the chat may be gone, or the broker: nothing to undo
                log.debug("observe.cleanup", error=type(exc).__name__)

    async def _tx_unobserve(self, tx: Tx, local: Local, chat: str, vid: str) -> None:
        """The console went away: it stops observing, but stays joined (it may come back)."""
        st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
        if st is None or not any(v == vid for v, _ in st.observers()):
            return
        observers = [(v, n) for v, n in st.observers() if v != vid]
        st.shadows = ",".join(sorted(st.trainees() - {vid}))      # a trainee asks again when back
        tx.hset(S.chat_key(chat), {"obs": ",".join(f"{v}@{n}" for v, n in observers), "shadows": st.shadows})
        if st.state == "active":
            await self._tell_volunteer(tx, local, st, observers)

    async def _tell_volunteer(self, tx: Tx, local: Local, st: S.ChatState,
                              observers: list[tuple[str, str]]) -> None:
        vids = [v for v, _ in observers]
        raws = await tx.hgetall_many([S.vol_key(v) for v in vids], watch=False)
        self.live.notify(tx, await self.live.vol_node(tx, st.vol),
                         {"k": "frame", "chat": st.id, "to": "volunteer", "vid": st.vol}, local,
                         observed_frame(st, vids, raws))

    def forget(self, vid: str, chat: str) -> None:
        """Account ``vid`` holds ``chat`` now: its console here stops observing it."""
        self.feeds.pop((vid, chat), None)
        self.observers_here.pop((vid, chat), None)

    async def on_observe(self, con: Console, frame: Observe) -> None:
        await self._observe(con, frame["chat"], frame["active"], join=False)

    async def on_join(self, con: Console, frame: Join) -> None:
        await self._observe(con, frame["chat"], True, join=True)
        await self.lines.system(frame["chat"], "supervisor_joined")

    async def _observe(self, con: Console, chat: str, active: bool, *, join: bool) -> None:
        vid = con.profile.id
        st, joined = await self.live.commit(lambda tx, local: self._tx_observe(tx, local, chat, vid,
                                                                              active=active, join=join))
        key = (vid, chat)
        if not active:
            self.feeds.pop(key, None)
            self.observers_here.pop(key, None)
            con.outbox.send({"type": "observing", "chat": chat, "active": False})
            log.info("chat.observe_stopped", chat=chat, supervisor=vid[:8])
            return
        await audit(self.live.sessions, actor=vid, action="chat.join" if join else "chat.observe", subject=chat)
        log.info("chat.joined" if join else "chat.observed", chat=chat, supervisor=vid[:8])
        await self.follow(con, st, joined)

    async def follow(self, con: Console, st: S.ChatState, joined: bool = False) -> None:
        """The console (a supervisor's, or a trainee's the volunteer let in) follows the chat's
        lines from here on: ``observing`` and the lines so far."""
        chat, key = st.id, (con.profile.id, st.id)
        feed = self.feeds[key] = Feed(0)
        self.observers_here[key] = con
        holder = await self.live.vol_name(st.vol) if st.vol else ""
        async with feed.lock:
            con.outbox.send({"type": "observing", "chat": chat, "active": True, "joined": joined,
                             "state": st.state, "volunteer": holder, "intake": self.live.intake(st),
                             "lang": st.lang, "channel": st.channel,
                             "visitor": "here" if st.vnode else "away",
                             **(self.live.timers(st) if st.state == "active" else {})})
            entries = await self.delivery.read_log(chat, 0)
            for seq, entry in entries:
                self._send(con, chat, seq, entry, replay=True)
            if entries:
                feed.settle_through(entries[-1][0])
        self.overview.changed()

    async def _tx_observe(self, tx: Tx, local: Local, chat: str, vid: str, *,
                          active: bool, join: bool) -> tuple[S.ChatState, bool]:
        raw = await tx.hgetall(S.chat_key(chat))
        st = S.ChatState.load(chat, raw)
        if st is None or st.state not in ("queued", "active"):
            raise FrameError.of(codes.UNKNOWN_CHAT)
        if st.vol == vid:
            raise FrameError.of(codes.OUT_OF_ORDER, "this chat is already yours")
        if join and st.state != "active":
            raise FrameError.of(codes.OUT_OF_ORDER, "the chat has no volunteer yet")
        observers = [(v, n) for v, n in st.observers() if v != vid]
        joined = joined_by(raw)
        if active:
            observers.append((vid, self.live.node))
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
            self.forget(vid, st.id)
            await self.live.commit(lambda tx, local: self._tx_unobserve(tx, local, st.id, vid))
            con.outbox.send({"type": "observing", "chat": st.id, "active": False})
            return
        observers = [v for v, _ in st.observers()]
        if not observers:
            return
        raws = await self.live.broker.read(
            lambda tx: tx.hgetall_many([S.vol_key(v) for v in observers], watch=False))
        con.outbox.send(observed_frame(st, observers, raws))

    async def on_whisper(self, con: Console, frame: Whisper) -> None:
        await self._say(con, frame["chat"], frame["id"], frame["text"], whisper=True)
        await audit(self.live.sessions, actor=con.profile.id, action="chat.whisper", subject=frame["chat"])

    async def joined_frame(self, con: Console, frame: ChatFrame) -> bool:
        """``message``/``typing``/``end`` from a supervisor for a chat they joined; False if not joined."""
        chat, vid = frame["chat"], con.profile.id
        raw = await self.live.broker.read(lambda tx: tx.hgetall(S.chat_key(chat), watch=False))
        if vid not in joined_by(raw) or frame["type"] == "refer":
            return False
        if frame["type"] == "message":
            await self._say(con, chat, frame["id"], frame["text"], whisper=False)
        elif frame["type"] == "typing":
            st = S.ChatState.load(chat, raw)
            active = frame["active"]
            if st is not None and st.vnode:
                await self.live.commit(lambda tx, local: self._typing(tx, local, st, active))
        else:
            if not await self.ending.end(chat, "supervisor"):
                raise FrameError.of(codes.UNKNOWN_CHAT)
            await audit(self.live.sessions, actor=vid, action="chat.end", subject=chat)
        return True

    async def _typing(self, tx: Tx, local: Local, st: S.ChatState, active: bool) -> None:
        self.live.notify(tx, st.vnode, {"k": "frame", "chat": st.id, "to": "visitor"}, local,
                         {"type": "typing", "active": active})

    async def _say(self, con: Console, chat: str, client_id: str | int, body: str, *, whisper: bool) -> None:
        """A supervisor's line: to the volunteer only (whisper) or to both sides (joined)."""
        live, vid, now = self.live, con.profile.id, self.live.clock()
        digest = self.lines.digest(chat, body)
        id_key = self.lines.id_key(chat, vid, client_id, digest)          # as Lines.line
        entry: dict[str, Any] = {"from": "whisper" if whisper else "supervisor", "text": body,
                                 "name": con.profile.display_name, "sid": vid}
        if whisper:
            entry["to"] = "volunteer"

        async def fn(tx: Tx, local: Local) -> int:
            raw = await tx.hgetall(S.chat_key(chat))
            st = S.ChatState.load(chat, raw)
            if st is None or st.state not in ("queued", "active"):
                raise FrameError.of(codes.UNKNOWN_CHAT)
            allowed = (any(v == vid for v, _ in st.observers()) if whisper else vid in joined_by(raw))
            if not allowed:
                raise FrameError.of(codes.UNKNOWN_CHAT, "observe (or join) the chat first")
            if st.state != "active":
                raise FrameError.of(codes.OUT_OF_ORDER, "the chat has no volunteer yet")
            seen = await tx.hget(S.ids_key(chat), id_key, watch=False)
            if seen:
                seq_s, _, seen_digest = seen.partition("|")
                if seen_digest == digest:
                    return int(seq_s)
            seq = st.seq + 1
            fields = {"seq": str(seq)}
            readers = [("volunteer", await live.vol_node(tx, st.vol))]
            if not whisper:
                fields.update({"last_act": repr(now), "warned": "0"})
                readers.append(("visitor", st.vnode))
                tx.zadd(S.DUE, {f"idle:{chat}": now + live.settings.idle_warn_s})
            tx.hset(S.chat_key(chat), fields)
            tx.hset(S.ids_key(chat), {id_key: f"{seq}|{digest}"})
            tx.expire(S.ids_key(chat), live.log_ttl)
            live.append(tx, local, st, seq, entry, readers)
            return seq

        seq = await live.commit(fn)
        con.outbox.send({"type": "ack", "chat": chat, "id": client_id, "seq": seq})
        feed = self.feeds.get((vid, chat))
        if feed is not None:
            feed.settle(seq)

    # -- notices --------------------------------------------------------------------------
    async def on_notice(self, n: dict[str, Any], payload: Any) -> None:
        vid, chat, kind = n.get("vid", ""), n["chat"], n["k"]
        con = self.live.consoles.get(vid)
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

    async def _deliver(self, con: Console, chat: str, feed: Feed, seq: int, entry: dict[str, Any] | None) -> None:
        async with feed.lock:
            # As in chat.live.delivery: a seq of the supervisor's own (acknowledged above a
            # hole) still fills the hole below it.
            if seq <= feed.last:
                return
            if seq == feed.last + 1 and entry is not None:
                self._send(con, chat, seq, entry)
                feed.settle(seq)
                return
            for logged_seq, logged in await self.delivery.read_log(chat, feed.last):
                if logged_seq not in feed.own:
                    self._send(con, chat, logged_seq, logged)
                feed.settle_through(logged_seq)
            feed.settle_through(seq)

    def _send(self, con: Console, chat: str, seq: int, entry: dict[str, Any], *, replay: bool = False) -> None:
        if entry.get("sid") == con.profile.id and not replay:
            return          # the supervisor's own line: acknowledged already
        frame = render(chat, seq, entry, "volunteer", con.lang)
        frame["observed"] = True
        con.outbox.send(frame, replay=replay)
