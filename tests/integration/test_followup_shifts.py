"""A young person back with a follow-up code while their volunteer is off is told when
that volunteer is next booked, and stays in the queue to talk with someone else now;
while the volunteer is busy with another chat, they are told that instead (and the chat
is kept for them: tests/integration/test_followup_wait.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from chat import followup, texts
from tests.conftest import Running
from volunteer import shifts
from volunteer.models import Account

TZ = ZoneInfo("Europe/Stockholm")


def test_shift_times_read_as_a_person_says_them() -> None:
    today = date(2026, 12, 3)                           # a Thursday
    at = lambda d, h, m=0: datetime(2026, 12, d, h, m, tzinfo=TZ)   # noqa: E731
    assert texts.shift_when("sv", at(8, 19), at(8, 22), today) == "tisdag 19–22"
    assert texts.shift_when("en", at(8, 19), at(8, 22), today) == "Tuesday 19:00–22:00"
    assert texts.shift_when("sv", at(4, 18, 30), at(4, 21), today) == "i morgon 18.30–21"
    assert texts.shift_when("sv", at(3, 19), at(3, 22), today) == "i dag 19–22"
    assert texts.shift_when("sv", at(15, 19), at(15, 22), today) == "tisdag 15/12 19–22"
    assert texts.followup_away("sv", "Sara", "tisdag 19–22").startswith(
        "Sara är inte här just nu. Sara är här igen tisdag 19–22.")


async def code_for(server: Running, username: str) -> str:
    async with server.app.state.db() as session:
        vid = await session.scalar(select(Account.id).where(Account.username == username))
    assert vid is not None
    return await followup.issue(server.app.state.db, server.settings.secret, vid)


async def test_the_volunteer_is_off_the_young_person_hears_when_they_are_next_booked(server: Running) -> None:
    await server.add_account("sara", display_name="Sara")
    await server.add_account("bo", display_name="Bo")
    code = await code_for(server, "sara")
    async with server.app.state.db() as session:
        sara = await session.scalar(select(Account.id).where(Account.username == "sara"))
    assert sara is not None
    day = datetime.now(TZ).date() + timedelta(days=3)
    start = datetime(day.year, day.month, day.day, 19, tzinfo=TZ).astimezone(timezone.utc)
    await shifts.book(server.app.state.db, sara, start, start + timedelta(hours=3))
    later = start + timedelta(days=7)
    await shifts.book(server.app.state.db, sara, later, later + timedelta(hours=3))

    back = await server.visitor({"lang": "sv", "followup": code})
    await back.expect("welcome")
    away = await back.expect("followup_away")
    when = texts.WEEKDAY_NAMES["sv"][day.weekday()]
    assert away["volunteer"] == "Sara" and away["busy"] is False and away["key"] == "followup_away"
    assert f"Sara är här igen {when} 19–22" in away["text"]
    assert datetime.fromisoformat(away["next"]["start"]) == start
    # Talking with someone else now: the chat is in the queue and goes to Bo when he comes.
    await server.volunteer("bo")
    assert (await back.expect("assigned"))["volunteer"] == "Bo"

    english = await server.visitor({"lang": "en", "followup": code})
    await english.expect("welcome")
    assert "Sara is here again" in (await english.expect("followup_away"))["text"]


async def test_unbooked_and_busy_volunteers_are_told_as_such(server: Running) -> None:
    await server.add_account("sara", display_name="Sara")
    code = await code_for(server, "sara")
    back = await server.visitor({"lang": "sv", "followup": code})
    away = await back.expect("followup_away")
    assert away["next"] is None and away["key"] == "followup_away_unbooked"
    assert "inte bokat nästa pass" in away["text"]
    await back.send({"type": "leave"})

    vol = await server.volunteer("sara")
    first = await server.visitor({"lang": "sv"})
    await first.expect("assigned")
    await vol.expect("assigned")
    again = await server.visitor({"lang": "sv", "followup": code})
    busy = await again.expect("followup_away")
    # On duty but busy: the chat is kept for her (tests/integration/test_followup_wait.py).
    assert busy["busy"] is True and busy["kept"] is True and busy["key"] == "followup_kept"
    assert busy["text"].startswith("Sara pratar med någon annan just nu.")
