"""On-duty time: minutes per account and local day, with a console open.

A volunteer is on duty while their console is open and available, or in a chat
(``chat.live.duty`` decides, once a minute for the whole cluster). What is kept is
one row per account and day: minutes on duty, and of those minutes in a chat.
Never a chat id, never a time of day finer than the day: the rows cannot be laid
beside a chat record to say who answered whom.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from chat.kernel.db import Base


class DutyDay(Base):
    __tablename__ = "volunteer_duty"

    account_id: Mapped[str] = mapped_column(String(32), ForeignKey("accounts.id", ondelete="CASCADE"),
                                            primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    on_duty_min: Mapped[int] = mapped_column(Integer, default=0)
    in_chat_min: Mapped[int] = mapped_column(Integer, default=0)


async def add_minutes(sessions: async_sessionmaker[AsyncSession], day: date,
                      minutes: Iterable[tuple[str, bool]]) -> int:
    """Add one minute on duty for each (account, in a chat) on ``day``; the rows written."""
    items = sorted(set(minutes))
    if not items:
        return 0
    async with sessions() as session, session.begin():
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        ins = pg_insert if dialect == "postgresql" else sqlite_insert
        for chatting in (False, True):
            ids = [a for a, c in items if c == chatting]
            if not ids:
                continue
            stmt = ins(DutyDay).values([{"account_id": a, "day": day, "on_duty_min": 0, "in_chat_min": 0}
                                        for a in ids]).on_conflict_do_nothing()
            await session.execute(stmt)
            await session.execute(
                update(DutyDay).where(DutyDay.day == day, DutyDay.account_id.in_(ids))
                .values(on_duty_min=DutyDay.on_duty_min + 1,
                        in_chat_min=DutyDay.in_chat_min + (1 if chatting else 0)))
    return len(items)
