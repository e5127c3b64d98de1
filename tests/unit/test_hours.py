"""Opening hours: weekly intervals, exceptions, past midnight, daylight-saving changes."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from volunteer.exceptions import HoursError
from volunteer.hours import is_open, label_today, next_open, parse

STO = ZoneInfo("Europe/Stockholm")


def at(text: str) -> datetime:
    """A Stockholm wall-clock time (first occurrence when ambiguous)."""
    return datetime.fromisoformat(text).replace(tzinfo=STO)


EVENINGS = parse({
    "weekly": {"mon": ["18:00-22:00"], "tue": ["18:00-22:00"], "wed": ["12:00-14:00", "18:00-22:00"],
               "fri": ["20:00-02:00"], "sat": ["02:30-04:00"]},
    "exceptions": [{"date": "2026-12-24", "hours": [], "label": "Julafton"},
                   {"date": "2026-12-31", "hours": ["12:00-16:00"], "label": "Nyårsafton"}],
})


def test_no_schedule_means_always_open() -> None:
    assert is_open(None, at("2026-11-23T03:00"), STO)
    assert next_open(None, at("2026-11-23T03:00"), STO) is None


def test_open_inside_an_interval_and_closed_at_its_end() -> None:
    assert not is_open(EVENINGS, at("2026-11-23T17:59"), STO)       # Monday
    assert is_open(EVENINGS, at("2026-11-23T18:00"), STO)
    assert is_open(EVENINGS, at("2026-11-23T21:59"), STO)
    assert not is_open(EVENINGS, at("2026-11-23T22:00"), STO)


def test_next_open_is_the_next_start_in_local_time() -> None:
    nxt = next_open(EVENINGS, at("2026-11-23T22:30"), STO)
    assert nxt == at("2026-11-24T18:00") and nxt.isoformat() == "2026-11-24T18:00:00+01:00"
    assert next_open(EVENINGS, at("2026-11-25T13:00"), STO) is None         # open now
    assert next_open(EVENINGS, at("2026-11-25T15:00"), STO) == at("2026-11-25T18:00")
    # Thursday night: nothing until Friday 20:00
    assert next_open(EVENINGS, at("2026-11-26T23:00"), STO) == at("2026-11-27T20:00")


def test_an_interval_runs_past_midnight() -> None:
    assert is_open(EVENINGS, at("2026-11-27T23:30"), STO)          # Friday
    assert is_open(EVENINGS, at("2026-11-28T01:59"), STO)          # Saturday morning
    assert not is_open(EVENINGS, at("2026-11-28T02:00"), STO)


def test_whole_day_and_24_00() -> None:
    s = parse({"weekly": {"sun": ["00:00-24:00"], "mon": ["20:00-24:00"]}})
    assert is_open(s, at("2026-11-22T00:00"), STO) and is_open(s, at("2026-11-22T23:59"), STO)
    assert not is_open(s, at("2026-11-23T00:00"), STO)
    assert is_open(s, at("2026-11-23T23:59"), STO)
    assert s.to_json()["weekly"]["sun"] == ["00:00-24:00"]


def test_exception_closes_a_day_and_keeps_its_label() -> None:
    xmas = parse({"weekly": {"thu": ["18:00-22:00"]},
                  "exceptions": [{"date": "2026-12-24", "hours": [], "label": "Julafton"}]})
    assert not is_open(xmas, at("2026-12-24T19:00"), STO)                   # a Thursday
    assert next_open(xmas, at("2026-12-24T19:00"), STO) == at("2026-12-31T18:00")
    assert label_today(xmas, at("2026-12-24T19:00"), STO) == "Julafton"
    assert label_today(xmas, at("2026-12-23T19:00"), STO) is None


def test_exception_with_special_hours_replaces_the_weekday() -> None:
    assert not is_open(EVENINGS, at("2026-12-31T19:00"), STO)   # a Thursday with special hours
    assert is_open(EVENINGS, at("2026-12-31T12:30"), STO)
    assert next_open(EVENINGS, at("2026-12-31T09:00"), STO) == at("2026-12-31T12:00")


def test_spring_forward_stockholm() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST. Sunday 01:00-05:00 lasts three real hours.
    s = parse({"weekly": {"sun": ["01:00-05:00"], "sat": ["02:30-04:00"]}})
    assert is_open(s, datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc), STO)   # 01:30 CET
    assert is_open(s, datetime(2026, 3, 29, 2, 30, tzinfo=timezone.utc), STO)   # 04:30 CEST
    assert not is_open(s, datetime(2026, 3, 29, 3, 0, tzinfo=timezone.utc), STO)  # 05:00 CEST
    nxt = next_open(s, datetime(2026, 3, 28, 22, 0, tzinfo=timezone.utc), STO)
    assert nxt is not None and nxt.isoformat() == "2026-03-29T01:00:00+01:00"
    # The week after, the same interval is in summer time.
    nxt = next_open(s, datetime(2026, 3, 30, 12, 0, tzinfo=timezone.utc), STO)
    assert nxt is not None and nxt.isoformat() == "2026-04-04T02:30:00+02:00"


def test_a_start_inside_the_spring_gap_opens_right_after_it() -> None:
    s = parse({"weekly": {"sun": ["02:30-04:00"]}})
    nxt = next_open(s, datetime(2026, 3, 28, 12, 0, tzinfo=timezone.utc), STO)
    assert nxt is not None
    assert nxt.astimezone(timezone.utc) == datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)
    assert nxt.isoformat() == "2026-03-29T03:30:00+02:00"
    assert not is_open(s, datetime(2026, 3, 29, 1, 29, tzinfo=timezone.utc), STO)
    assert is_open(s, datetime(2026, 3, 29, 1, 45, tzinfo=timezone.utc), STO)


def test_fall_back_stockholm() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET; Sunday 01:00-04:00 lasts four real hours.
    s = parse({"weekly": {"sun": ["01:00-04:00"], "sat": ["22:00-02:30"]}})
    assert is_open(s, datetime(2026, 10, 24, 23, 30, tzinfo=timezone.utc), STO)  # 01:30 CEST
    assert is_open(s, datetime(2026, 10, 25, 2, 30, tzinfo=timezone.utc), STO)   # 03:30 CET
    assert not is_open(s, datetime(2026, 10, 25, 3, 0, tzinfo=timezone.utc), STO)  # 04:00 CET
    nxt = next_open(s, datetime(2026, 10, 25, 3, 0, tzinfo=timezone.utc), STO)
    assert nxt is not None and nxt.isoformat() == "2026-10-31T22:00:00+01:00"
    # Saturday 22:00 CEST to 02:30 the first time round: closes at 00:30 UTC.
    assert is_open(s, datetime(2026, 10, 25, 0, 29, tzinfo=timezone.utc), STO)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        is_open(EVENINGS, datetime(2026, 11, 23, 19, 0), STO)


def test_round_trip_through_json() -> None:
    assert parse(EVENINGS.to_json()) == EVENINGS


@pytest.mark.parametrize(("doc", "where"), [
    ([], "body"),
    ({}, "weekly"),
    ({"weekly": {"monday": []}}, "weekly.monday"),
    ({"weekly": {"mon": "18:00-22:00"}}, "weekly.mon"),
    ({"weekly": {"mon": ["18:00-22:00", "25:00-26:00"]}}, "weekly.mon[1]"),
    ({"weekly": {"mon": ["18-22"]}}, "weekly.mon[0]"),
    ({"weekly": {"mon": ["18:00-18:00"]}}, "weekly.mon[0]"),
    ({"weekly": {"mon": ["18:00-24:30"]}}, "weekly.mon[0]"),
    ({"weekly": {"mon": ["18:00-22:00", "21:00-23:00"]}}, "weekly.mon[1]"),
    ({"weekly": {"mon": [7]}}, "weekly.mon[0]"),
    ({"weekly": {}, "exceptions": {}}, "exceptions"),
    ({"weekly": {}, "exceptions": [{"date": "2026-02-30", "hours": []}]}, "exceptions[0].date"),
    ({"weekly": {}, "exceptions": [{"date": "2026-12-24"}]}, "exceptions[0].hours"),
    ({"weekly": {}, "exceptions": [{"date": "2026-12-24", "hours": []},
                                   {"date": "2026-12-24", "hours": []}]}, "exceptions[1].date"),
    ({"weekly": {}, "exceptions": [{"date": "2026-12-24", "hours": [], "label": ""}]},
     "exceptions[0].label"),
    ({"weekly": {}, "exceptions": [{"date": "2026-12-24", "hours": [], "why": "x"}]},
     "exceptions[0].why"),
    ({"weekly": {}, "extra": 1}, "extra"),
])
def test_invalid_schedules_name_the_place(doc: object, where: str) -> None:
    with pytest.raises(HoursError) as info:
        parse(doc)
    assert info.value.where == where
    assert str(info.value).startswith(f"{where}: ")


async def test_the_source_keeps_the_last_schedule_when_the_database_fails() -> None:
    from volunteer.hours_store import HoursSource

    def broken() -> object:
        raise OSError("database down")

    source = HoursSource(broken)  # type: ignore[arg-type]
    await source.refresh()
    assert source.current is None                     # nothing known yet: always open
    source.set(EVENINGS)
    await source.refresh()
    assert source.current is EVENINGS
