"""Timers and nodes: idle chats, grace periods, wrap-up deadlines; heartbeats and the dead.

Timers are entries in a shared sorted set (``jc:due``); any node's housekeeping
claims those that are due, with a lease so that a node dying mid-way leaves them to
another. Nodes beat every tick; a node silent for ``NODE_TIMEOUT_S`` is reaped by the
others: its visitors and volunteers are marked gone, and get their grace periods to
resume elsewhere.
"""

from __future__ import annotations

import math
from typing import Awaitable, Callable

from .. import state as S
from ..kernel.broker import BrokerError, Tx
from ..kernel.logs import get_logger
from .context import NODE_TIMEOUT_S, Live, Local, parse_wraps, vol_chats
from .duty import Duty
from .ending import Ending
from .lines import Lines
from .matching import Matching
from .reconcile import Reconcile
from .records import Records
from .referring import Referring

log = get_logger(__name__)

# A claimed timer comes back after this long unless its handler settled it.
TIMER_LEASE_S = 30.0
# Timers claimed per tick and node.
TIMERS_PER_TICK = 200
# How often (in ticks) the TTLs of this node's chats and volunteers are refreshed.
REFRESH_EVERY_TICKS = 600
# Expired referral codes are deleted this often (by every node; deleting twice is harmless).
PURGE_EVERY_TICKS = 3600


