"""Ending: a chat ends (visitor, volunteer, supervisor, timeout), its wrap-up, its record.

    queued ──match──▶ active ──end/leave/timeout──▶ ended ──wrap-up──▶ recorded

An active chat that ends waits for its volunteer's wrap-up (a timer files it empty
after ``wrapup_timeout_s``); a chat that never had a volunteer is recorded at once.

An active chat whose visitor is still connected is offered the anonymous survey
(referral.survey): its record id is drawn now, kept in the chat's state until the
record is written, and a one-time token for it goes out in the visitor's ``ended``.
Not after a quick exit (``survey=False``), and not when the database cannot keep
the token (the chat ends all the same).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any, Callable

from referral import survey as surveys

from .. import state as S
from ..frame_types import Report
from ..kernel.broker import Tx
from ..kernel import error_codes as codes
from ..kernel.exceptions import FrameError
from ..kernel.logs import get_logger
from ..routing import DEFAULT_SERVICE_TIME_S, EWMA_ALPHA
from .context import Live, Local, parse_wraps, vol_chats, vol_fields
from .matching import Matching
from .records import Records
from .sessions import Console

log = get_logger(__name__)

# Keeping a survey token may delay the end of a chat at most this long: a slow or
# absent database costs the visitor the survey, never a late "ended".
SURVEY_ISSUE_TIMEOUT_S = 2.0


def heavy(st: S.ChatState, report: Report | None) -> bool:
    """A heavy chat: an acute escalation, the topic uses_violence, or marked heavy in the wrap-up."""
    return st.esc_acute > 0 or bool(report and (report.get("topic") == "uses_violence" or report.get("heavy")))


class Ending:
    def __init__(self, live: Live, records: Records, matching: Matching) -> None:
        self.live = live
        self.records = records
        self.matching = matching
        # The volunteer's heavy chats in a row as its last wrap-up left them, by chat (read once).
        self.heavy_runs: dict[str, int] = {}
        self.survey_key = surveys.token_key(live.settings.secret)

    async def _survey(self, chat_id: str, now: float) -> tuple[str, str] | None:
        """(token, record id) kept for an active chat whose visitor is here; None otherwise."""
        live = self.live

        async def peek(tx: Tx) -> S.ChatState | None:
            return S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id), watch=False))

        st = await live.broker.read(peek)
        if st is None or st.state != "active" or not st.vnode or st.practice:
            return None             # a practice chat (chat.practice) has no record to answer for
        token, rid = surveys.new_token(), secrets.token_hex(16)
        try:
            # Kept before the visitor can see it, so an answer at once finds it on any node.
            await asyncio.wait_for(surveys.issue(live.sessions, self.survey_key, token, rid, now),
                                   SURVEY_ISSUE_TIMEOUT_S)
        except Exception:       # the database away or slow (TimeoutError): no survey this time
            log.warning("survey.not_offered", chat=chat_id)
            return None
        return token, rid

    async def end(self, chat_id: str, by: str, *, vid: str | None = None,
                  check: Callable[[S.ChatState, float], bool] | None = None, survey: bool = True) -> bool:
        """End a queued or active chat; False if it was not open (or ``check`` failed).

        ``survey``: offer the visitor the survey if the chat had a volunteer (not after a quick exit).
        """
        live = self.live
        now = live.clock()
        offer = await self._survey(chat_id, now) if survey else None
        offered = False

        async def fn(tx: Tx, local: Local) -> S.ChatState | None:
            nonlocal offered
            offered = False         # this attempt's answer (a transaction may run again)
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
            offered = bool(offer and holder and st.vnode)
            if offer and offered:
                st.rid = offer[1]
            S.left_queue(tx, st)
            S.withdraw_offer(tx, st, now)
            st.state, st.ended_at, st.ended_by, st.outcome = "ended", now, by, outcome
            tx.zrem(S.DUE, f"idle:{chat_id}", f"vgone:{chat_id}")
            tx.delete(S.token_key(st.token), S.log_key(chat_id), S.ids_key(chat_id))
            tx.set(S.tomb_key(st.token), by, ex=live.settings.visitor_grace_s)
            if st.vnode:
                tx.srem(S.nvis_key(st.vnode), chat_id)
                live.notify(tx, st.vnode, {"k": "ended", "chat": chat_id, "to": "visitor", "by": by}, local,
                            {"survey": offer[0]} if offer and offered else None)
            for obs_vid, obs_node in st.observers():
                live.notify(tx, obs_node, {"k": "ended", "chat": chat_id, "to": "observer", "vid": obs_vid},
                            local)
            if holder:
                raw = await tx.hgetall(S.vol_key(holder))
                held, wraps = vol_chats(raw), parse_wraps(raw.get("wraps", ""))
                held.discard(chat_id)
                deadline = now + live.settings.wrapup_timeout_s
                wraps[chat_id] = deadline
                if raw:
                    tx.hset(S.vol_key(holder), vol_fields(held, wraps))
                tx.zadd(S.DUE, {f"wrapup:{chat_id}": deadline})
                tx.hset(S.chat_key(chat_id), st.dump("state", "ended_at", "ended_by", "outcome", "rid"))
                live.notify(tx, raw.get("node", ""), {"k": "ended", "chat": chat_id, "to": "volunteer",
                                                      "vid": holder, "by": by}, local)
            else:
                st.vol = ""
                tx.delete(S.chat_key(chat_id))
            return st

        st = await live.commit(fn)
        if offer and not offered:
            try:
                await surveys.withdraw(live.sessions, self.survey_key, offer[0])
            except Exception:
                log.warning("survey.withdraw_failed", chat=chat_id)
        if st is None:
            return False
        log.info("chat.ended", chat=chat_id, by=by, outcome=st.outcome)
        if not st.vol:
            self.records.record(st, None)
        live.queue_changed()
        await self.matching.match()
        return True

    async def wrapup(self, con: Console, chat_id: str, report: Report | None) -> None:
        """The volunteer files the wrap-up of a chat that ended: it is recorded."""
        if chat_id in con.feeds:
            raise FrameError.of(codes.OUT_OF_ORDER, "end the chat before filing its wrap-up")
        st = await self.finish(con.profile.id, chat_id, report=report)
        if st is None:
            raise FrameError.of(codes.UNKNOWN_CHAT, "you have no chat with that id awaiting a wrap-up")
        con.wrapups.discard(chat_id)
        self.records.record(st, report)
        con.outbox.send({"type": "wrapup_saved", "chat": chat_id})
        run = self.heavy_runs.pop(chat_id, 0)
        if run >= self.live.settings.care_heavy_streak:
            # Care: several heavy chats in a row; the console suggests a pause (never forces one).
            con.outbox.send({"type": "care", "suggest": "pause", "heavy_in_row": run})
            log.info("care.pause_suggested", volunteer=con.profile.id[:8], heavy_in_row=run)
        log.info("chat.wrapup", chat=chat_id, non_data=report["non_data"] if report else None)
        await self.matching.match()

    async def finish(self, vid: str, chat_id: str, *, due_by: float | None = None,
                     report: Report | None = None) -> S.ChatState | None:
        """Take a chat off the volunteer's wrap-ups: it is over for everyone.

        With ``due_by``, only if its deadline has passed by then (a timer). The volunteer's
        count of heavy chats in a row (``heavy_run``) follows (``heavy_runs[chat]``).
        """
        now = self.live.clock()

        async def fn(tx: Tx) -> S.ChatState | None:
            raw = await tx.hgetall(S.vol_key(vid))
            wraps = parse_wraps(raw.get("wraps", ""))
            if chat_id not in wraps or (due_by is not None and wraps[chat_id] > due_by):
                return None
            st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id)))
            del wraps[chat_id]
            run = int(raw.get("heavy_run") or 0)
            run = run + 1 if st is not None and heavy(st, report) else 0
            if report is not None:
                self.heavy_runs[chat_id] = run
            tx.hset(S.vol_key(vid), {"idle_since": repr(now), "heavy_run": str(run),
                                     **vol_fields(vol_chats(raw), wraps)})
            tx.delete(S.chat_key(chat_id))
            tx.zrem(S.DUE, f"wrapup:{chat_id}")
            if st is not None and not st.practice and st.waited is not None and st.ended_at is not None:
                duration = st.ended_at - st.started - st.waited
                if duration > 0:
                    svc = float(await tx.get(S.SVC) or DEFAULT_SERVICE_TIME_S)
                    tx.set(S.SVC, repr(svc + EWMA_ALPHA * (duration - svc)))
            return st

        return await self.live.broker.transact(fn)

    async def end_everything(self) -> None:
        """Every chat ends and is recorded (stopping with the memory broker: the state dies)."""
        now = self.live.clock()

        async def every_chat(tx: Tx) -> set[str]:
            chats = {c for c, _ in await tx.zrange(S.QUEUE, watch=False)}
            vids = sorted(await tx.smembers(S.VOLS, watch=False))
            for raw in await tx.hgetall_many([S.vol_key(v) for v in vids], watch=False):
                chats |= vol_chats(raw) | set(parse_wraps(raw.get("wraps", "")))
            return chats

        for chat_id in sorted(await self.live.broker.read(every_chat)):
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
            st = await self.live.broker.transact(fn)
            if st is not None:
                self.records.record(st, None)
