"""Opening hours: a weekly schedule plus dated exceptions, pure and synchronous.

The schedule is written in the local time of ``JOURCHATT_TIMEZONE``::

    {"weekly": {"mon": ["18:00-22:00"], "fri": ["18:00-02:00"], "sun": []},
     "exceptions": [{"date": "2026-12-24", "hours": [], "label": "Julafton"},
                    {"date": "2026-12-31", "hours": ["12:00-16:00"], "label": "Nyårsafton"}]}

Rules:

- A weekday may have zero or more intervals ``"HH:MM-HH:MM"``; a day left out is
  closed. ``24:00`` may end an interval. An interval whose end is not after its
  start (``"22:00-02:00"``) runs past midnight into the next day.
- An interval belongs to the day it **starts** on. A dated exception replaces that
  date's own intervals (``"hours": []`` closes the whole date); an interval that
  started the day before still runs to its end.
- Local times are turned into instants with the zone's rules for that date: a time
  that does not exist (spring forward, 02:30 in Stockholm) means the first instant
  after the gap; a time that occurs twice (autumn) means its first occurrence.
- Having **no schedule at all** (``None`` where a ``Schedule`` is expected) means
  always open; that is the server's default.

``is_open(schedule, now)`` and ``next_open(schedule, now)`` take an aware
datetime; ``parse`` validates a JSON document and raises ``HoursError`` naming
the place of the first problem (``weekly.mon[1]``, ``exceptions[0].date``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, NotRequired, TypedDict, cast
from zoneinfo import ZoneInfo

from .exceptions import HoursError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Bounds that keep a schedule small enough to check on every new chat.
MAX_INTERVALS_PER_DAY = 12
MAX_EXCEPTIONS = 400
MAX_LABEL = 60
# next_open looks this far ahead; a schedule closed for longer answers None.
HORIZON_DAYS = 400

_INTERVAL = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class Interval:
    """Minutes after local midnight; ``end <= start`` means it ends the next day."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"

    @property
    def length(self) -> int:
        return self.end - self.start if self.end > self.start else self.end + 1440 - self.start


@dataclass(frozen=True)
class DayException:
    day: date
    hours: tuple[Interval, ...]
    label: str | None = None


@dataclass(frozen=True)
class Schedule:
    weekly: tuple[tuple[Interval, ...], ...]          # seven entries, Monday first
    exceptions: dict[date, DayException]

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        exc = self.exceptions.get(day)
        return exc.hours if exc is not None else self.weekly[day.weekday()]

    def to_json(self) -> dict[str, Any]:
        return {
            "weekly": {name: [str(i) for i in self.weekly[n]] for n, name in enumerate(WEEKDAYS)},
            "exceptions": [
                {"date": e.day.isoformat(), "hours": [str(i) for i in e.hours],
                 **({"label": e.label} if e.label else {})}
                for e in sorted(self.exceptions.values(), key=lambda e: e.day)
            ],
        }


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_interval(text: Any, where: str) -> Interval:
    if not isinstance(text, str):
        raise HoursError(where, f"expected a string like \"18:00-22:00\", not {type(text).__name__}")
    m = _INTERVAL.match(text.strip())
    if not m:
        raise HoursError(where, f"{text!r} is not an interval like \"18:00-22:00\"")
    sh, sm, eh, em = (int(g) for g in m.groups())
    if sh > 23 or sm > 59:
        raise HoursError(where, f"{text!r}: the start is not a time between 00:00 and 23:59")
    if eh > 24 or em > 59 or (eh == 24 and em != 0):
        raise HoursError(where, f"{text!r}: the end is not a time between 00:00 and 24:00")
    start, end = sh * 60 + sm, eh * 60 + em
    if end == start:
        raise HoursError(where, f"{text!r} starts and ends at the same time; write 00:00-24:00 for a whole day")
    return Interval(start, end)


def _parse_day(value: Any, where: str) -> tuple[Interval, ...]:
    if not isinstance(value, list):
        raise HoursError(where, "expected a list of intervals like [\"18:00-22:00\"] ([] for closed)")
    if len(value) > MAX_INTERVALS_PER_DAY:
        raise HoursError(where, f"at most {MAX_INTERVALS_PER_DAY} intervals a day")
    intervals = [parse_interval(v, f"{where}[{n}]") for n, v in enumerate(value)]
    spans = sorted((i.start, i.start + i.length, n) for n, i in enumerate(intervals))
    for (s1, e1, n1), (s2, _e2, n2) in zip(spans, spans[1:]):
        if s2 < e1:
            raise HoursError(f"{where}[{max(n1, n2)}]",
                             f"{intervals[n2]} overlaps {intervals[n1]} on the same day")
    return tuple(sorted(intervals, key=lambda i: i.start))


class WeeklyDoc(TypedDict, total=False):
    mon: list[str]
    tue: list[str]
    wed: list[str]
    thu: list[str]
    fri: list[str]
    sat: list[str]
    sun: list[str]


class ExceptionDoc(TypedDict):
    date: str
    hours: list[str]
    label: NotRequired[str | None]


