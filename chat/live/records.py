"""Records: the de-identified trace a chat leaves, built when it is over, written by one task.

The queue is bounded (``RECORD_QUEUE``). Overflow policy: the record waits in a task
of its own for room (memory grows, nothing is dropped) and a warning is logged. A
record the database refused is retried, with a growing pause, for as long as the
process runs: a database restart loses no record.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timezone
from collections.abc import Mapping
from typing import Any

from .. import state as S
from ..kernel.logs import get_logger
from referral.record import ChatFacts, build_record, write_record
from .context import Live

log = get_logger(__name__)

# Records waiting for the database.
RECORD_QUEUE = 10000
# A record the database refused is retried after 0.5 s, 1 s, 2 s ... up to this pause.
RECORD_RETRY_MAX_S = 30.0


class Records:
    def __init__(self, live: Live) -> None:
        self.live = live
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(RECORD_QUEUE)
        self.waiting_puts: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.written = self.failed = 0      # records written, failed write attempts (GET /metrics)

    def record(self, st: S.ChatState, wrapup: Mapping[str, Any] | None) -> None:
        """Queue the record of chat ``st`` (over), with the volunteer's wrap-up if any.

        A practice chat (``chat.practice``) leaves no record: it is not a chat of the service."""
        if st.practice:
            log.info("practice.over", chat=st.id)
            return
        live = self.live
        end = st.ended_at if st.ended_at is not None else live.clock()
        waited = st.waited if st.waited is not None else end - st.started
        duration = end - st.started - st.waited if st.waited is not None else 0.0
        try:
            intake = live.intake(st)
        except Exception:
            intake = {}
        facts = ChatFacts(
            started_at=datetime.fromtimestamp(st.started, timezone.utc), channel=st.channel,
            lang=st.lang, outcome=st.outcome or "dropped", ended_by=st.ended_by or None,
            wait_s=max(0.0, waited), duration_s=max(0.0, duration), intake=intake,
            volunteer_id=st.last_vol or None, escalations_help=st.esc_help,
            escalations_acute=st.esc_acute, debrief=st.debrief, record_id=st.rid or None,
            specialist={"1": True, "0": False}.get(st.spec),
        )
        row = build_record(facts, wrapup, tz=live.settings.timezone, secret=live.settings.secret)
        try:
            row["referrals"] = live.referrals(st)["given"]
        except Exception:
            log.exception("records.referrals_unreadable", chat=st.id)
        try:
            self.queue.put_nowait(row)
        except asyncio.QueueFull:
            log.warning("records.queue_full", chat=st.id)
            task = asyncio.get_running_loop().create_task(self.queue.put(row))
            self.waiting_puts.add(task)
            task.add_done_callback(self.waiting_puts.discard)

    async def writer(self) -> None:
        """Write the queued records, one at a time, until the hub stops."""
        while not self.stopping:
            row = await self.queue.get()
            try:
                pause = 0.5
                for attempt in itertools.count(1):
                    try:
                        await write_record(self.live.sessions, row)
                        self.written += 1
                        break
                    except Exception:
                        self.failed += 1
                        log.exception("records.write_failed", count=attempt)
                        await asyncio.sleep(pause)
                        pause = min(pause * 2, RECORD_RETRY_MAX_S)
            finally:
                self.queue.task_done()
