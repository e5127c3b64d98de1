"""Shifts through the real server, on SQLite and on PostgreSQL: book, list, cancel, the
roster against the opening hours, the 400s naming the field, and the audit of changes
made to someone else's shift."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.conftest import Running
from volunteer.audit import AuditEntry
from volunteer.shifts import PAST_SLACK, validate

TZ = ZoneInfo("Europe/Stockholm")


def evening(days: int, start: str = "19:00", end: str = "22:00") -> dict[str, str]:
    day = (datetime.now(TZ) + timedelta(days=days)).date()
    s = datetime.fromisoformat(f"{day.isoformat()}T{start}").replace(tzinfo=TZ)
    e = datetime.fromisoformat(f"{day.isoformat()}T{end}").replace(tzinfo=TZ)
    return {"start": s.isoformat(), "end": e.isoformat()}


def test_the_rules_of_one_shift() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    validate(now + timedelta(hours=7), now + timedelta(hours=10), now)
    for start, end, field in [
        (now + timedelta(hours=2), now + timedelta(hours=2), "end"),
        (now + timedelta(hours=2), now + timedelta(hours=1), "end"),
        (now - PAST_SLACK - timedelta(minutes=1), now + timedelta(hours=1), "start"),
        (now + timedelta(days=367), now + timedelta(days=367, hours=3), "start"),
        (now + timedelta(hours=1), now + timedelta(hours=18), "end"),
    ]:
        try:
            validate(start, end, now)
        except Exception as exc:
            assert getattr(exc, "field") == field
        else:
            raise AssertionError(f"{start}..{end} was accepted")


async def test_a_volunteer_books_lists_and_cancels_their_own_shift(server: Running) -> None:
    async with await server.client("vera", role="volunteer") as vera:
        r = await vera.post("/api/shifts", json=evening(2))
        assert r.status_code == 201, r.text
        shift = r.json()
        assert shift["volunteer"] == "Vera" and shift["mine"] is True and isinstance(shift["id"], int)
        assert datetime.fromisoformat(shift["start"]) == datetime.fromisoformat(evening(2)["start"])
        day = datetime.fromisoformat(shift["start"]).date().isoformat()
        r = await vera.get(f"/api/shifts?from={day}&to={day}")
        assert r.status_code == 200 and [s["id"] for s in r.json()["shifts"]] == [shift["id"]]
        assert set(r.json()["shifts"][0]) == {"id", "start", "end", "volunteer", "mine"}
        r = await vera.delete(f"/api/shifts/{shift['id']}")
        assert r.status_code == 204
        assert (await vera.get(f"/api/shifts?from={day}&to={day}")).json() == {"shifts": []}
        assert (await vera.delete(f"/api/shifts/{shift['id']}")).status_code == 404
    async with server.app.state.db() as session:
        assert (await session.scalars(select(AuditEntry).where(AuditEntry.action.like("shift.%")))).all() == []


async def test_bad_shifts_get_400_naming_the_field(server: Running) -> None:
    async with await server.client("vera", role="volunteer") as vera:
        ok = evening(3)
        assert (await vera.post("/api/shifts", json=ok)).status_code == 201
        cases = [
            ({"start": ok["end"], "end": ok["start"]}, "end"),                       # end before start
            ({"start": ok["start"], "end": ok["start"]}, "end"),                     # not after the start
            (evening(3, "21:00", "23:00"), "start"),                                 # overlaps her own
            (evening(-2), "start"),                                                  # in the past
            (evening(400), "start"),                                                 # more than a year ahead
            ({"start": "tomorrow", "end": ok["end"]}, "start"),
            ({"start": ok["start"].split("+")[0], "end": ok["end"]}, "start"),      # no offset
            ({"start": ok["start"]}, "end"),
            ({**evening(5), "account": "someone"}, "account"),                      # not for others
            ({**evening(5), "colour": "red"}, "colour"),
        ]
        for body, field in cases:
            r = await vera.post("/api/shifts", json=body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["error"] == "invalid_field" and r.json()["field"] == field, (body, r.text)
            assert field in r.json()["detail"]
        for query, field in [("from=2026-13-01&to=2026-12-01", "from"), ("from=2026-12-01", "to"),
                             ("from=2026-12-05&to=2026-12-01", "to"), ("from=2020-01-01&to=2026-01-01", "to"),
                             ("from=2026-12-01&to=2026-12-02&who=me", "who")]:
            r = await vera.get(f"/api/shifts?{query}")
            assert r.status_code == 400 and r.json()["field"] == field, (query, r.text)
        assert (await vera.delete("/api/shifts/abc")).status_code == 404
        r = await vera.post("/api/shifts", content=b"[", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_body"


async def test_supervisors_and_coordinators_book_for_others_and_it_is_audited(server: Running) -> None:
    await server.add_account("olle", display_name="Olle")
    async with await server.client("sara", role="supervisor") as sara, \
            await server.client("cora", role="coordinator") as cora, \
            await server.client("vera", role="volunteer") as vera:
        r = await sara.post("/api/shifts", json={**evening(4), "account": "olle"})
        assert r.status_code == 201 and r.json()["volunteer"] == "Olle" and r.json()["mine"] is False
        by_sara = r.json()["id"]
        r = await cora.post("/api/shifts", json=evening(6))
        assert r.status_code == 400 and r.json()["field"] == "account"
        r = await cora.post("/api/shifts", json={**evening(6), "account": "sara"})
        assert r.status_code == 201 and r.json()["volunteer"] == "Sara"
        r = await cora.post("/api/shifts", json={**evening(6), "account": "cora"})
        assert r.status_code == 400 and r.json()["field"] == "account"
        r = await cora.post("/api/shifts", json={**evening(6), "account": "nobody"})
        assert r.status_code == 400 and r.json()["field"] == "account"
        r = await vera.post("/api/shifts", json=evening(4))        # vera's own: may overlap olle's
        assert r.status_code == 201
        assert (await vera.delete(f"/api/shifts/{by_sara}")).status_code == 404   # not hers
        assert (await cora.delete(f"/api/shifts/{by_sara}")).status_code == 204
        r = await cora.get("/api/shifts/roster?from=2026-01-01&to=2026-01-02")
        assert r.status_code == 200
        assert (await vera.get("/api/shifts/roster?from=2026-01-01&to=2026-01-02")).status_code == 403
    async with server.app.state.db() as session:
        rows = (await session.scalars(select(AuditEntry).where(AuditEntry.action.like("shift.%"))
                                      .order_by(AuditEntry.id))).all()
    assert [r.action for r in rows] == ["shift.book", "shift.book", "shift.cancel"]
    assert all(r.subject.startswith("shift:") for r in rows)
    assert rows[0].subject == f"shift:{by_sara}:{rows[2].subject.split(':')[2]}"


async def test_the_roster_marks_opening_hours_nobody_booked(server: Running) -> None:
    async with await server.client("sara", role="supervisor") as sara:
        r = await sara.put("/api/opening-hours", json={"weekly": {d: ["19:00-22:00"] for d in
                                                                  ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
        assert r.status_code == 200
        assert (await sara.post("/api/shifts", json=evening(7, "19:00", "20:30"))).status_code == 201
        day = (datetime.now(TZ) + timedelta(days=7)).date()
        r = await sara.get(f"/api/shifts/roster?from={day}&to={day + timedelta(days=1)}")
        assert r.status_code == 200, r.text
        days = r.json()["days"]
        assert [d["date"] for d in days] == [day.isoformat(), (day + timedelta(days=1)).isoformat()]
        assert days[0]["open"] == ["19:00-22:00"] and days[0]["uncovered"] == ["20:30-22:00"]
        assert days[0]["uncovered_min"] == 90
        assert [(s["volunteer"], s["from"], s["until"]) for s in days[0]["shifts"]] == [("Sara", "19:00", "20:30")]
        assert days[1]["uncovered"] == ["19:00-22:00"] and days[1]["shifts"] == []
