"""The survey in the statistics, on SQLite and PostgreSQL: per period, a year earlier,
by topic and by partnership, the response rate, small counts withheld in a published
export, and the outcomes panel beside the referrals (dashboard, ``jourchatt report``)."""

from __future__ import annotations

import json
import re
import secrets
from datetime import date
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
from sqlalchemy import insert

from chat.kernel import db
from referral.models import RecordReferral
from referral.record import ChatRecord
from referral.stats import dashboard, partnership_store, partnerships, report
from referral.survey import SurveyResponse
from tests.conftest import TEST_SECRET, Running

SAMPLE = Path(__file__).resolve().parents[2] / "referral" / "stats" / "data" / "partnerships.sample.json"
SECRET = TEST_SECRET.encode()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[Any]:
    await db.upgrade_async(database_url)
    eng = db.create_engine(database_url)
    yield eng
    await eng.dispose()


def record(day: date, topic: str | None, offered: bool, *, municipality: str = "0180",
           non_data: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": secrets.token_hex(16), "day": day, "time_band": "18-21", "channel": "web", "lang": "sv",
        "outcome": "completed", "ended_by": "volunteer", "wait_s": 30, "duration_s": 600, "age": 16,
        "gender": "girl", "municipality": municipality, "district": None, "topic": topic,
        "first_contact": "yes", "volunteer": "p" * 20, "non_data": non_data, "wrapup_filed": True,
        "survey_offered": offered}
    for form in ("physical", "psychological", "sexual", "digital", "economic", "honour"):
        row[f"v_{form}"] = False
    return row


async def seed(engine: Any) -> None:
    """January–May 2022 in Stockholm: 15 offered, 12 answers; a year earlier 4 offered, 1 answer."""
    records: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    day = date(2022, 3, 10)

    def answered(topic: str, helped: str | None, knows: str | None, would: str | None,
                 **kw: Any) -> None:
        r = record(kw.pop("on", day), topic, True, **kw)
        records.append(r)
        answers.append({"record_id": r["id"], "helped": helped, "knows_where_to_turn": knows, "would_return": would})

    for helped, knows, would in ([("yes", "yes", "yes")] * 6 + [("partly", "yes", "yes")] * 1
                                 + [("partly", "no", None)] + [("no", "no", "yes")] * 2):
        answered("exposed", helped, knows, would)
    answered("uses_violence", "yes", None, "yes")
    answered("uses_violence", "yes", "unsure", "yes")
    records += [record(day, "exposed", True) for _ in range(3)]            # offered, no answer
    records += [record(day, "other", False) for _ in range(5)]             # not offered (quick exit, gone)
    answered("exposed", "no", "no", "no", non_data="test")                 # a test chat: not counted
    answered("exposed", "yes", "yes", "yes", municipality="0182")          # Nacka: outside Stockholm's scope
    answered("exposed", "no", "yes", "unsure", on=date(2021, 3, 10))       # a year earlier
    records += [record(date(2021, 3, 10), "exposed", True) for _ in range(3)]
    referrals = [{"record_id": records[0]["id"], "service_id": "stodcentrum", "redeemed_on": date(2022, 4, 1)},
                 {"record_id": records[1]["id"], "service_id": "stodcentrum", "redeemed_on": None}]
    orphan = {"record_id": secrets.token_hex(16), "helped": "yes", "knows_where_to_turn": None, "would_return": None}
    async with engine.begin() as conn:
        await conn.execute(insert(ChatRecord), records)
        await conn.execute(insert(RecordReferral), referrals)
        await conn.execute(insert(SurveyResponse), [*answers, orphan])    # orphan: its record never came


async def build(engine: Any, **kw: Any) -> dict[str, Any]:
    req = report.Request(start=date(2022, 1, 1), end=date(2022, 5, 31), **kw)
    return await report.build(engine, req, secret=SECRET)


async def test_survey_per_period_year_on_year_by_topic_and_rate(engine: Any) -> None:
    await seed(engine)
    out = await build(engine, municipality="0180")
    s = out["survey"]
    assert (s["offered"], s["responses"], s["no_response"], s["response_rate"]) == (15, 12, 3, 0.8)
    assert s["helped"] == {"yes": 8, "partly": 2, "no": 2, "not_answered": 0}
    assert s["knows_where_to_turn"] == {"yes": 7, "no": 3, "unsure": 1, "not_answered": 1}
    assert s["would_return"] == {"yes": 11, "no": 0, "unsure": 0, "not_answered": 1}
    assert s["by_topic"]["exposed"]["responses"] == 10 and s["by_topic"]["uses_violence"]["responses"] == 2
    assert s["by_topic"]["uses_violence"]["helped"]["yes"] == 2
    assert s["by_topic"]["other"]["responses"] == 0
    before = out["year_earlier"]["survey"]
    assert (before["offered"], before["responses"], before["response_rate"]) == (4, 1, 0.25)
    assert before["helped"]["no"] == 1
    everyone = await build(engine)
    assert everyone["survey"]["responses"] == 13          # Nacka's answer too; the test chat and the orphan never


