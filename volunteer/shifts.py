"""Shifts: the evenings a volunteer has booked, and the rules a booking must keep.

A shift is an account and a span of time (stored in UTC, shown in the service's
time zone). A volunteer books and cancels their own; a supervisor or a coordinator
may book and cancel for anyone (``shifts_api`` writes those to the audit log).
A shift names no chat and nothing a young person said: it is a work roster.

``validate`` is pure (the clock passed in) so every rule is tested without a
database: an end after the start, not in the past, at most ``HORIZON_DAYS`` ahead,
at most ``MAX_SHIFT_H`` long; overlaps with the same account's shifts are checked
by ``book`` inside its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, ForeignKey, Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from chat.kernel.db import Base

from .exceptions import ShiftError
from .models import Account

# A booking more than a year ahead is a typing mistake, not a plan.
HORIZON_DAYS = 366
# The longest shift: an evening and a night; a longer span is a mistake (a wrong date).
MAX_SHIFT_H = 16
# A query spans at most this many days (a roster of a year is the most anyone reads).
MAX_QUERY_DAYS = 400
# A shift that began this long ago is "in the past" (a clock a little behind is no reason to refuse).
PAST_SLACK = timedelta(minutes=5)


class Shift(Base):
    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class Booked:
    """A shift as read: its volunteer's display name beside the account id."""

    id: int
    account_id: str
    volunteer: str
    start: datetime
    end: datetime

    def to_json(self, tz: ZoneInfo) -> dict[str, Any]:
        return {"id": self.id, "start": self.start.astimezone(tz).isoformat(),
                "end": self.end.astimezone(tz).isoformat(), "volunteer": self.volunteer}


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for timestamps it stored as UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def parse_instant(value: Any, field: str) -> datetime:
    """An ISO 8601 instant with its offset (``2026-12-08T19:00:00+01:00``)."""
    if not isinstance(value, str) or len(value) > 40:
        raise ShiftError(field, "must be an ISO 8601 time with an offset, such as 2026-12-08T19:00:00+01:00")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ShiftError(field, "must be an ISO 8601 time with an offset, such as 2026-12-08T19:00:00+01:00") from None
    if at.tzinfo is None:
        raise ShiftError(field, "needs its offset from UTC (such as +01:00 or Z)")
    return at.astimezone(timezone.utc)


def validate(start: datetime, end: datetime, now: datetime) -> None:
    """The rules of one shift by itself; ShiftError names the field that breaks one."""
    if end <= start:
        raise ShiftError("end", "must be after start")
    if start < now - PAST_SLACK:
        raise ShiftError("start", "is in the past")
    if start > now + timedelta(days=HORIZON_DAYS):
        raise ShiftError("start", f"is more than a year ahead (at most {HORIZON_DAYS} days)")
    if end - start > timedelta(hours=MAX_SHIFT_H):
        raise ShiftError("end", f"a shift is at most {MAX_SHIFT_H} hours long")


def parse_day(value: str | None, field: str) -> date:
    if not value:
        raise ShiftError(field, "is required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ShiftError(field, "must be a date, YYYY-MM-DD") from None


def day_span(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """From the start of ``first`` to the end of ``last``, local days, as UTC instants."""
    if last < first:
        raise ShiftError("to", "must not be before from")
    if (last - first).days > MAX_QUERY_DAYS:
        raise ShiftError("to", f"a query spans at most {MAX_QUERY_DAYS} days")
    lo = datetime.combine(first, time(0), tz).astimezone(timezone.utc)
    hi = datetime.combine(last + timedelta(days=1), time(0), tz).astimezone(timezone.utc)
    return lo, hi


async def book(sessions: async_sessionmaker[AsyncSession], account_id: str, start: datetime,
               end: datetime) -> Booked:
    """Store a shift (already ``validate``d); ShiftError("start") if it overlaps one of the account's own."""
    async with sessions() as session, session.begin():
        account = await session.get(Account, account_id)
        if account is None:
            raise ShiftError("account", "no such account")
        clash = await session.scalar(select(Shift.id).where(
            Shift.account_id == account_id, Shift.starts_at < end, Shift.ends_at > start).limit(1))
        if clash is not None:
            raise ShiftError("start", f"overlaps shift {clash} of the same volunteer")
        row = Shift(account_id=account_id, starts_at=start, ends_at=end)
        session.add(row)
        await session.flush()
        return Booked(row.id, account_id, account.display_name, start, end)


async def between(sessions: async_sessionmaker[AsyncSession], lo: datetime, hi: datetime, *,
                  account_id: str | None = None) -> list[Booked]:
    """Shifts overlapping [lo, hi), earliest first."""
    q = (select(Shift, Account.display_name).join(Account, Account.id == Shift.account_id)
         .where(Shift.starts_at < hi, Shift.ends_at > lo).order_by(Shift.starts_at, Shift.id))
    if account_id is not None:
        q = q.where(Shift.account_id == account_id)
    async with sessions() as session:
        rows = (await session.execute(q)).all()
    return [Booked(s.id, s.account_id, name, utc(s.starts_at), utc(s.ends_at)) for s, name in rows]


async def get(sessions: async_sessionmaker[AsyncSession], shift_id: int) -> Booked | None:
    async with sessions() as session:
        row = (await session.execute(select(Shift, Account.display_name).join(
            Account, Account.id == Shift.account_id).where(Shift.id == shift_id))).first()
    if row is None:
        return None
    s, name = row
    return Booked(s.id, s.account_id, name, utc(s.starts_at), utc(s.ends_at))


async def cancel(sessions: async_sessionmaker[AsyncSession], shift_id: int) -> bool:
    async with sessions() as session, session.begin():
        done = await session.execute(delete(Shift).where(Shift.id == shift_id))
    return bool(getattr(done, "rowcount", 0))


async def next_starting(sessions: async_sessionmaker[AsyncSession], account_id: str,
                        now: datetime) -> Booked | None:
    """The account's next shift that begins after ``now``, if any is booked within the horizon."""
    found = await between(sessions, now, now + timedelta(days=HORIZON_DAYS), account_id=account_id)
    return next((b for b in found if b.start > now), None)


async def display_name(sessions: async_sessionmaker[AsyncSession], account_id: str) -> str | None:
    async with sessions() as session:
        account = await session.get(Account, account_id)
    return account.display_name if account is not None else None
