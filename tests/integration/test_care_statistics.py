"""Care for volunteers in the statistics (referral/stats/care.py), on SQLite and
PostgreSQL: escalations, debriefs and heavy conversations counted from the records,
beside the year before; small counts withheld for publication; on the dashboard and in
the CSV and the table; and through GET /api/stats."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any, AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from chat.kernel import db
from referral.record import ChatRecord
from referral.stats import dashboard, report
from tests.conftest import TEST_SECRET, Running

SECRET = TEST_SECRET.encode()


def record(day: date, *, outcome: str = "completed", help: int = 0, acute: int = 0, debrief: bool = False,
           heavy: bool = False) -> ChatRecord:
    return ChatRecord(id=secrets.token_hex(16), day=day, time_band="18-21", channel="web", lang="sv",
                      outcome=outcome, ended_by="volunteer", wait_s=30, duration_s=600, age=16, gender="girl",
                      municipality="0180", district=None, topic="exposed", first_contact="yes",
                      volunteer=None, non_data=None, wrapup_filed=True, escalations_help=help,
                      escalations_acute=acute, debrief=debrief, heavy=heavy)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[Any]:
    await db.upgrade_async(database_url)
    eng = db.create_engine(database_url)
    rows = [record(date(2026, 3, 2), help=2, acute=1, debrief=True, heavy=True),
            record(date(2026, 3, 3), help=1),
            record(date(2026, 3, 4), debrief=True),
            record(date(2026, 3, 5)),
            record(date(2026, 3, 6), outcome="left_queued", help=5),     # not answered: not counted
            record(date(2025, 3, 2), acute=1, heavy=True)]               # the year before
    async with async_sessionmaker(eng, expire_on_commit=False)() as session, session.begin():
        session.add_all(rows)
    yield eng
    await eng.dispose()


async def test_care_counts_beside_the_year_before_and_withheld_for_publication(engine: Any) -> None:
    req = report.Request(start=date(2026, 1, 1), end=date(2026, 6, 30))
    out = await report.build(engine, req, secret=SECRET)
    assert out["care"] == {"chats": 4, "escalations_help": 3, "escalations_acute": 1, "chats_escalated": 2,
                           "debriefs": 2, "heavy": 1}
    assert out["year_earlier"]["care"] == {"chats": 1, "escalations_help": 0, "escalations_acute": 1,
                                           "chats_escalated": 1, "debriefs": 0, "heavy": 1}
    table = report.to_table(out)
    assert "Omsorg om volontärerna / Care for volunteers" in table
    assert any(line.split() == ["debriefs", "2", "0"] for line in table.splitlines())
    assert "care,escalations_help,3,0" in report.to_csv(out).replace("\r", "")
    page = dashboard.page(out, [], {"preset": "2026H1"})
    assert 'id="t-care"' in page and "Bett om avlastningssamtal" in page

    published = await report.build(engine, report.Request(start=date(2026, 1, 1), end=date(2026, 6, 30),
                                                          publish=True, threshold=3), secret=SECRET)
    assert published["care"]["escalations_help"] == 3
    assert published["care"]["debriefs"] == report.SUPPRESSED
    reason = report.withheld_reason(3)
    assert {"cell": "care.debriefs", "reason": reason} in published["disclosure"]["suppressed"]
    # care.chats are the report's conversations (total): one leaver of five contacts is withheld,
    # so are the completed ones and the total that would give it away, and so care.chats too.
    assert published["by_outcome"]["left_queued"] == published["total"] == report.SUPPRESSED
    assert published["care"]["chats"] == report.SUPPRESSED
    assert {"cell": "care.chats", "reason": reason} in published["disclosure"]["suppressed"]
    assert ".." in report.to_csv(published)

    # With the cell key method the care counts are perturbed like every other count (never
    # withheld), and care.chats, the same records as total, is the same number as total.
    noisy = await report.build(engine, report.Request(start=date(2026, 1, 1), end=date(2026, 6, 30),
                                                      publish=True, method="cellkey"), secret=SECRET)
    assert all(isinstance(v, int) and abs(v - out["care"][k]) <= 2 for k, v in noisy["care"].items())
    assert noisy["care"]["chats"] == noisy["total"]


async def test_api_stats_carries_the_care_block(server: Running) -> None:
    async with server.app.state.db() as session, session.begin():
        session.add(record(date.today(), help=1, debrief=True))
    coordinator = await server.client("cora", role="coordinator")
    async with coordinator:
        r = await coordinator.get("/api/stats", params={"from": date.today().isoformat(),
                                                         "to": date.today().isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["care"] == {"chats": 1, "escalations_help": 1, "escalations_acute": 0, "chats_escalated": 1,
                                "debriefs": 1, "heavy": 0}