class Timers:
    def __init__(self, live: Live, *, lines: Lines, ending: Ending, records: Records, matching: Matching,
                 reconcile: Reconcile, referring: Referring) -> None:
        self.live = live
        self.lines = lines
        self.ending = ending
        self.records = records
        self.matching = matching
        self.reconcile = reconcile
        self.referring = referring
        self.duty = Duty(live)
        self.ticks = 0
        # Timers of other parts, by kind: handler(ident, now) settles its own timer (chat.offers).
        self.handlers: dict[str, Callable[[str, float], Awaitable[None]]] = {}

    async def beat(self) -> None:
        now, node = self.live.clock(), self.live.node

        async def fn(tx: Tx) -> None:
            tx.zadd(S.NODES, {node: now})

        await self.live.broker.transact(fn)

    async def tick(self) -> None:
        """Beat, reap dead nodes, fire every timer that is due (each housekeeping tick)."""
        live = self.live
        now = live.clock()
        self.ticks += 1
        await self.reconcile.check_epoch()
        await self.beat()
        if self.ticks % REFRESH_EVERY_TICKS == 0:
            await self.refresh_ttls()
        if self.ticks % PURGE_EVERY_TICKS == 1:
            await self.referring.purge_codes()
        nodes = await live.broker.read(lambda tx: tx.zrange(S.NODES, watch=False))
        for node, beat in nodes:
            if node != live.node and beat < now - NODE_TIMEOUT_S:
                await self._reap(node, now)
        await self.duty.tick(now)

        async def claim(tx: Tx) -> list[str]:
            due = await tx.zrangebyscore(S.DUE, -math.inf, now, limit=TIMERS_PER_TICK)
            if due:
                tx.zadd(S.DUE, {member: now + TIMER_LEASE_S for member, _ in due})
            return [member for member, _ in due]

        for timer in await live.broker.transact(claim):
            try:
                await self._fire(timer, now)
            except BrokerError:
                raise
            except Exception:
                log.exception("timer.failed", timer=timer.split(":")[0])
        if self.matching.poll_due(now):
            await self.matching.flush_positions()
            await self.reconcile.reconcile()
        await self.matching.match()

    async def _cancel(self, timer: str) -> None:
        async def fn(tx: Tx) -> None:
            tx.zrem(S.DUE, timer)
        await self.live.broker.transact(fn)

    async def _later(self, timer: str, when: float) -> None:
        async def fn(tx: Tx) -> None:
            tx.zadd(S.DUE, {timer: when})
        await self.live.broker.transact(fn)

    async def _fire(self, timer: str, now: float) -> None:
        kind, _, ident = timer.partition(":")
        s = self.live.settings
        if kind == "vgone":
            ended = await self.ending.end(ident, "timeout", check=lambda st, t: (
                not st.vnode and st.vgone is not None and t - st.vgone >= s.visitor_grace_s))
            if not ended:
                st = await self.live.read_chat(ident)
                if st is not None and not st.vnode and st.vgone is not None and st.state in ("queued", "active"):
                    await self._later(timer, st.vgone + s.visitor_grace_s)
                    return
            await self._cancel(timer)
        elif kind == "idle":
            st = await self.live.read_chat(ident)
            if st is None or st.state != "active":
                await self._cancel(timer)
                return
            quiet = now - st.last_act
            if not st.warned and quiet >= s.idle_warn_s:
                if await self.lines.system(ident, "idle_warning", check=lambda c: not c.warned
                                           and now - c.last_act >= s.idle_warn_s, fields={"warned": "1"}):
                    log.info("chat.idle_warning", chat=ident)
                await self._later(timer, now + s.idle_close_s)
            elif st.warned and quiet >= s.idle_warn_s + s.idle_close_s:
                await self.ending.end(ident, "timeout", check=lambda c, t: c.warned and
                                      t - c.last_act >= s.idle_warn_s + s.idle_close_s)
                await self._cancel(timer)
            else:
                await self._later(timer, st.last_act + s.idle_warn_s + (s.idle_close_s if st.warned else 0))
        elif kind == "wrapup":
            st = await self.live.read_chat(ident)
            if st is None or st.state != "ended" or not st.vol:
                await self._cancel(timer)
                return
            done = await self.ending.finish(st.vol, ident, due_by=now)
            if done is not None:
                self.records.record(done, None)
                log.info("chat.wrapup_overdue", chat=ident)
                con = self.live.consoles.get(st.vol)
                if con is not None:
                    con.wrapups.discard(ident)
            await self._cancel(timer)
        elif kind == "vol":
            await self._volunteer_gone(ident, now)
        elif kind in self.handlers:
            await self.handlers[kind](ident, now)
        else:
            await self._cancel(timer)

    async def _volunteer_gone(self, vid: str, now: float) -> None:
        """Past the grace period: finish its wrap-ups, hand its chats back to the front of the queue."""
        live = self.live
        grace = live.settings.volunteer_grace_s

        async def fn(tx: Tx, local: Local) -> tuple[list[str], list[S.ChatState]] | None:
            raw = await tx.hgetall(S.vol_key(vid))
            vol = S.VolState.load(vid, raw)
            if vol is not None and (vol.node or (vol.gone is not None and now - vol.gone < grace)):
                if not vol.node and vol.gone is not None:
                    tx.zadd(S.DUE, {f"vol:{vid}": vol.gone + grace})
                else:
                    tx.zrem(S.DUE, f"vol:{vid}")
                return None
            tx.zrem(S.DUE, f"vol:{vid}")
            held = sorted(vol_chats(raw))
            wraps = sorted(parse_wraps(raw.get("wraps", "")))
            states = await tx.hgetall_many([S.chat_key(c) for c in held + wraps])
            queue = await tx.zrange(S.QUEUE)
            front = min([score for _, score in queue] + [now]) - 1
            requeued: list[str] = []
            finished: list[S.ChatState] = []
            held_states = [S.ChatState.load(c, r) for c, r in zip(held, states[:len(held)])]
            # The newest chat goes in first, so that the oldest ends up at the very front.
            for st in sorted((s for s in held_states if s is not None and s.state == "active"),
                             key=lambda s: s.started, reverse=True):
                tx.hset(S.chat_key(st.id), {"state": "queued", "vol": ""})
                S.withdraw_offer(tx, st, now)
                tx.zadd(S.QUEUE, {st.id: front})
                front -= 1
                tx.zrem(S.DUE, f"idle:{st.id}")
                requeued.append(st.id)
                live.notify(tx, st.vnode, {"k": "requeued", "chat": st.id, "to": "visitor"}, local)
            for chat_id, r in zip(wraps, states[len(held):]):
                wrapped = S.ChatState.load(chat_id, r)
                tx.delete(S.chat_key(chat_id))
                tx.zrem(S.DUE, f"wrapup:{chat_id}")
                if wrapped is not None:
                    finished.append(wrapped)
            tx.delete(S.vol_key(vid))
            tx.srem(S.VOLS, vid)
            return requeued, finished

        result = await live.commit(fn)
        if result is None:
            return
        requeued, finished = result
        for st in finished:
            self.records.record(st, None)
        for chat_id in requeued:
            await self.lines.system(chat_id, "volunteer_lost", to="visitor")
            log.info("chat.requeued", chat=chat_id, volunteer=vid[:8])
        log.info("volunteer.gone", volunteer=vid[:8])
        live.queue_changed()
        await self.matching.match()

    async def _reap(self, node: str, now: float) -> None:
        """A node stopped beating: its visitors and volunteers are gone (each with its grace)."""
        live = self.live
        s = live.settings

        async def fn(tx: Tx, local: Local) -> list[str] | None:
            beat = await tx.zscore(S.NODES, node)
            if beat is None or beat >= now - NODE_TIMEOUT_S:
                return None
            tx.zrem(S.NODES, node)
            vids = sorted(await tx.smembers(S.nvol_key(node)))
            for vid, raw in zip(vids, await tx.hgetall_many([S.vol_key(v) for v in vids])):
                if raw.get("node") == node:
                    tx.hset(S.vol_key(vid), {"node": "", "conn": "", "gone": repr(now)})
                    tx.zadd(S.DUE, {f"vol:{vid}": now + s.volunteer_grace_s})
            chats = sorted(await tx.smembers(S.nvis_key(node)))
            away: list[str] = []
            for chat_id, raw in zip(chats, await tx.hgetall_many([S.chat_key(c) for c in chats])):
                st = S.ChatState.load(chat_id, raw)
                if st is None or st.vnode != node or st.state not in ("queued", "active"):
                    continue
                tx.hset(S.chat_key(chat_id), {"vnode": "", "vconn": "", "vgone": repr(now)})
                tx.zadd(S.DUE, {f"vgone:{chat_id}": now + s.visitor_grace_s})
                if st.state == "active":
                    away.append(chat_id)
                    live.notify(tx, await live.vol_node(tx, st.vol),
                                {"k": "frame", "chat": chat_id, "to": "volunteer", "vid": st.vol}, local,
                                {"type": "presence", "chat": chat_id, "visitor": "away"})
            tx.delete(S.nvis_key(node), S.nvol_key(node))
            return away

        away = await live.commit(fn)
        if away is None:
            return
        log.warning("node.reaped", node=node, visitors_away=len(away))
        for chat_id in away:
            await self.lines.system(chat_id, "visitor_away", to="volunteer")
        live.queue_changed()

    async def refresh_ttls(self) -> None:
        """Keep the shared keys of this node's chats and volunteers from expiring while in use."""
        live = self.live

        async def fn(tx: Tx) -> None:
            for chat_id, vis in live.visitors.items():
                # The log, resend ids and token too: a chat may wait longer than their TTL.
                for key in (S.chat_key(chat_id), S.log_key(chat_id), S.ids_key(chat_id)):
                    tx.expire(key, live.log_ttl)
                if vis.token:
                    tx.expire(S.token_key(vis.token), live.log_ttl)
            for vid in live.consoles:
                tx.expire(S.vol_key(vid), live.log_ttl)
        await live.broker.transact(fn)
