"""Training rules: who may take chats, on the boundary days."""

from __future__ import annotations

from datetime import date, timedelta

import chat  # noqa: F401
from volunteer.accounts import add_months, training_state, training_valid
from volunteer.models import Training

D = date(2026, 3, 10)


def course(kind: str, completed: date, expires: date | None = None) -> Training:
    return Training(kind=kind, completed_on=completed, expires_on=expires)


def test_no_course_or_only_a_refresher_is_not_enough() -> None:
    assert training_state([], D) == "missing"
    assert training_state([course("refresher", D)], D) == "missing"


def test_basic_counts_from_its_completion_day() -> None:
    basic = [course("basic", D)]
    assert training_state(basic, D - timedelta(days=1)) == "missing"   # dated in the future
    assert training_valid(basic, D)
    assert training_valid(basic, D + timedelta(days=3650))             # no expiry date: no expiry


def test_expiry_day_itself_still_counts_the_day_after_does_not() -> None:
    rows = [course("basic", D - timedelta(days=400)), course("refresher", D - timedelta(days=365), D)]
    assert training_valid(rows, D)
    assert training_state(rows, D + timedelta(days=1)) == "expired"


def test_a_basic_course_with_its_own_expiry() -> None:
    rows = [course("basic", D, D + timedelta(days=30))]
    assert training_valid(rows, D + timedelta(days=30))
    assert not training_valid(rows, D + timedelta(days=31))


def test_only_the_latest_course_decides() -> None:
    old_refresher = course("refresher", D - timedelta(days=800), D - timedelta(days=435))
    basic = course("basic", D - timedelta(days=900))
    assert training_state([basic, old_refresher], D) == "expired"
    new_refresher = course("refresher", D - timedelta(days=10), D + timedelta(days=355))
    assert training_valid([basic, old_refresher, new_refresher], D)
    # A refresher recorded ahead of its date does not count until that day.
    future = course("refresher", D + timedelta(days=5), D + timedelta(days=370))
    assert training_state([basic, old_refresher, future], D) == "expired"
    assert training_valid([basic, old_refresher, future], D + timedelta(days=5))


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 1, 31), 13) == date(2028, 2, 29)
    assert add_months(date(2026, 3, 10), 12) == date(2027, 3, 10)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
