"""Practice chats: a supervisor (or a trained volunteer) plays the young person from the
console, and a trainee or volunteer answers it in their own console as a real chat.

Frames (validated in ``chat.frames``, documented in docs/protocol.md):

    practice_partners {}                    who is connected and could answer one
    practice_open {partner, lang}           open a practice chat with that account answering
    practice_visitor {chat, frame}          the player's frame as the young person
                                            (intake, message, typing, leave)
    practice_resume {resume_token, last_seq}
                                            the player's console came back: go on playing

The player's side is a visitor of the live core (``chat.live.visitors``) whose socket is
the player's console: its frames reach the console wrapped in ``practice_frame {chat,
frame}``, exactly the frames the widget would get. The answer side is an ordinary chat
the answerer holds (``assigned`` with ``practice: true``): lines, referral suggestions,
end and wrap-up work as in a real chat, on any node, and resume like a real chat.

A practice chat never enters the real queue (it is assigned at once), and its id says
what it is (``chat.state.is_practice``), so that nothing counts it: no record is written
(``chat.live.records``), the queue's service time does not learn from it
(``chat.live.ending``), its referrals issue no code (``chat.live.referring``), and the
metrics leave it out (``chat.metrics``, ``chat.endpoints``). Its lines live, sealed, only
in the live chat's replay log, which goes when the chat ends, as every chat's does.
"""

from __future__ import annotations

import secrets
from typing import Any

from volunteer.audit import audit

from . import state as S
from .frame_types import PracticeOpen, PracticePartners, PracticeResume, PracticeVisitor
from .kernel import error_codes as codes
from .kernel.broker import Tx
from .kernel.exceptions import FrameError
from .kernel.logs import get_logger
from .live.context import NODE_TIMEOUT_S, Live, Local, parse_wraps, vol_chats, vol_fields
from .live.sessions import Console, Feed, Visitor, hash_token
from .live.visitors import Visitors
from .outbox import Outbox

log = get_logger(__name__)


class PracticeOutbox(Outbox):
    """The young person's socket of a practice chat: the player's console, each frame wrapped."""

    __slots__ = ("console", "chat")

    def __init__(self, console: Outbox, chat: str) -> None:
        super().__init__("p:" + secrets.token_hex(8))
        self.console = console
        self.chat = chat

    def send(self, frame: dict[str, Any], *, replay: bool = False) -> None:
        if self.close_code is None:
            self.console.send({"type": "practice_frame", "chat": self.chat, "frame": frame}, replay=replay)

    def close(self, code: int = 1000) -> None:
        """The practice chat's side closes; the console stays open."""
        self.close_code = code


def may_host(con: Console) -> bool:
    """Who may open a practice chat: a supervisor, or a volunteer who may take chats."""
    return con.profile.role == "supervisor" or con.profile.may_take_chats


