"""Topic routing in the statistics, on SQLite and PostgreSQL: chats by intake topic, how
many topic chats reached a volunteer with the skill and their waits, year on year, in
``GET /api/stats``, the partnership report (table and CSV) and the dashboard; small
counts withheld when published."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, AsyncIterator

import pytest

from chat.kernel import db
from referral.stats import records_io, report
from tests.conftest import TEST_SECRET, Running

TODAY = date(2026, 11, 23)


def lines() -> list[str]:
    out = []
    # 2026: 6 uses_violence chats answered (4 by a specialist, 2 not), 1 left the queue,
    # 3 exposed (topic given after the chat was taken: specialist unknown), 2 without a topic.
    for wait in (30, 60, 90, 120):
        out.append({"day": "2026-03-02", "intake_topic": "uses_violence", "specialist": True, "wait_s": wait})
    for wait in (150, 170):
        out.append({"day": "2026-03-03", "intake_topic": "uses_violence", "specialist": False, "wait_s": wait})
    out.append({"day": "2026-03-04", "intake_topic": "uses_violence", "outcome": "left_queued", "wait_s": 200})
    out += [{"day": "2026-03-05", "intake_topic": "exposed", "wait_s": 10}] * 3
    out += [{"day": "2026-03-06", "wait_s": 20}] * 2
    # A year earlier: 2 uses_violence chats, both by a specialist.
    out += [{"day": "2025-03-02", "intake_topic": "uses_violence", "specialist": True, "wait_s": 40}] * 2
    return [json.dumps(x) for x in out]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[Any]:
    await db.upgrade_async(database_url)
    eng = db.create_engine(database_url)
    recs, refs = records_io.parse(lines(), today=TODAY)
    await records_io.write(eng, recs, refs)
    yield eng
    await eng.dispose()


async def build(eng: Any, **kw: Any) -> dict[str, Any]:
    req = report.Request(start=date(2026, 1, 1), end=date(2026, 6, 30), **kw)
    return await report.build(eng, req, secret=TEST_SECRET.encode())


async def test_topic_routing_per_period_and_a_year_earlier(engine: Any) -> None:
    out = await build(engine)
    block = out["topic_routing"]
    assert block["by_intake_topic"] == {"exposed": 3, "uses_violence": 7, "both": 0, "friend_relative": 0,
                                        "professional": 0, "other": 0, "not_stated": 2}
    uv = block["uses_violence"]
    assert (uv["answered"], uv["reached_specialist"], uv["other_volunteer"]) == (6, 4, 2)
    assert uv["median_wait_s"] == 90.0 and uv["median_wait_specialist_s"] == 60.0
    assert block["exposed"]["answered"] == 3 and block["exposed"]["reached_specialist"] == 0
    before = out["year_earlier"]["topic_routing"]
    assert before["by_intake_topic"]["uses_violence"] == 2
    assert before["uses_violence"]["reached_specialist"] == 2

    table = report.to_table(out)
    assert "Ämne i frågan och specialister" in table
    assert any("uses_violence.reached_specialist" in line and " 4 " in f" {line} " for line in table.splitlines())
    csv_text = report.to_csv(out)
    assert "topic_routing,uses_violence.reached_specialist,4,2" in csv_text


async def test_published_topic_routing_withholds_small_counts(engine: Any) -> None:
    out = await build(engine, publish=True, threshold=5)
    block = out["topic_routing"]
    assert block["by_intake_topic"]["uses_violence"] == 7
    assert block["by_intake_topic"]["exposed"] == {"suppressed": True}
    assert block["by_intake_topic"]["not_stated"] == {"suppressed": True}
    uv = block["uses_violence"]
    assert uv["answered"] == 6
    assert uv["reached_specialist"] == uv["other_volunteer"] == {"suppressed": True}
    assert block["exposed"]["answered"] == {"suppressed": True}
    assert "4" not in json.dumps(uv)


async def test_api_stats_and_dashboard_show_topic_routing(server: Running) -> None:
    recs, refs = records_io.parse(lines(), today=TODAY)
    await records_io.write(server.app.state.engine, recs, refs)
    client = await server.client("cora", role="coordinator")
    async with client:
        r = await client.get("/api/stats", params={"from": "2026-01-01", "to": "2026-06-30"})
        assert r.status_code == 200
        body = r.json()
        assert body["topic_routing"]["uses_violence"]["reached_specialist"] == 4
        assert {"total", "by_gender", "by_topic", "by_residence", "mean_age"} <= set(body)
        page = await client.get("/stats", params={"from": "2026-01-01", "to": "2026-06-30"})
        assert page.status_code == 200
        assert 'id="t-intake-topic"' in page.text
        assert "nådde en volontär med kunskap om ämnet" in page.text
