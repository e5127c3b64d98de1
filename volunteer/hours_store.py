"""Opening hours in the database: one row holding the validated schedule.

No row means no schedule, and no schedule means always open (the default, so a
fresh server takes chats at any hour). ``HoursSource`` is what the hub asks on
every new chat, without an await: a database read there would let a later
visitor overtake an earlier one in the queue.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import DateTime, Integer, Text, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from chat.kernel.db import Base
from chat.kernel.logs import get_logger

from .hours import Schedule, parse

log = get_logger("volunteer.hours")

# Other nodes see a changed schedule within this many seconds.
HOURS_CACHE_S = 5.0
ROW_ID = 1


class OpeningHours(Base):
    """The schedule's JSON (``volunteer.hours`` format); a single row, id 1."""

    __tablename__ = "opening_hours"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


async def load(sessions: async_sessionmaker[AsyncSession]) -> Schedule | None:
    async with sessions() as session:
        row = await session.scalar(select(OpeningHours).where(OpeningHours.id == ROW_ID))
    return parse(json.loads(row.schedule)) if row is not None else None


async def save(sessions: async_sessionmaker[AsyncSession], schedule: Schedule | None) -> None:
    """Store ``schedule``; ``None`` removes it (always open)."""
    async with sessions() as session, session.begin():
        await session.execute(delete(OpeningHours))
        if schedule is not None:
            session.add(OpeningHours(id=ROW_ID, schedule=json.dumps(schedule.to_json(), ensure_ascii=False),
                                     updated_at=datetime.now(timezone.utc)))


class HoursSource:
    """The current schedule, held in memory so a new chat never waits for the database.

    The hub refreshes it every ``HOURS_CACHE_S``; the node that stores a change sets
    it at once. A failed read keeps the last schedule known (at start: none, so
    always open): a database hiccup must not turn a young person away.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession] | None) -> None:
        self.sessions = sessions
        self.current: Schedule | None = None

    async def refresh(self) -> None:
        if self.sessions is None:
            return
        try:
            self.current = await load(self.sessions)
        except Exception as exc:
            log.warning("hours.unreadable", error=type(exc).__name__)

    def set(self, schedule: Schedule | None) -> None:
        self.current = schedule
