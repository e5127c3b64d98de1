"""The four tables a partnership is stored in, and reading them back as ``Partnership``s.

``read_all`` works on a connection, so the roll-up can read the target groups
inside the transaction that rebuilds them; ``partnership_store`` wraps it for
callers holding a session maker, and writes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, SmallInteger, String, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from chat.kernel.db import Base

from .partnerships import Partnership, Party


class PartnershipRow(Base):
    __tablename__ = "partnerships"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    first_term_ends_on: Mapped[date] = mapped_column(Date)
    renew_until: Mapped[date | None] = mapped_column(Date)
    notice_by: Mapped[str | None] = mapped_column(String(5))
    notice_given_on: Mapped[date | None] = mapped_column(Date)
    age_min: Mapped[int | None] = mapped_column(SmallInteger)
    age_max: Mapped[int | None] = mapped_column(SmallInteger)
    municipalities: Mapped[str] = mapped_column(String(200), default="")
    reporting: Mapped[str] = mapped_column(String(40), default="")


class PartyRow(Base):
    __tablename__ = "partnership_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partnership_id: Mapped[str] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str] = mapped_column(String(11))
    sector: Mapped[str] = mapped_column(String(10))


class ChannelRow(Base):
    __tablename__ = "partnership_channels"

    partnership_id: Mapped[str] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"),
                                                primary_key=True)
    channel: Mapped[str] = mapped_column(String(40), primary_key=True)


class GoalRow(Base):
    __tablename__ = "partnership_goals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partnership_id: Mapped[str] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(String(500))


def to_partnership(row: Any, parties: list[Any], channels: list[Any], goals: list[Any]) -> Partnership:
    """A partnership from its row and its rows in the three other tables (ORM objects or result rows)."""
    return Partnership(
        id=row.id, name=row.name, starts_on=row.starts_on, first_term_ends_on=row.first_term_ends_on,
        renew_until=row.renew_until, notice_by=row.notice_by, notice_given_on=row.notice_given_on,
        age_min=row.age_min, age_max=row.age_max,
        municipalities=tuple(m for m in row.municipalities.split(",") if m),
        channels=tuple(sorted(c.channel for c in channels)),
        parties=tuple(Party(x.name, x.org_number, x.sector) for x in sorted(parties, key=lambda x: x.id)),
        goals=tuple(g.text for g in sorted(goals, key=lambda g: g.position)),
        reporting=tuple(r for r in row.reporting.split(",") if r),
    )


async def read_all(conn: AsyncConnection) -> list[Partnership]:
    """Every stored partnership, by id."""
    rows = (await conn.execute(select(PartnershipRow.__table__).order_by(PartnershipRow.id))).all()
    parties = (await conn.execute(select(PartyRow.__table__))).all()
    channels = (await conn.execute(select(ChannelRow.__table__))).all()
    goals = (await conn.execute(select(GoalRow.__table__))).all()
    return [to_partnership(r, [x for x in parties if x.partnership_id == r.id],
                           [x for x in channels if x.partnership_id == r.id],
                           [x for x in goals if x.partnership_id == r.id]) for r in rows]
