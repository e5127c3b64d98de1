"""Follow-up codes in the live chat: a volunteer gives one, a new chat comes back with one.

The codes themselves (issued, hashed, resolved, expired) are ``chat.followup``'s.
``followup {chat}`` from the volunteer shows the visitor a code once; a hello with
``followup: CODE`` is routed straight to the volunteer who gave it when they are on
shift with a free slot, and joins the ordinary queue otherwise.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from volunteer import shifts

from . import followup, texts
from . import state as S
from .frame_types import Followup
from .kernel.broker import Tx
from .kernel import error_codes as codes
from .kernel.exceptions import FrameError
from .live.context import NODE_TIMEOUT_S, Live, Local, vol_chats, wrapup_chats
from .live.sessions import Console, Visitor
from .kernel.logs import get_logger

log = get_logger(__name__)


class FollowUps:
    def __init__(self, live: Live) -> None:
        self.live = live

    async def on_followup(self, con: Console, frame: Followup) -> None:
        """``followup {chat}``: a fresh code for the visitor of the volunteer's active chat."""
        live = self.live
        chat, vid = frame["chat"], con.profile.id
        st = await live.read_chat(chat)
        if st is None or st.vol != vid:
            raise FrameError.of(codes.UNKNOWN_CHAT)
        if st.state != "active":
            raise FrameError.of(codes.CHAT_ENDED)
        code = await followup.issue(live.sessions, live.settings.secret, vid)
        payload = {"type": "followup", "code": code, "valid_days": followup.VALID_DAYS}

        async def fn(tx: Tx, local: Local) -> None:
            now_st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat), watch=False))
            if now_st is None or now_st.state != "active":
                raise FrameError.of(codes.CHAT_ENDED)
            live.notify(tx, now_st.vnode, {"k": "frame", "chat": chat, "to": "visitor"}, local, payload)

        await live.commit(fn)
        con.outbox.send({"type": "followup_given", "chat": chat, "valid_days": followup.VALID_DAYS})
        log.info("chat.followup_given", chat=chat, volunteer=vid[:8])

    async def owner(self, code: str) -> str:
        """The account that gave a valid follow-up code, or "" (looked up before the chat opens)."""
        return await followup.resolve(self.live.sessions, self.live.settings.secret, code) or ""

    async def returns(self, vis: Visitor, vid: str) -> None:
        """A new chat came with a follow-up code: straight to its volunteer if they are free.

        Runs right after the chat was queued. On a shared broker another node's
        matching may take the chat in the moment between; it is then an ordinary chat.
        """
        if not vid:
            vis.outbox.send(codes.FOLLOWUP_UNKNOWN.frame())
            return
        live, chat = self.live, vis.id
        now = live.clock()

        async def fn(tx: Tx, local: Local) -> bool:
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            raw = await tx.hgetall(S.vol_key(vid))
            vol = S.VolState.load(vid, raw)
            if st is None or st.state != "queued" or vol is None or not vol.available:
                return False
            beat = await tx.zscore(S.NODES, vol.node, watch=False)
            held = vol_chats(raw)
            if beat is None or beat < now - NODE_TIMEOUT_S or len(held) + len(wrapup_chats(raw)) >= vol.capacity:
                return False
            fields = {"state": "active", "vol": vid, "last_vol": vid, "last_act": repr(now), "warned": "0"}
            if st.waited is None:
                fields["waited"] = repr(max(0.0, now - st.started))
            tx.hset(S.chat_key(chat), fields)
            S.left_queue(tx, st)
            tx.hset(S.vol_key(vid), {"idle_since": repr(now), "chats": ",".join(sorted(held | {chat}))})
            tx.zadd(S.DUE, {f"idle:{chat}": now + live.settings.idle_warn_s})
            live.notify(tx, st.vnode, {"k": "assigned", "chat": chat, "to": "visitor", "name": vol.name}, local)
            live.notify(tx, vol.node, {"k": "assigned", "chat": chat, "to": "volunteer", "vid": vid}, local)
            live.notify(tx, vol.node, {"k": "frame", "chat": chat, "to": "volunteer", "vid": vid}, local,
                        {"type": "followup_returned", "chat": chat})
            return True

        routed = await live.commit(fn)
        log.info("chat.followup_returned", chat=chat, routed=routed)
        if not routed:
            await self.away(vis, vid)

    async def away(self, vis: Visitor, vid: str) -> None:
        """The code's volunteer is not free: tell the young person when they are next booked
        (``followup_away``); the chat stays in the queue, so they may talk with someone else now."""
        live = self.live
        now = live.clock()
        try:
            raw = await live.broker.read(lambda tx: tx.hgetall(S.vol_key(vid), watch=False))
            vol = S.VolState.load(vid, raw)
            at = datetime.fromtimestamp(now, timezone.utc)
            nxt = await shifts.next_starting(live.sessions, vid, at)
            name = nxt.volunteer if nxt is not None else await shifts.display_name(live.sessions, vid)
        except Exception as exc:        # the chat is queued all the same; the message is a courtesy
            log.warning("chat.followup_away_failed", error=type(exc).__name__)
            return
        if name is None or vis.state != "queued":
            return
        busy = vol is not None and bool(vol.node) and bool(vol_chats(raw) or wrapup_chats(raw))
        tz = ZoneInfo(live.settings.timezone)
        when = None
        if nxt is not None:
            when = texts.shift_when(vis.lang, nxt.start.astimezone(tz), nxt.end.astimezone(tz), at.astimezone(tz).date())
        vis.outbox.send({"type": "followup_away", "volunteer": name, "busy": busy,
                         "next": {"start": nxt.start.astimezone(tz).isoformat(), "end": nxt.end.astimezone(tz).isoformat()}
                         if nxt is not None else None,
                         "key": "followup_busy" if busy else "followup_away" if nxt else "followup_away_unbooked",
                         "text": texts.followup_away(vis.lang, name, when, busy=busy)})
        log.info("chat.followup_away", chat=vis.id, busy=busy, booked=nxt is not None)
