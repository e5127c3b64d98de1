"""Reconcile: making up for notices that never came, and for a broker that lost its state.

Redis Pub/Sub drops messages (facts.md): while its link is down (then ``resync``
repairs at once) and, rarely, with the link up, which would leave a visitor waiting
for an assignment that happened, a console without its chat, or a line undelivered
until the next one. ``reconcile`` compares what each socket here was told with the
shared state; a difference seen in two passes in a row (so not a notice still on
its way) is repaired through the notice table, as the notice would have been.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Awaitable, Callable

from .. import state as S
from ..kernel import error_codes as codes
from ..kernel.broker import BrokerError, Tx
from ..kernel.logs import get_logger
from .consoles import Consoles
from .context import Live, vol_chats
from .delivery import Delivery
from .matching import Matching
from .records import Records
from .sessions import Console, Visitor

log = get_logger(__name__)


class Reconcile:
    def __init__(self, live: Live, *, delivery: Delivery, matching: Matching, consoles: Consoles,
                 records: Records) -> None:
        self.live = live
        self.delivery = delivery
        self.matching = matching
        self.consoles = consoles
        self.records = records
        self.epoch: str | None = None
        # What the last pass found out of step: key -> what was due.
        self._out_of_step: dict[tuple[str, ...], Any] = {}

    async def check_epoch(self) -> bool:
        """Did the broker lose its state since we last looked? Then the chats here are told."""
        epoch = await self.live.broker.epoch()
        if epoch != self.epoch:
            await self.state_lost(epoch)
            return True
        return False

    async def resync(self) -> None:
        """After the broker link came back: fill every feed from the logs, catch up on state
        (what Pub/Sub lost while the link was down), at once rather than on two passes.
        Redis that came back empty (a new epoch) lost the live chats: ``state_lost``.

        It runs as the broker's reconnect callback (``Broker.on_reconnect``): a
        ``BrokerError`` (the link dropped again, Redis still loading, a pooled connection
        that has not noticed the restart) goes back to the broker, whose subscription
        logs it (``broker.resync_failed``) and runs this again after a back-off, with
        ``/readyz`` saying ``channel reconnecting`` until it succeeds.
        """
        if await self.check_epoch():
            return
        await self.reconcile(at_once=True)
        self.live.queue_changed()
        await self.matching.match()

    async def reconcile(self, *, at_once: bool = False) -> None:
        """Once per position poll on a shared broker: the shared state of the chats the
        sockets here are in (active ones, waiting ones the queue no longer lists) and of
        the consoles here is read in one round trip and compared with what each socket
        was told. Waiting visitors the queue still lists cost nothing here (the position
        flush reads the queue anyway). ``at_once`` (after a reconnect) reads every open
        chat here and repairs on this pass.
        """
        live = self.live
        if not at_once and not live.broker.shared:
            return
        unlisted = self.matching.unlisted
        visitors = [v for v in live.visitors.values()
                    if v.state == "active" or (v.state == "queued" and (at_once or v.id in unlisted))]
        consoles = list(live.consoles.values())
        feeds = [(con, chat_id, feed) for con in consoles for chat_id, feed in con.feeds.items()]
        keys = ([S.chat_key(v.id) for v in visitors] + [S.vol_key(c.profile.id) for c in consoles]
                + [S.chat_key(chat_id) for _, chat_id, _ in feeds])
        if not keys:
            self._out_of_step = {}
            return
        try:
            raws = await live.broker.read(lambda tx: tx.hgetall_many(keys, watch=False))
        except BrokerError:
            if at_once:
                raise           # resync: the broker tries again
            return
        seen: dict[tuple[str, ...], Any] = {}
        repairs: list[tuple[tuple[str, ...], Callable[[], Awaitable[Any]]]] = []

        def out_of_step(key: tuple[str, ...], due: Any, repair: Callable[[], Awaitable[Any]]) -> None:
            seen[key] = due
            if at_once or self._out_of_step.get(key) == due:
                repairs.append((key, repair))

        dispatch, deliver = live.notices.dispatch, self.delivery.deliver
        at = 0
        for vis in visitors:
            st = S.ChatState.load(vis.id, raws[at])
            at += 1
            if st is None or st.state not in ("queued", "active"):
                by = (st.ended_by if st else "") or "timeout"
                out_of_step(("v-ended", vis.id), by, partial(
                    dispatch, {"k": "ended", "chat": vis.id, "to": "visitor", "by": by}))
            elif st.state == "active" and vis.state == "queued":
                out_of_step(("v-assigned", vis.id), st.vol, partial(self._reassigned, vis, st.vol))
            elif st.state == "queued" and vis.state == "active":
                out_of_step(("v-requeued", vis.id), st.seq, partial(
                    dispatch, {"k": "requeued", "chat": vis.id, "to": "visitor"}))
            if st is not None and st.seq > vis.feed.last:
                out_of_step(("v-line", vis.id), st.seq, partial(
                    deliver, vis.id, vis.feed, vis.outbox, "visitor", vis.lang, st.seq, None))
        for con in consoles:
            held = vol_chats(raws[at])
            at += 1
            vid = con.profile.id
            for chat_id in sorted(held - set(con.feeds)):
                out_of_step(("c-assigned", vid, chat_id), True,
                            partial(self.consoles.assigned, con, chat_id, resumed=False))
        for con, chat_id, feed in feeds:
            st = S.ChatState.load(chat_id, raws[at])
            at += 1
            vid = con.profile.id
            if st is None or st.state != "active" or st.vol != vid:
                ended_by = (st.ended_by if st else "") or None
                out_of_step(("c-ended", vid, chat_id), ended_by, partial(self._console_ended, con, chat_id, ended_by))
            elif st.seq > feed.last:
                out_of_step(("c-line", vid, chat_id), st.seq, partial(
                    deliver, chat_id, feed, con.outbox, "volunteer", con.lang, st.seq, None))
        self._out_of_step = seen
        for key, repair in repairs:
            self._out_of_step.pop(key, None)
            try:
                done = await repair()
            except BrokerError:
                if at_once:
                    raise
                return
            # A repair says 0 or False when nothing was missing after all (a line gap is
            # normal when the lines in it were for the other side only).
            if done is None or done:
                log.warning("notice.missed", kind=key[0])

    async def _reassigned(self, vis: Visitor, vid: str) -> bool:
        """The visitor's chat was assigned to ``vid`` and the notice never came."""
        if self.live.visitors.get(vis.id) is not vis or vis.state != "queued":
            return False
        await self.live.notices.dispatch({"k": "assigned", "chat": vis.id, "to": "visitor",
                                          "name": await self.live.vol_name(vid)})
        return True

    async def _console_ended(self, con: Console, chat_id: str, by: str | None) -> bool:
        """The console's chat ended (or went to another volunteer) and the notice never came."""
        if con.feeds.get(chat_id) is None or self.live.consoles.get(con.profile.id) is not con:
            return False
        await self.live.notices.dispatch({"k": "ended", "chat": chat_id, "to": "volunteer",
                                          "vid": con.profile.id, "by": by})
        return True

    async def state_lost(self, epoch: str | None) -> None:
        """The broker lost its state (Redis restarted empty): the live chats are gone.

        Both sides are told plainly (``error chat_lost``, then ``ended``); each
        visitor here gets a record with what this node knew; consoles stay
        connected and are registered again, so new chats reach them. The new epoch is
        kept only once all that is done: if Redis fails meanwhile, the next look at the
        epoch (a tick, a resync) runs this again (visitors already told are not told or
        recorded twice; consoles are registered again).
        """
        live = self.live
        log.error("broker.state_lost", visitors=len(live.visitors), consoles=len(live.consoles))
        now = live.clock()
        for vis in list(live.visitors.values()):
            vis.outbox.send(codes.CHAT_LOST.frame())
            vis.outbox.send({"type": "ended", "by": "timeout"})
            vis.outbox.close(1000)
            if vis.state == "ended":
                continue
            vis.state = "ended"
            st = S.ChatState(id=vis.id, state="ended", lang=vis.lang, channel=vis.channel,
                             started=vis.started, outcome="dropped", ended_at=now, ended_by="timeout")
            self.records.record(st, None)
        for con in list(live.consoles.values()):
            for chat_id in sorted(set(con.feeds) | con.wrapups):
                con.outbox.send(codes.CHAT_LOST.frame())
                con.outbox.send({"type": "ended", "chat": chat_id, "by": "timeout", "wrapup_due": False})
            con.feeds.clear()
            con.wrapups.clear()
            vid = con.profile.id

            async def fn(tx: Tx, con: Console = con, vid: str = vid) -> None:
                vol = S.VolState(id=vid, node=live.node, conn=con.outbox.conn, wants=False,
                                 capacity=max(1, con.profile.capacity), langs=con.profile.languages,
                                 idle_since=now, name=con.profile.display_name, skills=con.skills)
                tx.hset(S.vol_key(vid), vol.dump())
                tx.expire(S.vol_key(vid), live.log_ttl)
                tx.sadd(S.VOLS, vid)
                tx.sadd(S.nvol_key(live.node), vid)

            await live.broker.transact(fn)
            con.outbox.send({"type": "status", "state": "paused"})
        self.epoch = epoch
