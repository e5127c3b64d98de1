"""Visitors: a visitor's socket opens or resumes a chat, writes in it, and goes away.

A new chat is refused outside opening hours and when the queue is full (``closed``,
with services to turn to). A resumed chat gets what it missed from the replay log;
a visitor gone longer than its grace period loses the chat (``chat.live.timers``).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, assert_never
from zoneinfo import ZoneInfo

from referral import geography
from volunteer import hours
from volunteer.hours_store import HoursSource

from .. import state as S
from .. import texts
from ..frame_types import FollowupChoice, Hello, IntakeFrame, VisitorFrame
from ..kernel.broker import BrokerError, Tx
from ..kernel import error_codes as codes
from ..kernel.exceptions import FrameError
from ..kernel.logs import get_logger
from ..outbox import Outbox
from .context import INTAKE_SEQ, SKILL_SEQ, Live, Local
from .delivery import Delivery
from .ending import Ending
from .lines import Lines
from .matching import Matching
from .records import Records
from .referring import Referring
from .sessions import Feed, Visitor, hash_token

log = get_logger(__name__)

# A new chat that came with a follow-up code: (its visitor, the account that gave the code or "").
Returning = Callable[[Visitor, str], Awaitable[None]]
# Its young person's followup_choice: wait for that volunteer, or anyone free now.
Choosing = Callable[[Visitor, FollowupChoice], Awaitable[None]]


class Visitors:
    def __init__(self, live: Live, *, lines: Lines, delivery: Delivery, matching: Matching,
                 ending: Ending, records: Records, referring: Referring, hours_source: HoursSource,
                 returning: Returning, choosing: Choosing) -> None:
        self.live = live
        self.lines = lines
        self.delivery = delivery
        self.matching = matching
        self.ending = ending
        self.records = records
        self.referring = referring
        self.hours = hours_source
        self.returning = returning
        self.choosing = choosing
        self._tz = ZoneInfo(live.settings.timezone)
        live.notices.register("visitor", ("assigned", "requeued", "ended", "frame"), self._on_notice)

    # -- hello -------------------------------------------------------------------------
    async def hello(self, outbox: Outbox, hello: Hello, *, only_resume: bool = False) -> Visitor | None:
        """Open or resume a chat for a visitor socket; None when it was turned away.

        ``only_resume``: a chat that cannot be resumed is not replaced by a new one (a
        practice chat's player, ``chat.practice``)."""
        live = self.live
        now = live.clock()
        if hello["resume"]:
            token_hash = hash_token(hello["resume"])
            found = await live.commit(lambda tx, local: self._tx_attach(tx, local, token_hash,
                                                                       outbox.conn, now))
            st, tomb, was_away = found
            if st is not None:
                return await self._resumed(st, outbox, hello["resume"], hello["last_seq"], was_away)
            if tomb is not None:
                outbox.send({"type": "welcome", "resume_token": hello["resume"], "open": True,
                             "resumed": True})
                outbox.send({"type": "ended", "by": tomb})
                outbox.close(1000)
                return None
            outbox.send(codes.RESUME_FAILED.frame())
        if only_resume:
            return None
        token, chat_id = secrets.token_urlsafe(32), secrets.token_urlsafe(12)
        st = S.ChatState(id=chat_id, state="queued", lang=hello["lang"], channel=hello["channel"],
                         started=now, token=hash_token(token), vnode=live.node, vconn=outbox.conn,
                         last_act=now)
        if hello.get("topic"):
            st.intake = live.seal(chat_id, {"topic": hello["topic"]}, INTAKE_SEQ)
            st.skill = live.seal(chat_id, hello["topic"], SKILL_SEQ)
        schedule = self.hours.current               # in memory: no await before the queue
        at = datetime.fromtimestamp(now, timezone.utc)
        if not hours.is_open(schedule, at, self._tz):
            nxt = hours.next_open(schedule, at, self._tz)
            await self._turn_away(outbox, st, "out_of_hours", texts.out_of_hours(st.lang, nxt),
                                  next_open=nxt.isoformat() if nxt else None)
            return None
        key = "v:" + chat_id
        held = live.notices.hold(key)
        try:
            opened = await live.broker.transact(lambda tx: self._tx_open(tx, st))
            if not opened:
                await self._turn_away(outbox, st, "full", texts.text("queue_full", st.lang))
                return None
            vis = self._adopt(st, outbox, Feed(0))
            outbox.send({"type": "welcome", "resume_token": token, "open": True})
        finally:
            live.notices.unhold(key, held)
        log.info("chat.queued", chat=chat_id, lang=st.lang, channel=st.channel)
        for notice in held:
            await live.notices.dispatch(notice)
        if "followup_vid" in hello:
            await self.returning(vis, hello.get("followup_vid") or "")
        # Only the newcomer's position is new: a chat joining at the back moves nobody
        # else (a change on another node is caught by the next position poll).
        await self.matching.flush_positions(only=vis)
        self.matching.match_soon()
        return vis

    async def _turn_away(self, outbox: Outbox, st: S.ChatState, reason: str, text: str,
                         **extra: Any) -> None:
        """Refuse a new chat: ``welcome`` without a token, ``closed``, close 1000, a record."""
        services = await self.referring.closed_services(st.lang)
        outbox.send({"type": "welcome", "resume_token": None, "open": False})
        outbox.send({"type": "closed", "reason": reason, **extra, "services": services,
                     "text": text})
        outbox.close(1000)
        log.info("chat.turned_away", reason=reason, channel=st.channel)
        st.state, st.outcome, st.ended_at = "ended", "closed", st.started
        self.records.record(st, None)

    async def _tx_open(self, tx: Tx, st: S.ChatState) -> bool:
        live = self.live
        if await tx.zcard(S.QUEUE, watch=False) >= live.settings.max_queue:
            return False
        key = S.chat_key(st.id)
        tx.hset(key, st.dump_new())
        tx.expire(key, live.log_ttl)
        tx.set(S.token_key(st.token), st.id, ex=live.log_ttl)
        tx.zadd(S.QUEUE, {st.id: st.started})
        tx.sadd(S.nvis_key(live.node), st.id)
        return True

    def _adopt(self, st: S.ChatState, outbox: Outbox, feed: Feed) -> Visitor:
        vis = Visitor(id=st.id, outbox=outbox, lang=st.lang, feed=feed, started=st.started,
                      channel=st.channel, state="queued" if st.state == "queued" else "active", token=st.token)
        if st.skill and not st.anyone:
            try:
                vis.topic = self.live.skill(st)
            except Exception:           # an unreadable seal (a rotated secret): no preference then
                vis.topic = None
        if st.kept_for(self.live.clock()):
            vis.kept_for, vis.kept_until = st.fvol, st.funtil or 0.0
        self.live.visitors[st.id] = vis
        self.live.outboxes[outbox.conn] = outbox
        return vis

    async def _tx_attach(self, tx: Tx, local: Local, token_hash: str, conn: str,
                         now: float) -> tuple[S.ChatState | None, str | None, bool]:
        live = self.live
        chat_id = await tx.get(S.token_key(token_hash))
        st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id))) if chat_id else None
        if st is None or st.state not in ("queued", "active"):
            return None, await tx.get(S.tomb_key(token_hash), watch=False), False
        was_away = not st.vnode
        key = S.chat_key(st.id)
        tx.hset(key, {"vnode": live.node, "vconn": conn, "vgone": ""})
        tx.expire(key, live.log_ttl)
        if st.vnode and st.vnode != live.node:
            tx.srem(S.nvis_key(st.vnode), st.id)
            if st.vconn:
                tx.publish(st.vnode, json.dumps({"k": "close", "conn": st.vconn, "code": 4409}))
        tx.sadd(S.nvis_key(live.node), st.id)
        tx.zrem(S.DUE, f"vgone:{st.id}")
        if was_away and st.state == "active":
            live.notify(tx, await live.vol_node(tx, st.vol),
                        {"k": "frame", "chat": st.id, "to": "volunteer", "vid": st.vol}, local,
                        {"type": "presence", "chat": st.id, "visitor": "here"})
        return st, None, was_away

    async def _resumed(self, st: S.ChatState, outbox: Outbox, token: str, last_seq: int,
                       was_away: bool) -> Visitor:
        previous = self.live.visitors.get(st.id)
        if previous is not None and previous.outbox is not outbox:
            previous.outbox.close(4409)
        # A client may claim more than the chat holds (a stale or buggy last_seq): it has
        # at most every line so far, and no later line may be taken as already seen.
        vis = self._adopt(st, outbox, Feed(min(last_seq, st.seq)))
        async with vis.feed.lock:
            outbox.send({"type": "welcome", "resume_token": token, "open": True, "resumed": True})
            replayed = await self.delivery.replay(st.id, vis.feed, outbox, "visitor", vis.lang)
            if st.state == "queued":
                if vis.kept_for:        # still kept for the volunteer of its follow-up code
                    wait_s = int(max(0.0, vis.kept_until - self.live.clock()))
                    name = await self.live.vol_name(vis.kept_for)
                    outbox.send({"type": "followup_kept", "kept": True, "volunteer": name, "wait_s": wait_s,
                                 "text": texts.followup_kept(vis.lang, name, wait_s)})
                await self.matching.flush_positions(only=vis)
            else:
                outbox.send({"type": "assigned", "volunteer": await self.live.vol_name(st.vol)})
        if was_away and st.state == "active":
            await self.lines.system(st.id, "visitor_back", to="volunteer")
        log.info("chat.resumed", chat=st.id, side="visitor", replayed=replayed)
        return vis

    # -- frames ------------------------------------------------------------------------
    async def frame(self, vis: Visitor, outbox: Outbox, frame: VisitorFrame) -> None:
        if self.live.visitors.get(vis.id) is not vis:
            raise FrameError.of(codes.REPLACED, "this chat continues on a newer connection")
        if frame["type"] == "hello":
            raise FrameError.of(codes.OUT_OF_ORDER, "hello was already received on this connection")
        if vis.state == "ended":
            raise FrameError.of(codes.CHAT_ENDED)
        if frame["type"] == "message":
            await self.lines.line(vis.id, "visitor", "visitor", frame["id"], frame["text"], outbox, vis.feed)
        elif frame["type"] == "intake":
            answers = frame
            await self.live.commit(lambda tx, local: self._tx_intake(tx, local, vis.id, answers))
            if "topic" in answers:
                vis.topic = answers["topic"]
            if "topic" in answers and vis.state == "queued":
                # The topic steers routing: a chat kept for a specialist may now go, or be kept.
                self.live.queue_changed()
                self.matching.match_soon()
        elif frame["type"] == "typing":
            active = frame["active"]
            await self.live.commit(lambda tx, local: self._tx_typing(tx, local, vis.id, active))
        elif frame["type"] == "leave":
            if not await self.ending.end(vis.id, "visitor", survey=not frame.get("quick", False)):
                raise FrameError.of(codes.CHAT_ENDED)
        elif frame["type"] == "followup_choice":
            await self.choosing(vis, frame)
        else:
            assert_never(frame)         # mypy: every visitor frame type has its branch

    async def _tx_intake(self, tx: Tx, local: Local, chat_id: str, frame: IntakeFrame) -> None:
        live = self.live
        st = await live.live_chat(tx, chat_id)
        intake = live.intake(st)
        fields: dict[str, Any] = {k: v for k, v in frame.items() if k != "type"}
        if "municipality" in fields and "district" not in fields:
            fields["district"] = None   # a district belongs to its municipality
        municipality = fields.get("municipality", intake.get("municipality"))
        if fields.get("district") and not geography.valid_district(municipality, fields["district"]):
            raise FrameError.of(codes.INVALID_FIELD, "district: must be a district of your municipality")
        intake.update(fields)
        tx.hset(S.chat_key(chat_id), {"intake": live.seal(chat_id, intake, INTAKE_SEQ)})
        if "topic" in fields and st.state == "queued":
            topic = fields["topic"]
            tx.hset(S.chat_key(chat_id), {"skill": live.seal(chat_id, topic, SKILL_SEQ) if topic else ""})
        if st.state == "active":
            live.notify(tx, await live.vol_node(tx, st.vol),
                        {"k": "frame", "chat": chat_id, "to": "volunteer", "vid": st.vol}, local,
                        {"type": "intake", "chat": chat_id, "intake": intake})

    async def _tx_typing(self, tx: Tx, local: Local, chat_id: str, active: bool) -> None:
        live = self.live
        st = await live.live_chat(tx, chat_id, watch=False)
        if st.state == "active":
            live.notify(tx, await live.vol_node(tx, st.vol),
                        {"k": "frame", "chat": chat_id, "to": "volunteer", "vid": st.vol}, local,
                        {"type": "typing", "chat": chat_id, "active": active})

    async def disconnected(self, vis: Visitor, outbox: Outbox) -> None:
        live = self.live
        if live.visitors.get(vis.id) is not vis:
            live.outboxes.pop(outbox.conn, None)
            return          # an older socket of a resumed chat
        del live.visitors[vis.id]
        live.outboxes.pop(outbox.conn, None)
        if vis.state == "ended":
            return
        now = live.clock()

        async def fn(tx: Tx, local: Local) -> str | None:
            st = S.ChatState.load(vis.id, await tx.hgetall(S.chat_key(vis.id)))
            if st is None or st.vconn != outbox.conn or st.state not in ("queued", "active"):
                return None
            tx.hset(S.chat_key(vis.id), {"vnode": "", "vconn": "", "vgone": repr(now)})
            tx.srem(S.nvis_key(live.node), vis.id)
            tx.zadd(S.DUE, {f"vgone:{vis.id}": now + live.settings.visitor_grace_s})
            if st.state == "active":
                live.notify(tx, await live.vol_node(tx, st.vol),
                            {"k": "frame", "chat": vis.id, "to": "volunteer", "vid": st.vol}, local,
                            {"type": "presence", "chat": vis.id, "visitor": "away"})
            return st.state

        try:
            state = await live.commit(fn)
        except BrokerError as exc:
            log.warning("chat.detach_failed", chat=vis.id, error=str(exc))
            return
        if state == "active":
            await self.lines.system(vis.id, "visitor_away", to="volunteer")
        if state is not None:
            log.info("chat.visitor_away", chat=vis.id, state=state)

    # -- notices -----------------------------------------------------------------------
    async def _on_notice(self, n: dict[str, Any], payload: Any) -> None:
        vis = self.live.visitors.get(n["chat"])
        if vis is None:
            return
        kind = n["k"]
        if kind == "assigned":
            vis.state, vis.last_queued, vis.kept_for = "active", None, ""
            vis.outbox.send({"type": "assigned", "volunteer": n["name"]})
        elif kind == "requeued":
            vis.state, vis.last_queued = "queued", None
            self.live.queue_changed()
        elif kind == "ended":
            vis.state = "ended"
            ended: dict[str, Any] = {"type": "ended", "by": n["by"]}
            if isinstance(payload, dict) and payload.get("survey"):
                ended["survey"] = payload["survey"]     # the one-time token (referral.survey)
            vis.outbox.send(ended)
            vis.outbox.close(1000)
        elif kind == "frame":
            if isinstance(payload, dict) and payload.get("type") == "followup_kept" and not payload.get("kept"):
                vis.kept_for = ""       # released (its time was up, its volunteer left, a supervisor)
                self.live.queue_changed()
            vis.outbox.send(payload)
