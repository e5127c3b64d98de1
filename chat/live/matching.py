"""Matching and the queue: waiting chats to free volunteers (the pure ``Router`` decides),
and each waiting visitor's position.

Matching runs one pass at a time per node; a change while it runs asks for one more.
Positions are coalesced: any part that moved the queue calls ``Live.queue_changed``
(this module fills it), and at most every ``POSITION_FLUSH_S`` each waiting visitor
here is told its position if it changed. Changes made on other nodes are followed by
a poll every ``POSITION_POLL_S`` (``chat.live.timers``).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Coroutine

from .. import state as S
from ..kernel.broker import BrokerError, Tx
from ..kernel.logs import get_logger
from ..routing import DEFAULT_SERVICE_TIME_S, Router, specialist_wait
from .context import NODE_TIMEOUT_S, Live, Local, parse_wraps, vol_chats, vol_fields
from .sessions import Visitor

log = get_logger(__name__)

# Queue positions are sent at most this often, whatever the churn: coalescing
# turns a burst of arrivals and departures into one update per waiting visitor.
POSITION_FLUSH_S = 0.1
# Positions also follow changes made on other nodes, this often.
POSITION_POLL_S = 1.0
# One matching pass reads at most this many waiting chats: past the free slots it reads
# on only over chats kept for a busy specialist, which are few; the bound keeps a pass
# short even if thousands were (the next pass goes on).
MAX_READ = 5000


class Matching:
    def __init__(self, live: Live) -> None:
        self.live = live
        self.tasks: set[asyncio.Task[None]] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._matching = False
        self._match_again = False
        self._match_handle: asyncio.Handle | None = None
        self._per_position = (0.0, -math.inf)     # (seconds per queue position, when computed)
        self._on_duty = True                      # at the last count, was any volunteer taking chats?
        # (mean chat length, skill -> specialists' slots on duty, skills with a free specialist)
        self._specialists: tuple[float, dict[str, int], set[str]] = (float(DEFAULT_SERVICE_TIME_S), {}, set())
        # volunteer on duty -> (slots, has a free one), for chats kept for a named volunteer
        self._vols: dict[str, tuple[int, bool]] = {}
        self._last_poll = 0.0
        # Local visitors waiting here that the last full queue view did not list.
        self.unlisted: set[str] = set()
        live.queue_changed = self.positions_changed

    def stop(self) -> None:
        """No more scheduled flushes or matches (the tasks already running are the caller's)."""
        if self._flush_handle:
            self._flush_handle.cancel()
        if self._match_handle:
            self._match_handle.cancel()

    # -- matching ------------------------------------------------------------------------
    async def match(self) -> None:
        """Assign waiting chats to free volunteers; one run at a time per node."""
        if self.live.draining:
            return
        if self._matching:
            self._match_again = True
            return
        self._matching = True
        try:
            while True:
                self._match_again = False
                try:
                    assigned = await self.live.commit(self._tx_match)
                except BrokerError as exc:
                    log.warning("match.failed", error=str(exc))
                    return
                for chat_id, vid in assigned:
                    log.info("chat.assigned", chat=chat_id, volunteer=vid[:8])
                if assigned:
                    self.positions_changed()
                if not self._match_again:
                    return
        finally:
            self._matching = False

    def match_soon(self) -> None:
        """Match on one of the loop's next turns: hellos that arrive together share one run."""
        if self._match_handle is None and not self.live.draining:
            self._match_handle = asyncio.get_running_loop().call_soon(self._schedule_match)

    def _schedule_match(self) -> None:
        self._match_handle = None
        self._spawn(self.match())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _tx_match(self, tx: Tx, local: Local) -> list[tuple[str, str]]:
        live = self.live
        now = live.clock()
        if not await tx.zcard(S.QUEUE, watch=False):
            return []
        # vid -> (its state, the chats it holds, its wrap-ups due)
        vols: dict[str, tuple[S.VolState, set[str], dict[str, float]]] = {}
        free = 0
        for vol, raw in await self.on_duty(tx, now, watch=True):
            held, wraps = vol_chats(raw), parse_wraps(raw.get("wraps", ""))
            free += max(0, vol.capacity - len(held) - len(wraps))
            vols[vol.id] = (vol, held, wraps)
        if free == 0:
            return []
        router = Router(max_queue=MAX_READ, specialist_wait_s=live.settings.specialist_wait_s)
        for vid, (vol, held, wraps) in vols.items():
            router.set_volunteer(vid, languages=vol.langs, capacity=vol.capacity, available=True,
                                 now=vol.idle_since, skills=vol.skills)
            for chat in held | set(wraps):
                router.hold(vid, chat, vol.idle_since)
        pairs: list[tuple[str, str]] = []
        by_id: dict[str, S.ChatState] = {}
        topics: dict[str, str] = {}
        # A chat kept for a named volunteer (a follow-up code) goes to them before any other
        # chat, wherever it stands in the queue: read those of the volunteers on duty first.
        kept_ids = sorted(await tx.smembers(S.KEPT, watch=False))
        if kept_ids:
            for chat_id, raw in zip(kept_ids, await tx.hgetall_many([S.chat_key(c) for c in kept_ids])):
                st = S.ChatState.load(chat_id, raw)
                if st is None or st.state != "queued" or not st.fkeep:
                    tx.srem(S.KEPT, chat_id)        # answered, released or gone: a stale id
                    continue
                if st.kept_for(now) in vols:
                    by_id[chat_id] = st
                    router.enqueue(st.id, st.lang, now, since=st.started, keep=st.fvol, keep_until=st.funtil or 0.0)
        # Only the head of the queue can be matched: as many chats as there are free slots,
        # read page by page past the chats kept for a busy specialist (they block nobody).
        lo, at_lo, read = -math.inf, 0, 0
        while free > 0 and read < MAX_READ:
            want = free + at_lo
            page = await tx.zrangebyscore(S.QUEUE, lo, math.inf, limit=want)
            if not page:
                break
            # Chats read already (the kept ones above, the last page's at ``lo``) are skipped.
            fresh = [(c, score) for c, score in page if c not in by_id]
            read += len(fresh)
            states = await tx.hgetall_many([S.chat_key(c) for c, _ in fresh]) if fresh else []
            for (chat_id, _), raw in zip(fresh, states):
                st = S.ChatState.load(chat_id, raw)
                if st is None:
                    tx.zrem(S.QUEUE, chat_id)       # its state expired: nobody is waiting
                    by_id[chat_id] = S.ChatState(id=chat_id, state="gone")
                    continue
                by_id[chat_id] = st
                if st.state != "queued":
                    continue
                try:
                    topic = live.skill(st)
                except Exception:           # a seal that no longer opens: routed without a topic
                    topic = None
                if topic:
                    topics[chat_id] = topic
                router.enqueue(st.id, st.lang, now, skill=None if st.anyone else topic, since=st.started,
                               keep=st.kept_for(now) or None, keep_until=st.funtil or 0.0)
            got = router.match(now)
            pairs.extend(got)
            free -= len(got)
            if len(page) < want:
                break                               # the whole queue was read
            last = page[-1][1]
            at_lo = sum(1 for _, score in page if score == last)   # the page starts at lo, inclusive
            lo = last
        for chat_id, vid in pairs:
            st = by_id[chat_id]
            vol, held, wraps = vols[vid]
            fields = {"state": "active", "vol": vid, "last_vol": vid, "last_act": repr(now), "warned": "0"}
            if st.waited is None:
                fields["waited"] = repr(max(0.0, now - st.started))
            topic = topics.get(chat_id)
            if topic and not st.spec:
                fields["spec"] = "1" if topic in vol.skills else "0"
            if st.fkeep:
                fields["fkeep"] = ""        # answered: not kept again should it come back to the queue
                S.kept_index(tx, chat_id, False)
            tx.hset(S.chat_key(chat_id), fields)
            S.left_queue(tx, st)
            held.add(chat_id)
            tx.hset(S.vol_key(vid), {"idle_since": repr(now), **vol_fields(held, wraps)})
            tx.zadd(S.DUE, {f"idle:{chat_id}": now + live.settings.idle_warn_s})
            live.notify(tx, st.vnode, {"k": "assigned", "chat": chat_id, "to": "visitor",
                                       "name": vol.name}, local)
            live.notify(tx, vol.node, {"k": "assigned", "chat": chat_id, "to": "volunteer",
                                       "vid": vid}, local)
            if st.fkeep and st.fvol == vid:     # kept for them: a young person back with their code
                live.notify(tx, vol.node, {"k": "frame", "chat": chat_id, "to": "volunteer", "vid": vid}, local,
                            {"type": "followup_returned", "chat": chat_id})
        return pairs

    @staticmethod
    async def on_duty(tx: Tx, now: float, *, watch: bool) -> list[tuple[S.VolState, dict[str, str]]]:
        """Volunteers available on a live node, with their raw hashes (held chats, wrap-ups)."""
        vids = sorted(await tx.smembers(S.VOLS, watch=watch))
        raws = await tx.hgetall_many([S.vol_key(v) for v in vids], watch=watch)
        alive = {n for n, beat in await tx.zrange(S.NODES, watch=False) if beat > now - NODE_TIMEOUT_S}
        out = []
        for vid, raw in zip(vids, raws):
            vol = S.VolState.load(vid, raw)
            if vol is not None and vol.available and vol.node in alive:
                out.append((vol, raw))
        return out

    # -- positions -----------------------------------------------------------------------
    def positions_changed(self) -> None:
        if self._flush_handle is None and not self.live.draining:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._flush_handle = loop.call_later(POSITION_FLUSH_S, self._schedule_flush)

    def _schedule_flush(self) -> None:
        self._flush_handle = None
        self._spawn(self.flush_positions())

    def poll_due(self, now: float) -> bool:
        """Is it time to follow changes made elsewhere (once per ``POSITION_POLL_S``)?"""
        if now - self._last_poll >= POSITION_POLL_S:
            self._last_poll = now
            return True
        return False

    async def _queue_view(self) -> tuple[list[str], float]:
        """The queue in order, and the expected seconds between two answered chats."""
        now = self.live.clock()

        async def fn(tx: Tx) -> tuple[list[str], float]:
            queue = await tx.zrange(S.QUEUE, watch=False)
            return [c for c, _ in queue], await self._tx_per_position(tx, now)

        return await self.live.broker.read(fn)

    async def _tx_per_position(self, tx: Tx, now: float) -> float:
        """Expected seconds between two answered chats (remembered for ``send_position``),
        and the specialists' slots and free skills on duty (for kept chats' estimates)."""
        svc = float(await tx.get(S.SVC, watch=False) or DEFAULT_SERVICE_TIME_S)
        slots = 0
        skill_slots: dict[str, int] = {}
        free_skills: set[str] = set()
        vols: dict[str, tuple[int, bool]] = {}
        for vol, raw in await self.on_duty(tx, now, watch=False):
            slots += vol.capacity
            busy = len(vol_chats(raw)) + len(parse_wraps(raw.get("wraps", ""))) >= vol.capacity
            vols[vol.id] = (vol.capacity, not busy)
            for skill in vol.skills:
                skill_slots[skill] = skill_slots.get(skill, 0) + vol.capacity
                if not busy:
                    free_skills.add(skill)
        self._per_position = (svc / max(slots, 1), now)
        self._on_duty = slots > 0
        self._specialists = (svc, skill_slots, free_skills)
        self._vols = vols
        return self._per_position[0]

    async def anyone_on_duty(self) -> bool | None:
        """Is any volunteer signed in and taking chats now (``GET /api/opening-hours``'s ``on_duty``)?
        The count of the last ``POSITION_POLL_S`` if there is one (the positions' own), else one
        read of the volunteers present; None when the broker cannot say."""
        now = self.live.clock()
        if 0 <= now - self._per_position[1] < POSITION_POLL_S:
            return self._on_duty
        try:
            await self.live.broker.read(lambda tx: self._tx_per_position(tx, now))
        except BrokerError:
            return None
        return self._on_duty

    async def flush_positions(self, only: Visitor | None = None) -> None:
        """Send each waiting visitor here its position, if it changed: O(waiting) per flush."""
        if only is not None:
            await self.send_position(only)
            return
        visitors = self.live.visitors
        if not any(v.state == "queued" for v in visitors.values()):
            return
        try:
            order, per_position = await self._queue_view()
        except BrokerError:
            return
        if self.live.broker.shared:          # for the reconcile pass; with memory:// no notice is lost
            listed = set(order)
            self.unlisted = {v.id for v in visitors.values() if v.state == "queued" and v.id not in listed}
        ahead: dict[str, int] = {}           # topic -> kept chats of it seen so far (known here)
        for position, chat_id in enumerate(order, start=1):
            vis = visitors.get(chat_id)
            if vis is None or vis.state != "queued":
                continue
            if vis.topic:
                ahead[vis.topic] = ahead.get(vis.topic, 0) + 1
            self._tell_position(vis, position, self._estimate(vis, position, per_position,
                                                              ahead.get(vis.topic or "", 1)), self._on_duty)

    async def send_position(self, vis: Visitor) -> None:
        """Send one visitor its position (on entry, on resume): a rank lookup, not the whole queue.

        The estimate uses the wait per position of the last flush when it is recent
        (the coalesced flush that follows an arrival corrects it if it changed).
        """
        if self.live.visitors.get(vis.id) is not vis or vis.state != "queued":
            return
        now = self.live.clock()

        async def fn(tx: Tx) -> tuple[int | None, float]:
            rank = await tx.zrank(S.QUEUE, vis.id, watch=False)
            per, at = self._per_position
            # A chat kept for its volunteer is promised by that volunteer's load: read it fresh.
            if rank is not None and (vis.kept_for or not 0 <= now - at < POSITION_POLL_S):
                per = await self._tx_per_position(tx, now)
            return rank, per

        try:
            rank, per_position = await self.live.broker.read(fn)
        except BrokerError:
            return
        if rank is not None:
            self._tell_position(vis, rank + 1, self._estimate(vis, rank + 1, per_position, 1), self._on_duty)

    def _estimate(self, vis: Visitor, position: int, per_position: float, ahead: int) -> int:
        """Seconds to promise: by place in line, or, for a chat kept for a busy specialist or
        for its own volunteer, also by when one of them is likely free (``routing.specialist_wait``).

        ``ahead`` counts the kept chats of its topic ahead of it that this node holds
        (others' topics are sealed and not read for an estimate)."""
        plain = position * per_position
        svc, skill_slots, free_skills = self._specialists
        now = self.live.clock()
        if vis.kept_for and now < vis.kept_until and vis.kept_for in self._vols:
            # Kept for a named volunteer (a follow-up code): until one of their slots frees,
            # but never past the time it is released to anyone, plus its place in line.
            slots, free = self._vols[vis.kept_for]
            if free:
                return Router.round_wait(0.0)
            return Router.round_wait(specialist_wait(plain, ahead=1, service_time_s=svc, slots=slots,
                                                     fallback_in_s=vis.kept_until - now))
        topic = vis.topic
        if not topic or not skill_slots.get(topic) or topic in free_skills:
            return Router.round_wait(plain)
        fallback_in = vis.started + self.live.settings.specialist_wait_s - self.live.clock()
        return Router.round_wait(specialist_wait(plain, ahead=ahead, service_time_s=svc,
                                                 slots=skill_slots[topic], fallback_in_s=fallback_in))

    @staticmethod
    def _tell_position(vis: Visitor, position: int, estimate: int, on_duty: bool) -> None:
        """``on_duty`` (extension): False when no volunteer is signed in and taking chats, so the
        estimate means nothing and the widget says so instead."""
        state = (position, estimate, on_duty)
        if state != vis.last_queued:
            vis.last_queued = state
            vis.outbox.send({"type": "queued", "position": state[0], "estimated_wait_s": state[1],
                             "on_duty": on_duty})