class Practice:
    def __init__(self, live: Live, *, visitors: Visitors) -> None:
        self.live = live
        self.visitors = visitors

    def _played(self, con: Console) -> list[Visitor]:
        return [v for v in self.live.visitors.values()
                if isinstance(v.outbox, PracticeOutbox) and v.outbox.console is con.outbox]

    async def disconnected(self, con: Console) -> None:
        """The player's console closed: its practice chats' young person is away (grace period)."""
        for vis in self._played(con):
            await self.visitors.disconnected(vis, vis.outbox)

    async def on_partners(self, con: Console, _frame: PracticePartners) -> None:
        now = self.live.clock()

        async def fn(tx: Tx) -> list[dict[str, Any]]:
            vids = sorted(await tx.smembers(S.VOLS, watch=False))
            raws = await tx.hgetall_many([S.vol_key(v) for v in vids], watch=False)
            alive = {n for n, beat in await tx.zrange(S.NODES, watch=False) if beat > now - NODE_TIMEOUT_S}
            return [{"id": vid, "display_name": raw.get("name", ""), "role": raw.get("role", "volunteer")}
                    for vid, raw in zip(vids, raws)
                    if vid != con.profile.id and raw.get("node") in alive]

        people = await self.live.broker.read(fn)
        con.outbox.send({"type": "practice_partners",
                         "people": sorted(people, key=lambda p: (p["display_name"], p["id"]))})

    async def on_open(self, con: Console, frame: PracticeOpen) -> None:
        if not may_host(con):
            raise FrameError.of(codes.NOT_FOR_TRAINEES)
        live, partner = self.live, frame["partner"]
        if partner == con.profile.id:
            raise FrameError.of(codes.PRACTICE_REFUSED, "partner: someone else answers your practice chat")
        now = live.clock()
        token = secrets.token_urlsafe(32)
        chat = S.PRACTICE_PREFIX + secrets.token_urlsafe(12)
        outbox = PracticeOutbox(con.outbox, chat)
        st = S.ChatState(id=chat, state="active", lang=frame["lang"], channel="practice", started=now,
                         token=hash_token(token), vol=partner, last_vol=partner, waited=0.0, vnode=live.node,
                         vconn=outbox.conn, last_act=now, host=con.profile.id)

        async def fn(tx: Tx, local: Local) -> str:
            raw = await tx.hgetall(S.vol_key(partner))
            alive = {n for n, beat in await tx.zrange(S.NODES, watch=False) if beat > now - NODE_TIMEOUT_S}
            if not raw or raw.get("node") not in alive:
                raise FrameError.of(codes.PRACTICE_REFUSED, "partner: that person is not connected now")
            key = S.chat_key(chat)
            tx.hset(key, st.dump_new())
            tx.expire(key, live.log_ttl)
            tx.set(S.token_key(st.token), chat, ex=live.log_ttl)
            tx.sadd(S.nvis_key(live.node), chat)
            held = vol_chats(raw) | {chat}
            tx.hset(S.vol_key(partner), vol_fields(held, parse_wraps(raw.get("wraps", ""))))
            tx.zadd(S.DUE, {f"idle:{chat}": now + live.settings.idle_warn_s})
            live.notify(tx, raw.get("node", ""), {"k": "assigned", "chat": chat, "to": "volunteer",
                                                  "vid": partner}, local)
            return raw.get("name", "")

        key = "v:" + chat
        held = live.notices.hold(key)
        try:
            name = await live.commit(fn)
            vis = Visitor(id=chat, outbox=outbox, lang=st.lang, feed=Feed(0), started=now, channel=st.channel,
                          state="active", token=st.token)
            live.visitors[chat] = vis
            live.outboxes[outbox.conn] = outbox
            con.outbox.send({"type": "practice_opened", "chat": chat, "partner": partner, "name": name})
            outbox.send({"type": "welcome", "resume_token": token, "open": True})
            outbox.send({"type": "assigned", "volunteer": name})
        finally:
            live.notices.unhold(key, held)
        for notice in held:
            await live.notices.dispatch(notice)
        await audit(live.sessions, actor=con.profile.id, action="practice.open", subject=partner)
        log.info("practice.opened", chat=chat, host=con.profile.id[:8], partner=partner[:8])

    def _visitor(self, con: Console, chat: str) -> Visitor:
        vis = self.live.visitors.get(chat)
        if vis is None or not isinstance(vis.outbox, PracticeOutbox) or vis.outbox.console is not con.outbox:
            raise FrameError.of(codes.UNKNOWN_CHAT, "chat: you play no practice chat with that id here")
        return vis

    async def on_visitor(self, con: Console, frame: PracticeVisitor) -> None:
        vis = self._visitor(con, frame["chat"])
        await self.visitors.frame(vis, vis.outbox, frame["frame"])

    async def on_resume(self, con: Console, frame: PracticeResume) -> None:
        """Take up a practice chat again (after a reload, or on another node): as a widget resumes."""
        token = frame["resume_token"]
        token_hash = hash_token(token)

        async def fn(tx: Tx) -> tuple[str, str]:
            chat = await tx.get(S.token_key(token_hash), watch=False) or ""
            raw = await tx.hgetall(S.chat_key(chat), watch=False) if chat else {}
            return chat, raw.get("host", "")

        chat, host = await self.live.broker.read(fn)
        if not chat or not S.is_practice(chat) or host != con.profile.id:
            # Never a real chat, never someone else's; one that is over (while the console was
            # away) is gone too: the console closes its pane.
            raise FrameError.of(codes.UNKNOWN_CHAT, "resume_token: no practice chat of yours (it may be over)")
        outbox = PracticeOutbox(con.outbox, chat)
        await self.visitors.hello(outbox, {"type": "hello", "lang": "sv", "channel": "practice", "resume": token,
                                           "last_seq": frame["last_seq"]}, only_resume=True)
