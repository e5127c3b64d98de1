"""Presets, the year-earlier period, and partnerships' terms and validation."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from referral.stats import partnerships as P
from referral.stats.exceptions import PartnershipError, StatsQueryError
from referral.stats.presets import period, resolve, year_earlier

SAMPLE = Path(__file__).resolve().parents[2] / "referral" / "stats" / "data" / "partnerships.sample.json"


@pytest.mark.parametrize("preset, first, last", [
    ("2022H1", date(2022, 1, 1), date(2022, 6, 30)),
    ("2022H2", date(2022, 7, 1), date(2022, 12, 31)),
    ("2023T1", date(2023, 1, 1), date(2023, 4, 30)),
    ("2023T2", date(2023, 5, 1), date(2023, 8, 31)),
    ("2023T3", date(2023, 9, 1), date(2023, 12, 31)),
    ("2024Q1", date(2024, 1, 1), date(2024, 3, 31)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
    ("2024", date(2024, 1, 1), date(2024, 12, 31)),
])
def test_presets(preset: str, first: date, last: date) -> None:
    assert resolve(preset) == (first, last)


@pytest.mark.parametrize("bad", ["2022H3", "2023T4", "22H1", "2024-13", "H1", "2024 H1"])
def test_bad_presets_say_what_is_allowed(bad: str) -> None:
    with pytest.raises(StatsQueryError, match="2022H1"):
        resolve(bad)


def test_year_earlier_keeps_the_calendar_and_folds_29_february() -> None:
    assert year_earlier(date(2022, 5, 31)) == date(2021, 5, 31)
    assert year_earlier(date(2024, 2, 29)) == date(2023, 2, 28)


def test_a_period_is_a_preset_or_from_and_to() -> None:
    assert period("2022-01-01", "2022-05-31", None) == (date(2022, 1, 1), date(2022, 5, 31))
    for args in [("2022-01-01", None, None), ("2022-06-01", "2022-05-31", None),
                 ("2022-01-01", "2022-05-31", "2022H1"), ("2015-01-01", "2022-01-01", None),
                 ("1 May", "2022-05-31", None)]:
        with pytest.raises(StatsQueryError):
            period(*args)


def test_the_seed_partnerships_load_and_follow_the_renewal_rule() -> None:
    found = {p.id: p for p in (P.validate(d) for d in json.loads(SAMPLE.read_text()))}
    sthlm = found["stockholm-unga-relationer"]
    assert [p.org_number for p in sthlm.parties] == ["802478-3436", "212000-0142"]
    assert (sthlm.age_min, sthlm.age_max, sthlm.municipalities) == (13, 23, ("0180",))
    assert P.term_ends(sthlm) == [date(2022, 12, 14), date(2023, 12, 14), date(2024, 12, 14)]
    assert P.ends_on(sthlm) == date(2024, 12, 14)
    assert P.active_on(sthlm, date(2022, 3, 1)) and not P.active_on(sthlm, date(2024, 12, 15))
    assert found["nacka-samtalsforum"].reporting == ("tertial", "year")


def test_notice_by_14_september_ends_the_current_term_later_notice_the_next() -> None:
    doc = json.loads(SAMPLE.read_text())[0]
    on_time = P.validate({**doc, "notice_given_on": "2022-09-14"})
    late = P.validate({**doc, "notice_given_on": "2022-09-15"})
    assert P.ends_on(on_time) == date(2022, 12, 14)
    assert P.ends_on(late) == date(2023, 12, 14)


@pytest.mark.parametrize("change, message", [
    ({"parties": [{"name": "X", "org_number": "802478-3437"}]}, "organisation number"),
    ({"target": {"municipalities": ["Stockholm"]}}, "SCB codes"),
    ({"target": {"age_min": 23, "age_max": 13}}, "age_min"),
    ({"first_term_ends_on": "2020-01-01"}, "before starts_on"),
    ({"notice_by": "14 sept"}, "MM-DD"),
    ({"id": "Has Spaces"}, "id"),
    ({"comment": "free text"}, "unknown field"),
    ({"channels": ["Web Widget"]}, "channel"),
])
def test_a_bad_partnership_is_refused_with_a_reason(change: dict, message: str) -> None:
    doc = {**json.loads(SAMPLE.read_text())[0], **change}
    with pytest.raises(PartnershipError, match=message):
        P.validate(doc)
