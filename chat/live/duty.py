"""On-duty time: once a minute, one node counts who is on duty, for the whole cluster.

Who is on duty is read from the broker's volunteer hashes (``jc:vol:*``), which
exist once per account whatever node or socket it is on, so a volunteer with
consoles on two nodes (the newer replaces the older) or whose console moved
counts once. A volunteer is on duty while their console is connected to a node
that still beats, or dropped less than ``JOURCHATT_VOLUNTEER_GRACE_S`` ago, and
they are available, hold a chat or owe a wrap-up; in a chat while they hold one.

The minute is claimed in a broker transaction on ``DUTY_KEY`` (the last minute
counted, watched): every node tries on every housekeeping tick, exactly one wins
each minute, and a minute nobody claimed (the whole cluster down) counts for no one.
The winner adds the minute to ``volunteer.duty`` (account and local day only). A
database that is away keeps the minutes here, up to ``MAX_PENDING_MINUTES``, and
they are written when it is back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from volunteer import duty as duty_store

from .. import state as S
from ..kernel.broker import Tx
from ..kernel.logs import get_logger
from .context import NODE_TIMEOUT_S, Live, vol_chats, wrapup_chats

log = get_logger(__name__)

DUTY_KEY = "jc:duty:minute"
# The claim outlives a day without ticks; after that any minute may be claimed again.
DUTY_KEY_TTL_S = 86400.0
# Minutes kept in memory while the database is away (two hours of a whole evening's roster).
MAX_PENDING_MINUTES = 120


@dataclass(frozen=True, slots=True)
class Minute:
    day: date
    on_duty: tuple[tuple[str, bool], ...]      # (account id, in a chat)


def on_duty(raw: dict[str, str], vid: str, beats: dict[str, float], now: float, grace: float) -> tuple[bool, bool]:
    """(on duty, in a chat) for one volunteer hash at ``now``; pure."""
    vol = S.VolState.load(vid, raw)
    if vol is None:
        return False, False
    if vol.node:
        beat = beats.get(vol.node)
        present = beat is not None and beat >= now - NODE_TIMEOUT_S
    else:
        present = vol.gone is not None and now - vol.gone < grace
    if not present:
        return False, False
    chatting = bool(vol_chats(raw))
    return (vol.wants or chatting or bool(wrapup_chats(raw))), chatting


class Duty:
    """The cluster's minute counter, one per node (any node may win a minute)."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.tz = ZoneInfo(live.settings.timezone)
        self.last = -1                      # the last minute this node saw claimed
        self.pending: list[Minute] = []
        # A node's housekeeping and a test's own tick may overlap: one at a time, or a
        # pending minute could be written twice.
        self.lock = asyncio.Lock()

    async def tick(self, now: float) -> Minute | None:
        """Claim and count the minute of ``now`` unless some node already did; the minute counted."""
        minute = int(now // 60)
        counted: Minute | None = None
        async with self.lock:
            if minute > self.last:
                counted = await self._claim(minute, now)
                self.last = minute
                if counted is not None:
                    self.pending.append(counted)
                    del self.pending[:-MAX_PENDING_MINUTES]
            await self._flush()
        return counted

    async def _claim(self, minute: int, now: float) -> Minute | None:
        grace = self.live.settings.volunteer_grace_s

        async def fn(tx: Tx) -> list[tuple[str, bool]] | None:
            last = await tx.get(DUTY_KEY)
            if last is not None and int(last) >= minute:
                return None
            tx.set(DUTY_KEY, str(minute), ex=DUTY_KEY_TTL_S)
            vids = sorted(await tx.smembers(S.VOLS, watch=False))
            raws = await tx.hgetall_many([S.vol_key(v) for v in vids], watch=False) if vids else []
            beats = dict(await tx.zrange(S.NODES, watch=False))
            out = []
            for vid, raw in zip(vids, raws):
                duty, chatting = on_duty(raw, vid, beats, now, grace)
                if duty:
                    out.append((vid, chatting))
            return out

        found = await self.live.broker.transact(fn)
        if found is None:
            return None
        day = datetime.fromtimestamp(minute * 60, timezone.utc).astimezone(self.tz).date()
        return Minute(day, tuple(found))

    async def _flush(self) -> None:
        while self.pending:
            item = self.pending[0]
            try:
                await duty_store.add_minutes(self.live.sessions, item.day, item.on_duty)
            except Exception as exc:        # the database away: keep the minute, try next tick
                log.warning("duty.unwritten", pending=len(self.pending), error=type(exc).__name__)
                return
            self.pending.pop(0)
