"""Handing a chat over: a supervisor takes it over, a volunteer (or supervisor) transfers it.

    takeover {chat}             the chat becomes the supervisor's (and its wrap-up)
    transfer {chat, to}         a transfer pushed at once to another volunteer or to a language
                                queue (kept for older consoles; the console offers: chat.offers)

The holder that lets go is told ``released``; the new holder gets ``assigned`` with
the chat's lines so far; the visitor is told who answers now. Every takeover and
transfer is written to the audit log (who, what, when, which chat; never text).
"""

from __future__ import annotations

from typing import Any

from volunteer.audit import audit

from . import state as S
from .frame_types import Takeover, Transfer
from .kernel.broker import Tx
from .kernel import error_codes as codes
from .kernel.exceptions import FrameError
from .live.context import Live, Local, joined_by, vol_chats, wrapup_chats
from .live.lines import Lines
from .live.matching import Matching
from .live.sessions import Console
from .kernel.logs import get_logger
from .overview import Overview
from .supervision import Supervision

log = get_logger(__name__)



class Handover:
    def __init__(self, live: Live, *, lines: Lines, matching: Matching, overview: Overview,
                 supervision: Supervision) -> None:
        self.live = live
        self.lines = lines
        self.matching = matching
        self.overview = overview
        self.supervision = supervision
        live.notices.register("sup", ("released",), self._released)

    async def _released(self, n: dict[str, Any], payload: Any) -> None:
        con = self.live.consoles.get(n.get("vid", ""))
        if con is not None and con.feeds.pop(n["chat"], None) is not None:
            con.outbox.send({"type": "released", "chat": n["chat"], "reason": n["reason"]})

    async def on_takeover(self, con: Console, frame: Takeover) -> None:
        chat = frame["chat"]
        await self._move(chat, con.profile.id, reason="takeover")
        self.supervision.forget(con.profile.id, chat)
        await audit(self.live.sessions, actor=con.profile.id, action="chat.takeover", subject=chat)
        await self.lines.system(chat, "supervisor_took_over", to="visitor")
        log.info("chat.taken_over", chat=chat, supervisor=con.profile.id[:8])
        self.overview.changed()

    async def on_transfer(self, con: Console, frame: Transfer) -> None:
        chat, vid, target = frame["chat"], con.profile.id, frame["to"]
        holder = None if con.profile.role == "supervisor" else vid
        if "volunteer" in target:
            await self._move(chat, target["volunteer"], reason="transfer", holder=holder)
        else:
            await self._requeue(chat, target["queue"], holder=holder)
        await audit(self.live.sessions, actor=vid, action="chat.transfer", subject=chat)
        await self.lines.system(chat, "transferred", to="visitor")
        con.outbox.send({"type": "transferred", "chat": chat})
        log.info("chat.transferred", chat=chat, to="volunteer" if "volunteer" in target else "queue")
        if "queue" in target:
            self.live.queue_changed()
            await self.matching.match()
        self.overview.changed()

    async def _move(self, chat: str, to: str, *, reason: str, holder: str | None = None) -> None:
        """Give an active chat to account ``to`` (present on some node); its holder lets go."""
        async def fn(tx: Tx, local: Local) -> None:
            await self.tx_move(tx, local, chat, to, reason=reason, holder=holder,
                               need_available=reason == "transfer")

        await self.live.commit(fn)

    async def tx_move(self, tx: Tx, local: Local, chat: str, to: str, *, reason: str, holder: str | None,
                      need_available: bool) -> None:
        """Inside ``tx``: give active chat ``chat`` to account ``to``; its holder lets go.

        ``need_available``: ``to`` must be available with a free slot (a pushed transfer);
        otherwise only a free slot (an offer ``to`` accepted: paused is its own choice).
        """
        raw = await tx.hgetall(S.chat_key(chat))
        st = S.ChatState.load(chat, raw)
        if st is None or st.state != "active" or (holder is not None and st.vol != holder):
            raise FrameError.of(codes.UNKNOWN_CHAT)
        if st.vol == to:
            raise FrameError.of(codes.OUT_OF_ORDER, "the chat is already theirs")
        old_raw = await tx.hgetall(S.vol_key(st.vol))
        new_raw = await tx.hgetall(S.vol_key(to))
        new = S.VolState.load(to, new_raw)
        if new is None or not new.node:
            raise FrameError.of(codes.TRANSFER_REFUSED, "that volunteer is not connected")
        full = len(vol_chats(new_raw)) + len(wrapup_chats(new_raw)) >= new.capacity
        if reason == "transfer" and ((need_available and not new.wants) or full):
            raise FrameError.of(codes.TRANSFER_REFUSED, "that volunteer is paused or has no free slot")
        if old_raw:
            tx.hset(S.vol_key(st.vol), {"chats": ",".join(sorted(vol_chats(old_raw) - {chat}))})
        tx.hset(S.vol_key(to), {"chats": ",".join(sorted(vol_chats(new_raw) | {chat}))})
        S.withdraw_offer(tx, st, self.live.clock())
        observers = ",".join(f"{v}@{n}" for v, n in st.observers() if v != to)
        tx.hset(S.chat_key(chat), {"vol": to, "last_vol": to, "obs": observers,
                                   "joined": ",".join(sorted(joined_by(raw) - {to})), "offer": ""})
        self.live.notify(tx, old_raw.get("node", ""), {"k": "released", "chat": chat, "to": "sup",
                                                       "vid": st.vol, "reason": reason}, local)
        self.live.notify(tx, new.node, {"k": "assigned", "chat": chat, "to": "volunteer", "vid": to}, local)
        self.live.notify(tx, st.vnode, {"k": "assigned", "chat": chat, "to": "visitor", "name": new.name},
                         local)

    async def _requeue(self, chat: str, lang: str, *, holder: str | None) -> None:
        now = self.live.clock()

        async def fn(tx: Tx, local: Local) -> None:
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            if st is None or st.state != "active" or (holder is not None and st.vol != holder):
                raise FrameError.of(codes.UNKNOWN_CHAT)
            old_raw = await tx.hgetall(S.vol_key(st.vol))
            queue = await tx.zrange(S.QUEUE)
            front = min([score for _, score in queue] + [now]) - 1
            if old_raw:
                tx.hset(S.vol_key(st.vol), {"chats": ",".join(sorted(vol_chats(old_raw) - {chat}))})
            tx.hset(S.chat_key(chat), {"state": "queued", "vol": "", "lang": lang, "joined": ""})
            S.withdraw_offer(tx, st, now)
            tx.zadd(S.QUEUE, {chat: front})
            tx.zrem(S.DUE, f"idle:{chat}")
            self.live.notify(tx, old_raw.get("node", ""), {"k": "released", "chat": chat, "to": "sup",
                                                           "vid": st.vol, "reason": "transfer"}, local)
            self.live.notify(tx, st.vnode, {"k": "requeued", "chat": chat, "to": "visitor"}, local)

        await self.live.commit(fn)
