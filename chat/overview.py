"""The shift overview: queue, chats, volunteers, alerts at a glance. Metadata only, never a line.

``supervise {active}`` starts or stops it for a console; it is sent every
``OVERVIEW_EVERY_S`` while anyone here watches, and at once after a change made here
(``changed``).
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from . import state as S
from .frame_types import Supervise
from .kernel import languages
from .kernel.broker import Tx
from .live.context import NODE_TIMEOUT_S, Live, joined_by, vol_chats, wrapup_chats
from .live.sessions import Console
from .kernel.logs import get_logger

log = get_logger(__name__)

# How often a supervising console gets a fresh overview (also at once after a change here).
OVERVIEW_EVERY_S = 1.0
# Queued chats listed in the overview (the count covers them all).
OVERVIEW_QUEUED = 50


class _Specialists:
    """Who holds which skill on duty, and which waiting chats are kept for one (chat.routing)."""

    def __init__(self, vids: list[str], vraws: list[dict[str, str]], alive: set[str], now: float,
                 wait_s: float) -> None:
        self.now, self.wait_s = now, wait_s
        self.on_duty: set[str] = set()
        self.free: set[str] = set()
        self.vols_on_duty: set[str] = set()
        for vid, raw in zip(vids, vraws):
            vol = S.VolState.load(vid, raw)
            if vol is None or not vol.available or vol.node not in alive:
                continue
            self.vols_on_duty.add(vid)
            self.on_duty |= vol.skills
            if len(vol_chats(raw)) + len(wrapup_chats(raw)) < vol.capacity:
                self.free |= vol.skills

    def kept_for_volunteer(self, st: S.ChatState) -> int | None:
        """Seconds until a chat kept for the volunteer of its follow-up code goes to anyone; None if not kept
        (routing's rule: kept while that volunteer is on duty and its time is not up)."""
        if not st.kept_for(self.now) or st.fvol not in self.vols_on_duty:
            return None
        return int(math.ceil((st.funtil or 0.0) - self.now))

    def kept(self, st: S.ChatState, topic: str | None) -> int | None:
        """Seconds until a chat kept for a busy specialist goes to anyone; None if not kept."""
        if self.kept_for_volunteer(st) is not None:
            return None
        if st.state != "queued" or st.anyone or not topic or topic not in self.on_duty or topic in self.free:
            return None
        left = st.started + self.wait_s - self.now
        return int(math.ceil(left)) if left > 0 else None


class Overview:
    def __init__(self, live: Live) -> None:
        self.live = live
        self.watchers: set[str] = set()                       # accounts here receiving overviews
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def changed(self) -> None:
        """Something the overview shows changed here: send it now rather than at the next beat."""
        self._wake.set()

    async def stop(self) -> None:
        self.watchers.clear()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def disconnected(self, con: Console) -> None:
        if self.live.consoles.get(con.profile.id) is con:
            self.watchers.discard(con.profile.id)

    async def on_supervise(self, con: Console, frame: Supervise) -> None:
        vid = con.profile.id
        if frame["active"]:
            self.watchers.add(vid)
            con.outbox.send(await self.overview())
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._loop(), name="supervision.overview")
        else:
            self.watchers.discard(vid)

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
                con = self.live.consoles.get(vid)
                if con is None:
                    self.watchers.discard(vid)
                else:
                    con.outbox.send(frame)

    def _topic(self, st: S.ChatState) -> str | None:
        try:
            return self.live.skill(st)
        except Exception:               # a seal that no longer opens: shown without a topic
            return None

    async def overview(self) -> dict[str, Any]:
        """The shift at a glance: queue, chats, volunteers, alerts. Metadata only, never a line."""
        now = self.live.clock()

        async def fn(tx: Tx) -> tuple[Any, ...]:
            queue = await tx.zrange(S.QUEUE, watch=False)
            vids = sorted(await tx.smembers(S.VOLS, watch=False))
            vraws = await tx.hgetall_many([S.vol_key(v) for v in vids], watch=False)
            alive = {n for n, beat in await tx.zrange(S.NODES, watch=False) if beat > now - NODE_TIMEOUT_S}
            alerts = await tx.hgetall(S.ALERTS, watch=False)
            held = [(c, vid) for vid, raw in zip(vids, vraws)
                    for c in sorted(vol_chats(raw) | wrapup_chats(raw))]
            queued = [c for c, _ in queue[:OVERVIEW_QUEUED]]
            craws = await tx.hgetall_many([S.chat_key(c) for c, _ in held] + [S.chat_key(c) for c in queued],
                                          watch=False)
            # Every queued chat's language, for the count per language (the list stops at OVERVIEW_QUEUED).
            rest = [c for c, _ in queue[OVERVIEW_QUEUED:]]
            rraws = await tx.hgetall_many([S.chat_key(c) for c in rest], watch=False) if rest else []
            return queue, vids, vraws, alive, alerts, held, queued, craws, list(zip(rest, rraws))

        queue, vids, vraws, alive, alerts_raw, held, queued, craws, rest = await self.live.broker.read(fn)
        names = {vid: raw.get("name", "") for vid, raw in zip(vids, vraws)}
        alerts: list[dict[str, Any]] = []
        flags: dict[str, set[str]] = {}
        live_chats: set[str] = set()
        chats: list[dict[str, Any]] = []
        listed = [c for c, _ in held] + queued
        states = [S.ChatState.load(c, r) for c, r in zip(listed, craws)]
        for chat, st in zip(listed, states):
            if st is not None and st.state in ("queued", "active"):
                live_chats.add(chat)
        for alert, blob in sorted(alerts_raw.items()):
            a = json.loads(blob)
            if a["chat"] not in live_chats and a["kind"] != "debrief":   # a debrief is asked for after the chat
                continue
            flags.setdefault(a["chat"], set()).add(a["kind"])
            alerts.append({"alert": alert, "chat": a["chat"], "kind": a["kind"],
                           "volunteer": names.get(a["vid"], ""), "since_s": int(now - a["at"])})
        longest = 0.0
        specialists = _Specialists(vids, vraws, alive, now, self.live.settings.specialist_wait_s)
        kept = for_volunteer = 0
        for chat, raw, st in zip(listed, craws, states):
            if st is None:
                continue
            if st.state == "queued":
                longest = max(longest, now - st.started)
            chat_flags = set(flags.get(chat, set()))
            if any(v not in st.trainees() for v, _ in st.observers()):
                chat_flags.add("observed")
            if st.shadows:
                chat_flags.add("shadowed")
            if st.practice:
                chat_flags.add("practice")
            if joined_by(raw):
                chat_flags.add("joined")
            if st.offer and st.state == "active":
                chat_flags.add("offered")          # a warm transfer waits for an answer (chat.offers)
            if not st.vnode:
                chat_flags.add("visitor_away")
            entry = {"chat": chat, "state": "wrapup" if st.state == "ended" else st.state,
                     "volunteer": names.get(st.vol, "") if st.vol else "", "volunteer_id": st.vol,
                     "since_s": int(now - st.started), "lang": st.lang, "channel": st.channel,
                     "flags": sorted(chat_flags), "topic": self._topic(st)}
            fallback = specialists.kept(st, entry["topic"])
            if fallback is not None:
                kept += 1
                entry["specialist_wait_s"] = fallback       # seconds until it goes to anyone
            own = specialists.kept_for_volunteer(st)
            if own is not None:
                for_volunteer += 1
                entry["kept_for"] = names.get(st.fvol, "")   # came back with this volunteer's code
                entry["followup_wait_s"] = own               # seconds until it goes to anyone
            chats.append(entry)
        volunteers = []
        for vid, raw in zip(vids, vraws):
            vol = S.VolState.load(vid, raw)
            if vol is None:
                continue
            present = bool(vol.node) and vol.node in alive
            volunteers.append({"id": vid, "display_name": vol.name,
                               "state": ("available" if vol.wants else "paused") if present else "away",
                               "load": len(vol_chats(raw)) + len(wrapup_chats(raw)), "capacity": vol.capacity,
                               "languages": sorted(vol.langs), "skills": sorted(vol.skills),
                               "role": raw.get("role", "volunteer")})
        waiting = [st for st in states if st is not None and st.state == "queued"]
        waiting += [st for st in (S.ChatState.load(c, r) for c, r in rest) if st is not None and st.state == "queued"]
        return {"type": "overview",
                "queue": {"waiting": len(queue), "longest_wait_s": int(math.floor(longest)),
                          "for_specialist": kept, "for_volunteer": for_volunteer},
                "chats": chats, "volunteers": volunteers, "alerts": alerts,
                "languages": per_language(waiting, volunteers, now)}


def per_language(waiting: list[S.ChatState], volunteers: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """For each chat language: the chats waiting in it, the longest wait, and who on duty speaks it.

    Every language of the table (``chat.kernel.languages``) is listed, so a supervisor sees at
    once a language with chats waiting and nobody on duty for it (``on_duty`` empty).
    """
    codes = list(languages.CODES) + sorted({st.lang for st in waiting} - set(languages.CODES))
    out = []
    for code in codes:
        mine = [st for st in waiting if st.lang == code]
        # A trainee's console takes no chats (chat.practice aside): it is nobody on duty for a language.
        speakers = [v for v in volunteers if code in v["languages"] and v["state"] != "away"
                    and v.get("role") != "trainee"]
        out.append({"lang": code, "waiting": len(mine),
                    "longest_wait_s": int(math.floor(max((now - st.started for st in mine), default=0.0))),
                    "on_duty": sorted(v["display_name"] for v in speakers),
                    "available": sum(1 for v in speakers if v["state"] == "available" and v["load"] < v["capacity"])})
    return out
