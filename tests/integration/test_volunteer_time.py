"""Volunteer time in the statistics, on SQLite and PostgreSQL: ``volunteer_time`` in
``/api/stats`` beside the year before, its value with JOURCHATT_VOLUNTEER_HOUR_VALUE,
hours per volunteer for a coordinator only, the dashboard panel and ``jourchatt report``."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Awaitable, Callable

from sqlalchemy import select

from referral.stats import report
from tests.conftest import Running
from volunteer import duty
from volunteer.models import Account
from volunteer.shifts import Shift


async def seed(server: Running) -> None:
    await server.add_account("olle", display_name="Olle")
    await server.add_account("pia", display_name="Pia")
    async with server.app.state.db() as session:
        ids = dict((await session.execute(select(Account.username, Account.id))).all())
    db = server.app.state.db
    for _ in range(90):                                  # Olle: 90 minutes on 2025-03-04, 30 of them in chats
        await duty.add_minutes(db, date(2025, 3, 4), [(ids["olle"], False)])
    for _ in range(30):
        await duty.add_minutes(db, date(2025, 3, 4), [(ids["olle"], True)])
    for _ in range(60):                                  # Pia: an hour on 2025-03-20, in a chat throughout
        await duty.add_minutes(db, date(2025, 3, 20), [(ids["pia"], True)])
    for _ in range(45):                                  # a year earlier: Olle 45 minutes
        await duty.add_minutes(db, date(2024, 3, 5), [(ids["olle"], False)])
    async with db() as session, session.begin():
        at = datetime(2025, 3, 4, 18, tzinfo=timezone.utc)
        session.add(Shift(account_id=ids["olle"], starts_at=at, ends_at=at + timedelta(hours=3)))
        session.add(Shift(account_id=ids["pia"], starts_at=at + timedelta(days=16), ends_at=at + timedelta(days=16, hours=2)))
        session.add(Shift(account_id=ids["pia"], starts_at=at + timedelta(days=40), ends_at=at + timedelta(days=40, hours=2)))


async def test_volunteer_time_in_the_api_with_its_value_and_hours_per_volunteer_for_coordinators(
        server_factory: Callable[..., Awaitable[Running]]) -> None:
    server = await server_factory(volunteer_hour_value=350)
    await seed(server)
    q = "/api/stats?from=2025-03-01&to=2025-03-31"
    async with await server.client("cora", role="coordinator") as cora, \
            await server.client("adam", role="admin") as adam:
        r = await cora.get(q)
        assert r.status_code == 200, r.text
        out = r.json()
        vt = out["volunteer_time"]
        assert {k: vt[k] for k in ("on_duty_s", "in_chat_s", "volunteers_on_duty")} == {
            "on_duty_s": (120 + 60) * 60, "in_chat_s": (30 + 60) * 60, "volunteers_on_duty": 2}
        assert vt["booked_s"] == 5 * 3600 and vt["shifts"] == 2
        assert vt["on_duty_hours"] == 3.0 and vt["booked_hours"] == 5.0 and vt["worked_of_booked"] == 0.6
        assert vt["hour_value_sek"] == 350 and vt["value_sek"] == 1050
        before = out["year_earlier"]["volunteer_time"]
        assert before["on_duty_s"] == 45 * 60 and before["volunteers_on_duty"] == 1 and before["value_sek"] == 262
        assert out["volunteer_hours"] == [
            {"volunteer": "Olle", "on_duty_s": 7200, "in_chat_s": 1800, "booked_s": 10800, "on_duty_hours": 2.0},
            {"volunteer": "Pia", "on_duty_s": 3600, "in_chat_s": 3600, "booked_s": 7200, "on_duty_hours": 1.0}]
        published = (await cora.get(q + "&publish=true")).json()
        assert "volunteer_hours" not in published and published["volunteer_time"]["on_duty_s"] == 10800
        csv = (await cora.get(q + "&format=csv")).text
        assert "volunteer_time,on_duty_s,10800,2700" in csv and "Olle" not in csv
        page = (await cora.get("/stats?from=2025-03-01&to=2025-03-31")).text
        assert 'id="t-volunteer-time"' in page and 'id="t-volunteer-hours"' in page and "Olle" in page
        assert "1050" in page
        admin = (await adam.get(q)).json()
        assert "volunteer_hours" not in admin and admin["volunteer_time"] == vt
        page = (await adam.get("/stats?from=2025-03-01&to=2025-03-31")).text
        assert 'id="t-volunteer-time"' in page and "Olle" not in page


async def test_without_an_hour_value_no_value_is_shown_and_the_table_report_has_the_section(
        server: Running) -> None:
    await seed(server)
    req = report.Request(start=date(2025, 3, 1), end=date(2025, 3, 31))
    out = await report.build(server.app.state.engine, req, secret=b"x" * 32)
    assert out["volunteer_time"]["value_sek"] is None and out["volunteer_time"]["hour_value_sek"] is None
    table = report.to_table(out)
    assert "Volontärtid / Volunteer time" in table
    line = next(row for row in table.splitlines() if row.strip().startswith("on_duty_hours"))
    assert line.split()[1:] == ["3.0", "0.8"]
