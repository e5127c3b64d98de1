"""Named report periods and the same period a year earlier (pure).

``2022H1``/``2022H2`` half years (the steering group), ``2023T1``–``2023T3``
tertials of four months (Nacka), ``2024Q1``–``Q4`` quarters, ``2024-05`` a month,
``2024`` a year (the social committee).
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from chat.kernel import error_codes

from .exceptions import StatsQueryError

PRESET_RE = re.compile(r"^(\d{4})(?:(H[12])|(T[123])|(Q[1-4])|-(0[1-9]|1[0-2]))?$")
MAX_DAYS = 3 * 366 + 1      # a report spans at most three years


def _month_span(year: int, first: int, months: int) -> tuple[date, date]:
    last = first + months - 1
    return date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1])


def resolve(preset: str) -> tuple[date, date]:
    """The first and last day of a preset; StatsQueryError if it is not one."""
    m = PRESET_RE.match(preset.strip())
    if not m:
        raise StatsQueryError(f"unknown preset {preset!r}: use e.g. 2022H1, 2023T2, 2024Q3, 2024-05 or 2024",
                              code=error_codes.INVALID_PERIOD)
    year = int(m.group(1))
    if not 1900 < year < 3000:
        raise StatsQueryError("the preset's year is out of range", code=error_codes.INVALID_PERIOD)
    if m.group(2):
        return _month_span(year, 1 if m.group(2) == "H1" else 7, 6)
    if m.group(3):
        return _month_span(year, 1 + 4 * (int(m.group(3)[1]) - 1), 4)
    if m.group(4):
        return _month_span(year, 1 + 3 * (int(m.group(4)[1]) - 1), 3)
    if m.group(5):
        return _month_span(year, int(m.group(5)), 1)
    return date(year, 1, 1), date(year, 12, 31)


def year_earlier(day: date) -> date:
    """The same day a year earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def period(start: str | None, end: str | None, preset: str | None) -> tuple[date, date]:
    """A report period from ``from``/``to`` or a preset (exactly one of the two ways)."""
    if preset:
        if start or end:
            raise StatsQueryError("give either a preset or from/to, not both", code=error_codes.INVALID_PERIOD)
        return resolve(preset)
    if not start or not end:
        raise StatsQueryError("give from and to (YYYY-MM-DD) or a preset such as 2022H1",
                              code=error_codes.INVALID_PERIOD)
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise StatsQueryError("from and to must be dates YYYY-MM-DD", code=error_codes.INVALID_PERIOD) from None
    if last < first:
        raise StatsQueryError("to is before from", code=error_codes.INVALID_PERIOD)
    if (last - first).days > MAX_DAYS:
        raise StatsQueryError("a report spans at most three years", code=error_codes.INVALID_PERIOD)
    return first, last


def parse_day(value: object, key: str) -> date:
    """A YYYY-MM-DD string as a date; ValueError naming ``key`` otherwise (imports, partnerships)."""
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{key} must be a date YYYY-MM-DD, not {value[:20]!r}") from None


def as_date(value: object) -> date:
    """A day as the database returns it: a date (PostgreSQL) or its ISO text (SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
