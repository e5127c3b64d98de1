"""Follow-up codes in the live chat: a volunteer gives one, a new chat comes back with one.

The codes themselves (issued, hashed, resolved, expired) are ``chat.followup``'s.
``followup {chat}`` from the volunteer shows the visitor a code once; a hello with
``followup: CODE`` is routed straight to the volunteer who gave it when they are on
shift with a free slot. When they are on duty (available) but busy, the chat is kept
for them (``fkeep`` in the chat's hash: matching gives it to nobody else) for at most
``JOURCHATT_FOLLOWUP_WAIT_S``; the young person may choose someone else now
(``followup_choice {wait: false}``) or to wait again (``wait: true``), and a timer
(``fkeep:<chat>``, any node's) releases it when the time is up or the volunteer is no
longer on duty, telling the young person (``followup_kept {kept: false}``). A released
chat keeps its place in the queue. When the volunteer is off, the chat is an ordinary
one from the start and the young person is told when the volunteer is next booked.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from volunteer import shifts

from . import followup, texts
from . import state as S
from .frame_types import Followup, FollowupChoice
from .kernel.broker import Tx
from .kernel import error_codes as codes
from .kernel.exceptions import FrameError
from .live.context import NODE_TIMEOUT_S, Live, Local, vol_chats, wrapup_chats
from .live.matching import Matching
from .live.sessions import Console, Visitor
from .kernel.logs import get_logger

log = get_logger(__name__)

# A chat kept for its volunteer is checked this often (are they still on duty?) until its time is up.
KEEP_CHECK_S = 5.0


async def on_duty(tx: Tx, vid: str, now: float) -> tuple[S.VolState, dict[str, str]] | None:
    """Inside ``tx``: volunteer ``vid`` taking chats (available, on a live node), with its raw hash."""
    raw = await tx.hgetall(S.vol_key(vid), watch=False)
    vol = S.VolState.load(vid, raw)
    beat = await tx.zscore(S.NODES, vol.node, watch=False) if vol is not None and vol.node else None
    if vol is None or not vol.available or beat is None or beat < now - NODE_TIMEOUT_S:
        return None
    return vol, raw


class FollowUps:
    def __init__(self, live: Live, *, matching: Matching) -> None:
        self.live = live
        self.matching = matching

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
        until = now + live.settings.followup_wait_s

        async def fn(tx: Tx, local: Local) -> str:
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            await tx.hgetall(S.vol_key(vid))            # watched: its load decides
            found = await on_duty(tx, vid, now)
            if st is None or st.state != "queued":
                return ""
            if found is None:
                # Off duty: nothing to wait for now; an ordinary chat, whose young person may
                # still say "someone else now" (followup_choice) and be answered.
                tx.hset(S.chat_key(chat), {"fvol": vid})
                return ""
            vol, raw = found
            held = vol_chats(raw)
            if len(held) + len(wrapup_chats(raw)) >= vol.capacity:
                if live.settings.followup_wait_s <= 0:
                    return ""
                # On duty but busy: kept for them, so that nobody else takes it meanwhile.
                tx.hset(S.chat_key(chat), {"fvol": vid, "funtil": repr(until), "fkeep": "1"})
                S.kept_index(tx, chat, True)
                tx.zadd(S.DUE, {f"fkeep:{chat}": min(until, now + KEEP_CHECK_S)})
                return "kept"
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
            return "routed"

        outcome = await live.commit(fn)
        log.info("chat.followup_returned", chat=chat, routed=outcome == "routed", kept=outcome == "kept")
        if outcome == "kept":
            vis.kept_for, vis.kept_until = vid, until
        if outcome != "routed":
            await self.away(vis, vid, kept_until=until if outcome == "kept" else None)

    async def away(self, vis: Visitor, vid: str, *, kept_until: float | None = None) -> None:
        """The code's volunteer is not free: tell the young person (``followup_away``) that the
        chat is kept for them while they are busy (``kept_until``), or, when they are off, when
        they are next booked; an unkept chat is an ordinary one in the queue."""
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
        kept = kept_until is not None
        busy = kept or (vol is not None and bool(vol.node) and bool(vol_chats(raw) or wrapup_chats(raw)))
        tz = ZoneInfo(live.settings.timezone)
        when = None
        if nxt is not None:
            when = texts.shift_when(vis.lang, nxt.start.astimezone(tz), nxt.end.astimezone(tz), at.astimezone(tz).date())
        wait_s = int(max(0.0, (kept_until or now) - now)) if kept else None
        if kept:
            key, text = "followup_kept", texts.followup_kept(vis.lang, name, wait_s or 0)
        else:
            key = "followup_busy" if busy else "followup_away" if nxt else "followup_away_unbooked"
            text = texts.followup_away(vis.lang, name, when, busy=busy)
        vis.outbox.send({"type": "followup_away", "volunteer": name, "busy": busy,
                         "next": {"start": nxt.start.astimezone(tz).isoformat(), "end": nxt.end.astimezone(tz).isoformat()}
                         if nxt is not None else None,
                         "kept": kept, "wait_s": wait_s, "key": key, "text": text})
        log.info("chat.followup_away", chat=vis.id, busy=busy, kept=kept, booked=nxt is not None)

    # -- waiting for the volunteer, or not -------------------------------------------------
    async def on_choice(self, vis: Visitor, frame: FollowupChoice) -> None:
        """``followup_choice {wait}``: keep the chat for the code's volunteer (while they are on
        duty, until its time is up), or let anyone free take it now; it keeps its place either way."""
        live, chat, wait = self.live, vis.id, frame["wait"]
        now = live.clock()

        async def fn(tx: Tx, local: Local) -> tuple[str, float]:
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            # Once answered, back in the queue (handed back, transferred) it is an ordinary chat.
            if st is None or st.state != "queued" or not st.fvol or st.waited is not None:
                raise FrameError.of(codes.FOLLOWUP_NOT_WAITING)
            until = st.funtil or 0.0
            raw = await tx.hgetall(S.vol_key(st.fvol), watch=False)
            if not wait:
                if st.fkeep:
                    tx.hset(S.chat_key(chat), {"fkeep": ""})
                    S.kept_index(tx, chat, False)
                return raw.get("name", ""), until
            found = await on_duty(tx, st.fvol, now)
            # A supervisor handed it to anyone (route_any): that stands; the young person cannot undo it.
            if found is None or now >= until or st.anyone:
                raise FrameError.of(codes.FOLLOWUP_NOT_WAITING)
            vol = found[0]
            if not st.fkeep:
                tx.hset(S.chat_key(chat), {"fkeep": "1"})
                S.kept_index(tx, chat, True)
                tx.zadd(S.DUE, {f"fkeep:{chat}": min(until, now + KEEP_CHECK_S)})
            return vol.name, until

        name, until = await live.commit(fn)
        if not name:                    # off duty: no presence hash, the account's own name then
            chosen = await live.read_chat(chat)
            name = (await shifts.display_name(live.sessions, chosen.fvol) if chosen is not None else None) or ""
        if wait:
            vis.kept_for = (await live.read_chat(chat) or S.ChatState(id=chat)).fvol
            vis.kept_until = until
            wait_s = int(max(0.0, until - now))
            vis.outbox.send({"type": "followup_kept", "kept": True, "volunteer": name, "wait_s": wait_s,
                             "text": texts.followup_kept(vis.lang, name, wait_s)})
        else:
            vis.kept_for, vis.kept_until = "", 0.0
            vis.outbox.send({"type": "followup_kept", "kept": False, "volunteer": name, "reason": "choice",
                             "text": texts.text("followup_someone_else", vis.lang)})
        log.info("chat.followup_choice", chat=chat, wait=wait)
        live.queue_changed()
        self.matching.match_soon()

    async def release(self, chat: str, reason: str, *, tx: Tx, local: Local, st: S.ChatState) -> None:
        """Inside ``tx``: the chat is no longer kept for its volunteer; the young person is told."""
        name = (await tx.hgetall(S.vol_key(st.fvol), watch=False)).get("name", "") if st.fvol else ""
        tx.hset(S.chat_key(chat), {"fkeep": ""})
        S.kept_index(tx, chat, False)
        self.live.notify(tx, st.vnode, {"k": "frame", "chat": chat, "to": "visitor"}, local,
                         {"type": "followup_kept", "kept": False, "volunteer": name, "reason": reason,
                          "text": texts.followup_released(st.lang, name)})

    async def check_kept(self, chat: str, now: float) -> None:
        """The ``fkeep:<chat>`` timer: release a kept chat whose time is up or whose volunteer is
        no longer on duty; otherwise look again in ``KEEP_CHECK_S`` (or when its time is up)."""
        live = self.live

        async def fn(tx: Tx, local: Local) -> str:
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            if st is None or st.state != "queued" or not st.fkeep:
                tx.zrem(S.DUE, f"fkeep:{chat}")
                return ""
            until = st.funtil or 0.0
            reason = ""
            if now >= until:
                reason = "timeout"
            elif await on_duty(tx, st.fvol, now) is None:
                reason = "away"
            if not reason:
                tx.zadd(S.DUE, {f"fkeep:{chat}": min(until, now + KEEP_CHECK_S)})
                return ""
            tx.zrem(S.DUE, f"fkeep:{chat}")
            await self.release(chat, reason, tx=tx, local=local, st=st)
            return reason

        reason = await live.commit(fn)
        if reason:
            log.info("chat.followup_released", chat=chat, reason=reason)
            live.queue_changed()
            self.matching.match_soon()
