"""Consoles: a volunteer's console connects, takes chats, writes in them, and goes away.

The console's frames for its own chats are handled here; other frames (the
supervisors' tools, a call for help, a follow-up code) go to the handlers that
``chat.supervision`` and its neighbours give in ``SupervisionFrames``, one typed
field per frame type: the hub fills it, and mypy checks each handler takes its frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol, assert_never

from volunteer.accounts import Profile

from .. import state as S
from ..kernel.broker import BrokerError, Tx
from ..kernel import error_codes as codes
from ..kernel.error_codes import Code
from ..kernel.exceptions import FrameError
from ..frame_types import (Block, ChatFrame, Colleagues, Debrief, Dismiss, Escalate, Followup, Join, Observe,
                           Offer, OfferCancel, OfferReply, PracticeOpen, PracticePartners, PracticeResume,
                           PracticeVisitor, RouteAny, Shadow, ShadowAnswer, Shadowable, Supervise, Takeover, SupervisionFrame,
                           TrainingFrame, Transfer, VolunteerFrame, Whisper)
from ..frames import NOT_IN_PRACTICE, SUPERVISOR_TYPES, TRAINEE_ONLY_TYPES, TRAINEE_TYPES
from ..kernel.logs import get_logger
from ..outbox import Outbox
from .context import Live, Local, parse_wraps, vol_chats
from .delivery import Delivery
from .ending import Ending
from .lines import Lines
from .matching import Matching
from .referring import Referring
from .sessions import Console, Feed

log = get_logger(__name__)

# What a console that connects is given besides its chats (``Offers.tx_pending``: the warm-transfer
# offers still open for it), read inside the transaction that registers it: (tx, account, now) -> frames.
Pending = Callable[[Tx, str, float], Awaitable[list[dict[str, Any]]]]



@dataclass(frozen=True, slots=True)
class SupervisionFrames:
    """Who takes the console frames of ``chat.frames.SUPERVISION_TYPES``: one handler per
    type, each ``handler(console, frame)`` typed with its own frame."""

    escalate: Callable[[Console, Escalate], Awaitable[None]]
    transfer: Callable[[Console, Transfer], Awaitable[None]]
    followup: Callable[[Console, Followup], Awaitable[None]]
    supervise: Callable[[Console, Supervise], Awaitable[None]]
    observe: Callable[[Console, Observe], Awaitable[None]]
    whisper: Callable[[Console, Whisper], Awaitable[None]]
    join: Callable[[Console, Join], Awaitable[None]]
    takeover: Callable[[Console, Takeover], Awaitable[None]]
    dismiss: Callable[[Console, Dismiss], Awaitable[None]]
    block: Callable[[Console, Block], Awaitable[None]]
    offer: Callable[[Console, Offer], Awaitable[None]]
    offer_reply: Callable[[Console, OfferReply], Awaitable[None]]
    offer_cancel: Callable[[Console, OfferCancel], Awaitable[None]]
    colleagues: Callable[[Console, Colleagues], Awaitable[None]]
    debrief: Callable[[Console, Debrief], Awaitable[None]]
    route_any: Callable[[Console, RouteAny], Awaitable[None]]

    async def handle(self, con: Console, frame: SupervisionFrame) -> None:
        """Hand ``frame`` to its handler."""
        if frame["type"] == "escalate":
            await self.escalate(con, frame)
        elif frame["type"] == "transfer":
            await self.transfer(con, frame)
        elif frame["type"] == "followup":
            await self.followup(con, frame)
        elif frame["type"] == "supervise":
            await self.supervise(con, frame)
        elif frame["type"] == "observe":
            await self.observe(con, frame)
        elif frame["type"] == "whisper":
            await self.whisper(con, frame)
        elif frame["type"] == "join":
            await self.join(con, frame)
        elif frame["type"] == "takeover":
            await self.takeover(con, frame)
        elif frame["type"] == "dismiss":
            await self.dismiss(con, frame)
        elif frame["type"] == "block":
            await self.block(con, frame)
        elif frame["type"] == "offer":
            await self.offer(con, frame)
        elif frame["type"] == "offer_reply":
            await self.offer_reply(con, frame)
        elif frame["type"] == "offer_cancel":
            await self.offer_cancel(con, frame)
        elif frame["type"] == "colleagues":
            await self.colleagues(con, frame)
        elif frame["type"] == "debrief":
            await self.debrief(con, frame)
        elif frame["type"] == "route_any":
            await self.route_any(con, frame)
        else:
            assert_never(frame)         # mypy: every supervision frame type has its field


@dataclass(frozen=True, slots=True)
class TrainingFrames:
    """Who takes the console frames of ``chat.frames.TRAINING_TYPES`` (``chat.shadowing``,
    ``chat.practice``): one handler per type, as ``SupervisionFrames``."""

    shadowable: Callable[[Console, Shadowable], Awaitable[None]]
    shadow: Callable[[Console, Shadow], Awaitable[None]]
    shadow_answer: Callable[[Console, ShadowAnswer], Awaitable[None]]
    practice_partners: Callable[[Console, PracticePartners], Awaitable[None]]
    practice_open: Callable[[Console, PracticeOpen], Awaitable[None]]
    practice_visitor: Callable[[Console, PracticeVisitor], Awaitable[None]]
    practice_resume: Callable[[Console, PracticeResume], Awaitable[None]]

    async def handle(self, con: Console, frame: TrainingFrame) -> None:
        if frame["type"] == "shadowable":
            await self.shadowable(con, frame)
        elif frame["type"] == "shadow":
            await self.shadow(con, frame)
        elif frame["type"] == "shadow_answer":
            await self.shadow_answer(con, frame)
        elif frame["type"] == "practice_partners":
            await self.practice_partners(con, frame)
        elif frame["type"] == "practice_open":
            await self.practice_open(con, frame)
        elif frame["type"] == "practice_visitor":
            await self.practice_visitor(con, frame)
        elif frame["type"] == "practice_resume":
            await self.practice_resume(con, frame)
        else:
            assert_never(frame)


class Overseer(Protocol):
    """What consoles ask of supervision (``chat.supervision.Supervision``)."""

    async def assigned(self, con: Console, st: S.ChatState) -> None:
        """A console got a chat: tell it who observes."""

    async def joined_frame(self, con: Console, frame: ChatFrame) -> bool:
        """A chat frame for a chat the console does not hold: handled if it joined it."""


class Consoles:
    def __init__(self, live: Live, *, lines: Lines, delivery: Delivery, matching: Matching,
                 ending: Ending, referring: Referring, overseer: Overseer, frames: SupervisionFrames,
                 training: TrainingFrames, pending: Pending | None = None) -> None:
        self.live = live
        self.pending = pending
        self.lines = lines
        self.delivery = delivery
        self.matching = matching
        self.ending = ending
        self.referring = referring
        self.overseer = overseer
        self.frames = frames
        self.training = training
        live.notices.register("volunteer", ("assigned", "ended", "frame"), self._on_notice)

    # -- connecting --------------------------------------------------------------------
    async def connected(self, profile: Profile, outbox: Outbox) -> Console:
        live = self.live
        now = live.clock()
        vid = profile.id

        async def fn(tx: Tx, local: Local) -> tuple[dict[str, str], tuple[str, str], list[dict[str, Any]]]:
            raw = await tx.hgetall(S.vol_key(vid))
            pending = await self.pending(tx, vid, now) if self.pending is not None else []
            vol = S.VolState.load(vid, raw) or S.VolState(id=vid, idle_since=now)
            old = (vol.node, vol.conn)
            vol.node, vol.conn, vol.gone = live.node, outbox.conn, None
            vol.capacity, vol.langs, vol.name = max(1, profile.capacity), profile.languages, profile.display_name
            vol.skills = profile.skills
            tx.hset(S.vol_key(vid), {**vol.dump(), "role": profile.role})
            tx.expire(S.vol_key(vid), live.log_ttl)
            tx.sadd(S.VOLS, vid)
            tx.sadd(S.nvol_key(live.node), vid)
            tx.zrem(S.DUE, f"vol:{vid}")
            if old[0] and old[0] != live.node:
                tx.srem(S.nvol_key(old[0]), vid)
                if old[1]:
                    tx.publish(old[0], json.dumps({"k": "close", "conn": old[1], "code": 4409}))
            return raw, old, pending

        key = "c:" + vid
        held = live.notices.hold(key)
        try:
            raw, old, pending = await live.commit(fn)
            previous = live.consoles.get(vid)
            if previous is not None and previous.outbox is not outbox:
                previous.outbox.close(4409)
            con = live.consoles[vid] = Console(profile=profile, outbox=outbox)
            live.outboxes[outbox.conn] = outbox
            wants = raw.get("wants") == "1"
            outbox.send({"type": "welcome", "display_name": profile.display_name,
                         "state": "available" if wants else "paused", "capacity": profile.capacity})
            for chat_id in sorted(vol_chats(raw)):
                await self.assigned(con, chat_id, resumed=True)
            for chat_id in sorted(parse_wraps(raw.get("wraps", ""))):
                st = await live.read_chat(chat_id)
                con.wrapups.add(chat_id)
                outbox.send({"type": "ended", "chat": chat_id, "by": (st.ended_by if st else "") or None,
                             "wrapup_due": True})
            for frame in pending:       # after its chats: an offer_sent names one of them
                outbox.send(frame)
        finally:
            live.notices.unhold(key, held)
        for notice in held:
            await live.notices.dispatch(notice)
        log.info("volunteer.connected", volunteer=vid[:8], active=len(con.feeds))
        await self.matching.match()
        return con

    async def assigned(self, con: Console, chat_id: str, *, resumed: bool) -> None:
        """Give the console chat ``chat_id`` (new, resumed or handed over), with its lines so far."""
        st = await self.live.read_chat(chat_id)
        if st is None or st.state != "active" or st.vol != con.profile.id:
            return
        feed = con.feeds.get(chat_id)
        if feed is not None and not resumed:
            return                  # already told (a local and a resync notice)
        feed = con.feeds[chat_id] = Feed(0)
        async with feed.lock:
            assigned: dict[str, Any] = {"type": "assigned", "chat": chat_id, "intake": self.live.intake(st),
                                        "lang": st.lang, "channel": st.channel, "resumed": resumed,
                                        "visitor": "here" if st.vnode else "away", **self.live.timers(st)}
            if st.practice:     # chat.practice: answered as a real chat, counted nowhere
                assigned["practice"] = True
                assigned["host"] = await self.live.vol_name(st.host)
            con.outbox.send(assigned)
            await self.delivery.replay(chat_id, feed, con.outbox, "volunteer", con.lang)
        await self.overseer.assigned(con, st)

    # -- frames ------------------------------------------------------------------------
    async def frame(self, con: Console, outbox: Outbox, frame: VolunteerFrame) -> None:
        vid = con.profile.id
        if self.live.consoles.get(vid) is not con:
            raise FrameError.of(codes.REPLACED, "Konsolen fortsätter i en nyare anslutning. / "
                                "This console continues on a newer connection.")
        role = con.profile.role
        if role == "trainee" and frame["type"] not in TRAINEE_TYPES:
            raise FrameError.of(codes.NOT_FOR_TRAINEES)
        if role != "trainee" and frame["type"] in TRAINEE_ONLY_TYPES:
            raise FrameError.of(codes.TRAINEES_ONLY)
        if frame["type"] in NOT_IN_PRACTICE and S.is_practice(str(frame.get("chat", ""))):
            raise FrameError.of(codes.OUT_OF_ORDER, "chat: not in a practice chat")
        if frame["type"] == "status":
            await self._status(con, outbox, frame["state"])
        elif frame["type"] == "wrapup":
            await self.ending.wrapup(con, frame["chat"], frame["report"])
        elif (frame["type"] == "message" or frame["type"] == "typing" or frame["type"] == "end"
              or frame["type"] == "refer"):
            await self._chat_frame(con, outbox, frame)
        elif (frame["type"] == "shadowable" or frame["type"] == "shadow" or frame["type"] == "shadow_answer"
              or frame["type"] == "practice_partners" or frame["type"] == "practice_open"
              or frame["type"] == "practice_visitor" or frame["type"] == "practice_resume"):
            await self.training.handle(con, frame)
        else:                           # the rest are supervision's (mypy checks they are)
            # A trainee's whisper: only to the volunteer of a chat it follows (chat.shadowing).
            if (frame["type"] in SUPERVISOR_TYPES and role != "supervisor"
                    and not (role == "trainee" and frame["type"] == "whisper")):
                raise FrameError.of(codes.SUPERVISOR_ONLY)
            await self.frames.handle(con, frame)

    async def _chat_frame(self, con: Console, outbox: Outbox, frame: ChatFrame) -> None:
        """A frame about one chat: the console's own, or one its supervisor joined."""
        vid, chat_id = con.profile.id, frame["chat"]
        if chat_id in con.wrapups:
            raise FrameError.of(codes.CHAT_ENDED)
        feed = con.feeds.get(chat_id)
        if feed is None:
            if await self.overseer.joined_frame(con, frame):
                return
            raise FrameError.of(codes.UNKNOWN_CHAT)
        if frame["type"] == "message":
            await self.lines.line(chat_id, "volunteer", vid, frame["id"], frame["text"], outbox, feed)
        elif frame["type"] == "typing":
            active = frame["active"]
            await self.live.commit(lambda tx, local: self._tx_typing(tx, local, chat_id, vid, active))
        elif frame["type"] == "end":
            if not await self.ending.end(chat_id, "volunteer", vid=vid):
                raise FrameError.of(codes.UNKNOWN_CHAT)
        else:
            await self.referring.refer(con, chat_id, frame["services"], outbox, feed, frame.get("facts") or {})

    async def _status(self, con: Console, outbox: Outbox, state: str) -> None:
        vid = con.profile.id
        available = state == "available"
        now = self.live.clock()

        async def fn(tx: Tx) -> None:
            vol = S.VolState.load(vid, await tx.hgetall(S.vol_key(vid)))
            if vol is None:
                raise FrameError.of(codes.REPLACED, "Konsolen är inte längre ansluten. / "
                                    "This console is no longer connected.")
            fields = {"wants": "1" if available else "0"}
            if not available:
                fields["heavy_run"] = "0"       # a pause: the count of heavy chats in a row starts again
            if available and not vol.wants:
                fields["idle_since"] = repr(now)
            tx.hset(S.vol_key(vid), fields)

        await self.live.broker.transact(fn)
        outbox.send({"type": "status", "state": state})
        log.info("volunteer.status", volunteer=vid[:8], state=state)
        self.live.queue_changed()
        await self.matching.match()

    async def _tx_typing(self, tx: Tx, local: Local, chat_id: str, vid: str, active: bool) -> None:
        st = await self.live.own_chat(tx, chat_id, vid, watch=False)
        self.live.notify(tx, st.vnode, {"k": "frame", "chat": chat_id, "to": "visitor"}, local,
                         {"type": "typing", "active": active})

    # -- going away ----------------------------------------------------------------------
    async def disconnected(self, con: Console, outbox: Outbox) -> None:
        live = self.live
        vid = con.profile.id
        live.outboxes.pop(outbox.conn, None)
        if live.consoles.get(vid) is not con:
            return
        del live.consoles[vid]
        now = live.clock()

        async def fn(tx: Tx) -> bool:
            vol = S.VolState.load(vid, await tx.hgetall(S.vol_key(vid)))
            if vol is None or vol.conn != outbox.conn:
                return False
            tx.hset(S.vol_key(vid), {"node": "", "conn": "", "gone": repr(now)})
            tx.srem(S.nvol_key(live.node), vid)
            tx.zadd(S.DUE, {f"vol:{vid}": now + live.settings.volunteer_grace_s})
            return True

        try:
            if await live.broker.transact(fn):
                log.info("volunteer.away", volunteer=vid[:8], active=len(con.feeds))
        except BrokerError as exc:
            log.warning("volunteer.detach_failed", volunteer=vid[:8], error=str(exc))
        live.queue_changed()

    def signed_out(self, account_id: str, code: Code = codes.SIGNED_OUT) -> None:
        """The account signed out, or an admin disabled, reset or changed its role
        (``codes.ROLE_CHANGED``): its console socket closes with the code's close code
        (its chats get the grace period)."""
        con = self.live.consoles.get(account_id)
        if con is not None:
            con.outbox.send(code.frame())
            con.outbox.close(code.close or 4401)

    # -- notices -----------------------------------------------------------------------
    async def _on_notice(self, n: dict[str, Any], payload: Any) -> None:
        con = self.live.consoles.get(n.get("vid", ""))
        if con is None:
            return
        kind, chat_id = n["k"], n["chat"]
        if kind == "assigned":
            await self.assigned(con, chat_id, resumed=False)
        elif kind == "ended":
            con.feeds.pop(chat_id, None)
            con.wrapups.add(chat_id)
            con.outbox.send({"type": "ended", "chat": chat_id, "by": n["by"], "wrapup_due": True})
        elif kind == "frame" and chat_id in con.feeds:
            con.outbox.send(payload)