class ScheduleDoc(TypedDict):
    """A schedule's JSON form, as ``parse`` reads it (chat/openapi.json is checked against it)."""

    weekly: WeeklyDoc
    exceptions: NotRequired[list[ExceptionDoc] | None]
    timezone: NotRequired[Any]      # accepted and ignored


def parse(doc: Any) -> Schedule:
    """A validated schedule from its JSON form; ``HoursError`` names the first bad place."""
    if not isinstance(doc, dict):
        raise HoursError("body", "expected an object with \"weekly\" and optionally \"exceptions\"")
    unknown = sorted(set(doc) - {"weekly", "exceptions", "timezone"})
    if unknown:
        raise HoursError(unknown[0], "unknown field; expected \"weekly\" and \"exceptions\"")
    weekly_doc = cast(ScheduleDoc, doc).get("weekly")
    if not isinstance(weekly_doc, dict):
        raise HoursError("weekly", "expected an object keyed by mon, tue, wed, thu, fri, sat, sun")
    for key in weekly_doc:
        if key not in WEEKDAYS:
            raise HoursError(f"weekly.{key}", "not a weekday; use mon, tue, wed, thu, fri, sat, sun")
    weekly = tuple(_parse_day(weekly_doc.get(name, []), f"weekly.{name}") for name in WEEKDAYS)
    exc_doc = doc.get("exceptions", [])
    if exc_doc is None:
        exc_doc = []
    if not isinstance(exc_doc, list):
        raise HoursError("exceptions", "expected a list of {\"date\", \"hours\", \"label\"?}")
    if len(exc_doc) > MAX_EXCEPTIONS:
        raise HoursError("exceptions", f"at most {MAX_EXCEPTIONS} dated exceptions")
    exceptions: dict[date, DayException] = {}
    for n, item in enumerate(exc_doc):
        where = f"exceptions[{n}]"
        if not isinstance(item, dict):
            raise HoursError(where, "expected an object {\"date\", \"hours\", \"label\"?}")
        extra = sorted(set(item) - {"date", "hours", "label"})
        if extra:
            raise HoursError(f"{where}.{extra[0]}", "unknown field; expected date, hours, label")
        raw_day = item.get("date")
        try:
            if not isinstance(raw_day, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw_day):
                raise ValueError
            day = date.fromisoformat(raw_day)
        except ValueError:
            raise HoursError(f"{where}.date", f"{raw_day!r} is not a date YYYY-MM-DD") from None
        if day in exceptions:
            raise HoursError(f"{where}.date", f"{raw_day} is listed twice")
        if "hours" not in item:
            raise HoursError(f"{where}.hours", "missing; use [] to close the whole day")
        hours = _parse_day(item["hours"], f"{where}.hours")
        label = item.get("label")
        if label is not None and (not isinstance(label, str) or not 0 < len(label.strip()) <= MAX_LABEL):
            raise HoursError(f"{where}.label", f"expected a text of 1-{MAX_LABEL} characters")
        exceptions[day] = DayException(day, hours, label.strip() if label else None)
    return Schedule(weekly, exceptions)


def _instant(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """Local ``day`` + ``minutes`` as a UTC instant (gaps move forward, repeats take the first)."""
    day += timedelta(days=minutes // 1440)
    local = datetime.combine(day, time(minutes % 1440 // 60, minutes % 60), tzinfo=tz)
    # fold=0 in a gap gives the offset from before the change, which lands after the gap.
    return local.astimezone(timezone.utc)


def _spans(schedule: Schedule, day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    out = []
    for i in schedule.intervals_on(day):
        start = _instant(day, i.start, tz)
        end = _instant(day, i.start + i.length, tz)
        if end > start:
            out.append((start, end))
    return out


def spans(schedule: Schedule, day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The opening hours that begin on local ``day``, as UTC instants (the roster's rows)."""
    return _spans(schedule, day, tz)


def _check(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(timezone.utc)


def is_open(schedule: Schedule | None, now: datetime, tz: ZoneInfo) -> bool:
    """Whether new chats are taken at ``now``; no schedule means always open."""
    if schedule is None:
        return True
    utc = _check(now)
    today = utc.astimezone(tz).date()
    for day in (today - timedelta(days=1), today):
        if any(start <= utc < end for start, end in _spans(schedule, day, tz)):
            return True
    return False


def next_open(schedule: Schedule | None, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When a closed chat opens next, in ``tz``; None when open now or never within the horizon."""
    if schedule is None or is_open(schedule, now, tz):
        return None
    utc = _check(now)
    today = utc.astimezone(tz).date()
    for offset in range(-1, HORIZON_DAYS + 1):
        starts = [s for s, _e in _spans(schedule, today + timedelta(days=offset), tz) if s > utc]
        if starts:
            return min(starts).astimezone(tz)
    return None


def label_today(schedule: Schedule | None, now: datetime, tz: ZoneInfo) -> str | None:
    """The label of today's exception (``Julafton``), if any."""
    if schedule is None:
        return None
    exc = schedule.exceptions.get(_check(now).astimezone(tz).date())
    return exc.label if exc else None
