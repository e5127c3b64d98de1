"""The roster's days as a person reads them: a span that ends at the next midnight ends at 24:00."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from volunteer import roster
from volunteer.shifts import Booked

TZ = ZoneInfo("Europe/Stockholm")


def test_no_schedule_is_open_the_whole_day_and_reads_so() -> None:
    lo, hi = datetime(2026, 12, 3, tzinfo=TZ), datetime(2026, 12, 4, tzinfo=TZ)
    evening = Booked(1, "a", "Sara", datetime(2026, 12, 3, 19, tzinfo=TZ), datetime(2026, 12, 4, tzinfo=TZ))
    [day] = roster.days(None, [evening], lo, hi, TZ)
    assert day["open"] == ["00:00-24:00"]
    assert (day["shifts"][0]["from"], day["shifts"][0]["until"]) == ("19:00", "24:00")
    assert day["uncovered"] == ["00:00-19:00"] and day["uncovered_min"] == 19 * 60


def test_a_day_with_nobody_booked_is_uncovered_until_midnight() -> None:
    lo, hi = datetime(2026, 12, 3, tzinfo=TZ), datetime(2026, 12, 4, tzinfo=TZ)
    [day] = roster.days(None, [], lo, hi, TZ)
    assert day["uncovered"] == ["00:00-24:00"] and day["uncovered_min"] == 24 * 60


def test_a_shift_ending_before_midnight_keeps_its_own_time() -> None:
    lo, hi = datetime(2026, 12, 3, tzinfo=TZ), datetime(2026, 12, 4, tzinfo=TZ)
    shift = Booked(1, "a", "Sara", datetime(2026, 12, 3, 19, tzinfo=TZ), datetime(2026, 12, 3, 22, tzinfo=TZ))
    [day] = roster.days(None, [shift], lo, hi, TZ)
    assert day["shifts"][0]["until"] == "22:00"
    assert day["uncovered"] == ["00:00-19:00", "22:00-24:00"]