async def test_survey_by_partnership(engine: Any) -> None:
    await seed(engine)
    sessions = db.sessionmaker(engine)
    for doc in json.loads(SAMPLE.read_text()):
        await partnership_store.save(sessions, partnerships.validate(doc))
    sthlm = await partnership_store.load(sessions, "stockholm-unga-relationer")
    out = await build(engine, partnership=sthlm)
    assert (out["survey"]["offered"], out["survey"]["responses"]) == (15, 12)


async def test_published_survey_withholds_small_counts(engine: Any) -> None:
    await seed(engine)
    out = await build(engine, municipality="0180", publish=True, threshold=5)
    s = out["survey"]
    assert s["offered"] == 15 and s["helped"]["yes"] == 8 and s["would_return"]["yes"] == 11
    for value in (s["helped"]["partly"], s["helped"]["no"], s["by_topic"]["uses_violence"]["responses"],
                  s["no_response"]):
        assert value == {"suppressed": True}
    # 3 offered without an answer is small, so of offered = responses + no_response one more
    # is withheld, and the rate with it: a reader cannot subtract their way to the 3.
    assert s["responses"] == {"suppressed": True} and s["response_rate"] == {"suppressed": True}
    withheld = {w["cell"] for w in out["disclosure"]["suppressed"]}
    assert "survey.helped.partly" in withheld and "survey.by_topic.uses_violence.responses" in withheld
    before = out["year_earlier"]["survey"]
    assert before["responses"] == {"suppressed": True} and before["response_rate"] == {"suppressed": True}
    # No published cell of the survey is a small number.
    def small(node: Any) -> list[Any]:
        if isinstance(node, dict):
            return [v for x in node.values() for v in small(x)]
        return [node] if type(node) is int and 0 < node < 5 else []
    assert small(s) == [] and small(before) == []
    csv_text = report.to_csv(out)
    assert "survey,helped.partly,..," in csv_text and "survey,helped.yes,8," in csv_text


async def test_the_outcomes_panel_puts_the_survey_beside_the_referrals(engine: Any) -> None:
    await seed(engine)
    out = await build(engine, municipality="0180")
    table = report.to_table(out)
    assert "Effekter / Outcomes" in table
    assert re.search(r"Svarsfrekvens / Response rate\s+0\.8\s+0\.25", table)
    assert re.search(r"nådde stöd / Referrals redeemed: reached support\s+1\s", table)
    assert re.search(r"The chat helped \(yes, partly\)\s+10\s", table)
    page = dashboard.page(out, [], {"preset": "2022H1"})
    assert 'id="t-outcomes"' in page and 'id="t-survey"' in page
    assert "Hänvisningar föreslagna" in page and "Svarsfrekvens" in page
    assert "Response rate" not in page                                          # one language at a time
    assert "not_answered" not in page and "knows_where_to_turn" not in page     # labels, never codes
    page = dashboard.page(out, [], {"preset": "2022H1"}, lang="en")
    assert 'id="t-outcomes"' in page and 'id="t-survey"' in page
    assert "Referrals suggested" in page and "Response rate" in page and "Svarsfrekvens" not in page
    assert re.search(r"Response rate</th><td>80 %</td><td>25 %</td>", page)
    assert "not_answered" not in page and "knows_where_to_turn" not in page


async def test_api_stats_has_survey_as_the_contract_says(server: Running) -> None:
    await seed(server.app.state.engine)
    await server.add_account("cora", role="coordinator")
    async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": await server.login("cora")}) as c:
        r = await c.get("/api/stats", params={"from": "2022-01-01", "to": "2022-05-31", "municipality": "0180"})
        s = r.json()["survey"]
        assert s["responses"] == 12
        for question, answers in (("helped", ("yes", "partly", "no")),
                                  ("knows_where_to_turn", ("yes", "no", "unsure")),
                                  ("would_return", ("yes", "no", "unsure"))):
            assert set(answers) <= set(s[question])
        r = await c.get("/api/stats", params={"preset": "2022H1", "municipality": "0180", "publish": "true",
                                              "format": "csv"})
        assert "survey,helped.partly,..," in r.text
        page = await c.get("/stats", params={"preset": "2022H1", "municipality": "0180"})
        assert page.status_code == 200 and 'id="t-outcomes"' in page.text
