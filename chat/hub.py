"""The hub: the live chat of one node, as the endpoints, the app and the tests see it.

One hub runs in each node (process). The endpoints (``chat.endpoints``) turn
sockets into calls on the hub and give it an ``Outbox`` per socket; the hub
never touches a socket. Everything another node may need (the queue, who is
present, who holds which chat, the sealed replay logs, timers) lives in the
broker (``chat.state`` lists the keys) and changes only in broker
transactions; the hub itself keeps nothing but its own sockets. Any node can
therefore serve any visitor or volunteer, and a node that dies loses no chat.

The work is done by the parts in ``chat.live`` (one noun each, around the shared
``Live`` context) and by supervision's (``chat.supervision``, ``chat.overview``,
``chat.handover``, ``chat.offers``, ``chat.care``, ``chat.alerts``, ``chat.blocks``,
``chat.followup_frames``) and training's (``chat.shadowing``, ``chat.practice``); this
module builds them, wires their seams (the notice table, the console's supervision
and training frames, the referral port, the queue-changed callback) in one place, and runs the node's lifecycle: start, the
background tasks, drain, stop. docs/architecture.md draws the whole.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from volunteer.hours_store import HOURS_CACHE_S, HoursSource

from . import state as S
from .alerts import Alerts
from .specialists import Specialists
from .blocks import Blocks
from .care import Care
from .kernel.broker import Broker, BrokerError, Tx
from .followup_frames import FollowUps
from .handover import Handover
from .live.consoles import Consoles, SupervisionFrames, TrainingFrames
from .live.context import INTAKE_SEQ, NODE_TIMEOUT_S, Live
from .live.delivery import Delivery
from .live.ending import Ending
from .live.lines import Lines
from .live.matching import Matching
from .live.reconcile import Reconcile
from .live.records import Records
from .live.referring import Referring
from .live.sessions import Console, Feed, Visitor
from .live.timers import Timers
from .live.visitors import Visitors
from .kernel.logs import get_logger
from .outbox import OUTBOX_FRAMES, Outbox
from .offers import Offers
from .overview import Overview
from .practice import Practice
from .referral_port import StoreReferrals
from .kernel.settings import Settings
from .shadowing import Shadowing
from .supervision import Supervision
from .tasks import Tasks

# Names other modules and the tests take from here.
__all__ = ["Hub", "Console", "Feed", "Visitor", "Outbox", "OUTBOX_FRAMES", "INTAKE_SEQ", "NODE_TIMEOUT_S",
           "SocketSeams"]

log = get_logger(__name__)

# How often timers are claimed and the node beats.
HOUSEKEEPING_TICK_S = 1.0
# Bounds on stopping (Hub.stop): leaving the shared state (or ending every chat with
# memory://), waiting for the record writer, and the background tasks' cancellation.
STOP_STATE_S = 5.0
STOP_RECORDS_S = 10.0
STOP_TASKS_S = 2.0


@dataclass(frozen=True)
class SocketSeams:
    """What the endpoints call around a visitor's hello and a console's close (``hub.sup``)."""

    screen: Callable[[str | None], Awaitable[tuple[bool, dict[str, str]]]]
    remember: Callable[[str, dict[str, str]], Awaitable[None]]
    followup_owner: Callable[[str], Awaitable[str]]
    disconnected: Callable[[Console], Awaitable[None]]


class Hub:
    def __init__(self, settings: Settings, broker: Broker,
                 sessions: async_sessionmaker[AsyncSession],
                 clock: Callable[[], float] = time.time, node: str | None = None,
                 referrals: StoreReferrals | None = None) -> None:
        live = self.live = Live(settings, broker, sessions, clock, node)
        self.settings, self.broker, self.sessions, self.node = settings, broker, sessions, live.node
        self.visitors, self.consoles, self.outboxes = live.visitors, live.consoles, live.outboxes
        self.hours = HoursSource(sessions)
        # The referral port (the app fills it; a hub built bare makes its own): its
        # directory cache and code key are also the referral API's (hub.directory, hub.code_key).
        store = referrals or StoreReferrals(settings, sessions)
        self.directory, self.code_key = store.directory, store.code_key
        self._tasks = Tasks()
        self._stopping = False

        # The parts, each built once, each given the parts it calls.
        self.records = Records(live)
        self.matching = Matching(live)
        self.lines = Lines(live)
        self.delivery = Delivery(live)
        self.ending = Ending(live, self.records, self.matching)
        self.referring = Referring(live, store)
        self.overview = Overview(live)
        self.blocks = Blocks(live, ending=self.ending, overview=self.overview)
        self.followups = FollowUps(live, matching=self.matching)
        self.supervision = Supervision(live, lines=self.lines, delivery=self.delivery, ending=self.ending,
                                       overview=self.overview)
        self.handover = Handover(live, lines=self.lines, matching=self.matching, overview=self.overview,
                                 supervision=self.supervision)
        self.alerts = Alerts(live, lines=self.lines, overview=self.overview)
        self.offers = Offers(live, lines=self.lines, handover=self.handover, overview=self.overview)
        self.care = Care(live, overview=self.overview)
        self.specialists = Specialists(live, matching=self.matching, overview=self.overview,
                                       followups=self.followups)
        self.visitor_side = Visitors(live, lines=self.lines, delivery=self.delivery, matching=self.matching,
                                     ending=self.ending, records=self.records, referring=self.referring,
                                     hours_source=self.hours, returning=self.followups.returns,
                                     choosing=self.followups.on_choice)
        frames = SupervisionFrames(
            escalate=self.alerts.on_escalate, transfer=self.handover.on_transfer,
            followup=self.followups.on_followup, supervise=self.overview.on_supervise,
            observe=self.supervision.on_observe, whisper=self.supervision.on_whisper,
            join=self.supervision.on_join, takeover=self.handover.on_takeover,
            dismiss=self.alerts.on_dismiss, block=self.blocks.on_block,
            offer=self.offers.on_offer, offer_reply=self.offers.on_offer_reply,
            offer_cancel=self.offers.on_offer_cancel,
            colleagues=self.offers.on_colleagues, debrief=self.care.on_debrief,
            route_any=self.specialists.on_route_any)
        self.shadowing = Shadowing(live, supervision=self.supervision)
        self.practice = Practice(live, visitors=self.visitor_side)
        training = TrainingFrames(
            shadowable=self.shadowing.on_shadowable, shadow=self.shadowing.on_shadow,
            shadow_answer=self.shadowing.on_answer, practice_partners=self.practice.on_partners,
            practice_open=self.practice.on_open, practice_visitor=self.practice.on_visitor,
            practice_resume=self.practice.on_resume)
        self.console_side = Consoles(live, lines=self.lines, delivery=self.delivery, matching=self.matching,
                                     ending=self.ending, referring=self.referring, overseer=self.supervision,
                                     frames=frames, training=training, pending=self.offers.tx_pending)
        self.reconcile = Reconcile(live, delivery=self.delivery, matching=self.matching,
                                   consoles=self.console_side, records=self.records)
        self.timers = Timers(live, lines=self.lines, ending=self.ending, records=self.records,
                             matching=self.matching, reconcile=self.reconcile, referring=self.referring)
        self.timers.handlers["offer"] = self.offers.expire
        self.timers.handlers["fkeep"] = self.followups.check_kept

        # The endpoints' calls go straight to the part that owns them.
        self.visitor_hello = self.visitor_side.hello
        self.visitor_frame = self.visitor_side.frame
        self.visitor_disconnected = self.visitor_side.disconnected
        self.volunteer_connected = self.console_side.connected
        self.volunteer_frame = self.console_side.frame
        self.volunteer_disconnected = self.console_side.disconnected
        self.signed_out = self.console_side.signed_out
        self.skills_changed = self.specialists.skills_changed
        self.closed_services = self.referring.closed_services
        self.anyone_on_duty = self.matching.anyone_on_duty
        self.tick = self.timers.tick
        self.sup = SocketSeams(screen=self.blocks.screen, remember=self.blocks.remember,
                               followup_owner=self.followups.owner, disconnected=self._console_closing)

    @property
    def clock(self) -> Callable[[], float]:
        return self.live.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.live.clock = clock

    @property
    def draining(self) -> bool:
        return self.live.draining

    async def _console_closing(self, con: Console) -> None:
        """A console closed: it stops receiving overviews and stops observing (or shadowing);
        the young person of each practice chat it plays is away."""
        self.overview.disconnected(con)
        await self.supervision.disconnected(con)
        await self.practice.disconnected(con)

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = self.records.stopping = False
        self.reconcile.epoch = await self.broker.epoch()
        await self.timers.beat()
        await self.hours.refresh()
        self.broker.on_reconnect(self.reconcile.resync)
        self._tasks = Tasks()       # supervised: a task that dies is logged and restarted
        for name, run in (("hub.housekeeping", self._housekeeping), ("hub.records", self.records.writer),
                          ("hub.notices", self.live.notices.listen), ("hub.hours", self._hours_refresher)):
            self._tasks.start(name, run)

    def healthy(self) -> bool:
        return self._tasks.healthy()

    def tasks_alive(self) -> dict[str, bool]:
        """Each background task's name and whether it runs now (chat.tasks)."""
        return self._tasks.alive()

    async def _housekeeping(self) -> None:
        while not self._stopping:
            await asyncio.sleep(HOUSEKEEPING_TICK_S)
            try:
                await self.timers.tick()
            except BrokerError as exc:
                log.warning("housekeeping.broker_unavailable", error=str(exc))
            except Exception:
                log.exception("housekeeping.failed")

    async def _hours_refresher(self) -> None:
        """Follow schedule changes made on other nodes (refresh never raises)."""
        while True:
            await asyncio.sleep(HOURS_CACHE_S)
            await self.hours.refresh()

    async def drain(self) -> None:
        """Stop taking chats here; tell every client to reconnect (elsewhere) and let go."""
        self.live.draining = True
        for vis in list(self.visitors.values()):
            vis.outbox.send({"type": "reconnect", "after_ms": secrets.randbelow(2000)})
            vis.outbox.close(1012)
        for con in list(self.consoles.values()):
            con.outbox.send({"type": "reconnect", "after_ms": secrets.randbelow(2000)})
            con.outbox.close(1012)
        log.info("node.draining", visitors=len(self.visitors), consoles=len(self.consoles))

    async def stop(self) -> None:
        """Leave the shared state consistent, write what records are due, stop the tasks.

        With a shared broker the chats go on: this node's sockets are marked gone
        (each gets its grace period to resume on another node). With the memory
        broker the state dies with the process, so every chat ends and is recorded.
        Every step has a bound (``STOP_STATE_S``, ``STOP_RECORDS_S``, ``STOP_TASKS_S``):
        a node that cannot reach Redis or the database still stops.
        """
        self.matching.stop()
        await self.overview.stop()
        try:
            async with asyncio.timeout(STOP_STATE_S):
                if self.broker.shared:
                    for vis in list(self.visitors.values()):
                        await self.visitor_side.disconnected(vis, vis.outbox)
                    for con in list(self.consoles.values()):
                        await self.console_side.disconnected(con, con.outbox)
                    await self.broker.transact(self._tx_leave)
                else:
                    await self.ending.end_everything()
        except BrokerError as exc:
            log.error("node.stop_failed", error=str(exc))
        except TimeoutError:
            log.error("node.stop_failed", error="timeout")
        try:
            async with asyncio.timeout(STOP_RECORDS_S):
                await self.records.queue.join()
        except TimeoutError:
            log.error("records.unwritten", count=self.records.queue.qsize())
        self._stopping = self.records.stopping = True
        await self._cancel_all([*self._tasks.stop(), *self.matching.tasks, *self.records.waiting_puts])

    async def _tx_leave(self, tx: Tx) -> None:
        tx.zrem(S.NODES, self.node)

    @staticmethod
    async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
        """Cancel ``tasks`` and wait for them, at most ``STOP_TASKS_S``.

        One cancel is not always enough: on Python 3.11 ``asyncio.wait_for`` (which
        libraries still use inside their calls) loses a cancellation that arrives
        just as what it waits for finishes (CPython gh-86296), and the task runs on.
        So a task still running is cancelled again, every 50 ms, until the bound.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_TASKS_S
        pending = {t for t in tasks if not t.done()}
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=min(0.05, max(0.0, deadline - loop.time())))
            if pending and loop.time() >= deadline:
                log.error("node.stop_stuck", count=len(pending),
                          where=",".join(sorted(t.get_name() for t in pending)))
                return
