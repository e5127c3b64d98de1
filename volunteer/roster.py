"""The roster: each day's opening hours beside the booked shifts, uncovered hours marked.

Pure (no database, no clock): ``shifts_api`` reads the shifts and the schedule and
hands them here. No schedule means always open, so every hour of the day is to be
covered. Times are shown in the service's time zone, ``HH:MM``; an interval that
runs past midnight belongs to the day it begins on.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import hours
from .shifts import Booked

Span = tuple[datetime, datetime]


def _hhmm(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%H:%M")


def _until(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """The end of a span as read on its first day: midnight after it is ``24:00`` (a whole
    day reads 00:00-24:00, not 00:00-00:00)."""
    local = end.astimezone(tz)
    if local.time() == time(0) and local.date() > start.astimezone(tz).date():
        return "24:00"
    return _hhmm(end, tz)


def _interval(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    return f"{_hhmm(start, tz)}-{_until(start, end, tz)}"


def _open(schedule: hours.Schedule | None, day: date, tz: ZoneInfo) -> list[Span]:
    if schedule is None:
        return [(datetime.combine(day, time(0), tz), datetime.combine(day + timedelta(days=1), time(0), tz))]
    return hours.spans(schedule, day, tz)


def uncovered(open_spans: list[Span], booked: list[Span]) -> list[Span]:
    """The parts of ``open_spans`` that no span of ``booked`` covers."""
    out: list[Span] = []
    for start, end in open_spans:
        cursor = start
        for b_start, b_end in sorted(booked):
            if b_end <= cursor or b_start >= end:
                continue
            if b_start > cursor:
                out.append((cursor, b_start))
            cursor = max(cursor, b_end)
            if cursor >= end:
                break
        if cursor < end:
            out.append((cursor, end))
    return out


def days(schedule: hours.Schedule | None, found: list[Booked], lo: datetime, hi: datetime,
         tz: ZoneInfo) -> list[dict[str, Any]]:
    """One entry per local day in [lo, hi): its opening hours, shifts and uncovered hours."""
    out = []
    day, last = lo.astimezone(tz).date(), (hi - timedelta(seconds=1)).astimezone(tz).date()
    while day <= last:
        opened = _open(schedule, day, tz)
        begin = datetime.combine(day, time(0), tz)
        finish = max([begin + timedelta(days=1)] + [e for _s, e in opened])
        mine = [b for b in found if b.start < finish and b.end > begin]
        gaps = uncovered(opened, [(b.start, b.end) for b in mine])
        out.append({
            "date": day.isoformat(),
            "open": [_interval(s, e, tz) for s, e in opened],
            "shifts": [{**b.to_json(tz), "from": _hhmm(b.start, tz), "until": _until(b.start, b.end, tz)} for b in mine],
            "uncovered": [_interval(s, e, tz) for s, e in gaps],
            "uncovered_min": sum(int((e - s).total_seconds()) // 60 for s, e in gaps),
        })
        day += timedelta(days=1)
    return out
