"""Volunteer time: the foundation's own contribution, as the IOP budget counts it.

Over a period (local days, both ends included): minutes on duty and in chats from
``volunteer_duty`` (``volunteer.duty``; counted once a minute by ``chat.live.duty``),
how many volunteers were on duty at all, and the hours booked in shifts that begin
in the period (``volunteer.shifts``). With ``JOURCHATT_VOLUNTEER_HOUR_VALUE`` set,
the on-duty hours' value in kronor, as the budget states it ("Volontärtimmar").

This is about the volunteers, not about any young person: nothing here is
suppressed for publication, and nothing can be laid beside a chat record (days,
not times; no chat ids). Hours per volunteer (``per_volunteer``) are for the
coordinator's eyes only (certificates, thanking people): ``api`` adds them for
that role, never to a published or exported report.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from volunteer.duty import DutyDay
from volunteer.models import Account
from volunteer.shifts import Shift, utc

KEYS = ("on_duty_s", "in_chat_s", "volunteers_on_duty", "booked_s", "shifts", "on_duty_hours",
        "in_chat_hours", "booked_hours", "worked_of_booked", "hour_value_sek", "value_sek")


def _span(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    lo = datetime.combine(start, time(0), tz).astimezone(timezone.utc)
    hi = datetime.combine(end + timedelta(days=1), time(0), tz).astimezone(timezone.utc)
    return lo, hi


def _hours(seconds: int) -> float:
    return round(seconds / 3600, 1)


async def figures(conn: AsyncConnection, start: date, end: date, *, tz: ZoneInfo,
                  hour_value: float | None) -> dict[str, Any]:
    """The ``volunteer_time`` block of a report for the days ``start``..``end``."""
    duty = (await conn.execute(
        select(func.coalesce(func.sum(DutyDay.on_duty_min), 0), func.coalesce(func.sum(DutyDay.in_chat_min), 0),
               func.count(func.distinct(DutyDay.account_id)))
        .where(DutyDay.day >= start, DutyDay.day <= end, DutyDay.on_duty_min > 0))).one()
    lo, hi = _span(start, end, tz)
    spans = (await conn.execute(select(Shift.starts_at, Shift.ends_at)
                                .where(Shift.starts_at >= lo, Shift.starts_at < hi))).all()
    booked = sum(int((utc(e) - utc(s)).total_seconds()) for s, e in spans)
    on_duty, in_chat = int(duty[0]) * 60, int(duty[1]) * 60
    return {
        "on_duty_s": on_duty,
        "in_chat_s": in_chat,
        "volunteers_on_duty": int(duty[2]),
        "booked_s": booked,
        "shifts": len(spans),
        "on_duty_hours": _hours(on_duty),
        "in_chat_hours": _hours(in_chat),
        "booked_hours": _hours(booked),
        "worked_of_booked": round(on_duty / booked, 3) if booked else None,
        "hour_value_sek": hour_value,
        "value_sek": round(on_duty / 3600 * hour_value) if hour_value is not None else None,
    }


async def per_volunteer(conn: AsyncConnection, start: date, end: date, *, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Each volunteer's hours in the period, by display name (coordinators only), most hours first."""
    rows = (await conn.execute(
        select(Account.id, Account.display_name, func.sum(DutyDay.on_duty_min), func.sum(DutyDay.in_chat_min))
        .join(Account, Account.id == DutyDay.account_id)
        .where(DutyDay.day >= start, DutyDay.day <= end).group_by(Account.id, Account.display_name))).all()
    lo, hi = _span(start, end, tz)
    booked: dict[str, int] = {}
    for account, s, e in (await conn.execute(select(Shift.account_id, Shift.starts_at, Shift.ends_at)
                                             .where(Shift.starts_at >= lo, Shift.starts_at < hi))).all():
        booked[account] = booked.get(account, 0) + int((utc(e) - utc(s)).total_seconds())
    names = {a: n for a, n, _o, _c in rows}
    if set(booked) - set(names):
        found = await conn.execute(select(Account.id, Account.display_name)
                                   .where(Account.id.in_(sorted(set(booked) - set(names)))))
        names.update({a: n for a, n in found.all()})
    duty = {a: (int(o or 0) * 60, int(c or 0) * 60) for a, _n, o, c in rows}
    out = [{"volunteer": names[a], "on_duty_s": duty.get(a, (0, 0))[0], "in_chat_s": duty.get(a, (0, 0))[1],
            "booked_s": booked.get(a, 0), "on_duty_hours": _hours(duty.get(a, (0, 0))[0])}
           for a in names]
    return sorted(out, key=lambda v: (-v["on_duty_s"], -v["booked_s"], v["volunteer"]))
