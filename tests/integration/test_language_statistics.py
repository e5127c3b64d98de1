"""The chat's language counted per period (referral/stats/languages.py), on SQLite and PostgreSQL:
exact, published with small counts withheld, a year earlier beside it, in /api/stats, the CSV and
the dashboard (by label, never by code)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from chat.kernel import languages
from referral.stats import records_io, report
from tests.conftest import Running

from .test_statistics import SECRET, TODAY, engine  # noqa: F401  (engine: the fixture)


def _rows(day: str, counts: dict[str, int], outcome: str = "completed") -> list[Any]:
    out = []
    for lang, n in counts.items():
        for _ in range(n):
            row, _refs = records_io.validate({"day": day, "lang": lang, "outcome": outcome, "topic": "exposed"},
                                             today=TODAY)
            out.append(row)
    return out


async def _load(eng: Any) -> None:
    rows = _rows("2023-03-01", {"sv": 20, "ar": 7, "ti": 2, "uk": 6})
    rows += _rows("2023-03-02", {"so": 1, "ar": 1}, outcome="left_queued")       # contacts, not conversations
    rows += _rows("2022-03-01", {"sv": 9, "fa": 5})                               # a year earlier
    await records_io.write(eng, rows, [])


async def _report(eng: Any, **kw: Any) -> dict[str, Any]:
    req = report.Request(start=date(2023, 1, 1), end=date(2023, 4, 30), **kw)
    return await report.build(eng, req, secret=SECRET)


async def test_each_language_is_counted_exactly_with_the_year_before(engine: Any) -> None:  # noqa: F811
    await _load(engine)
    out = await _report(engine)
    assert out["by_language"] == {"sv": 20, "en": 0, "ar": 7, "fa": 0, "so": 0, "ti": 2, "uk": 6}
    assert list(out["by_language"]) == list(languages.CODES)
    assert sum(out["by_language"].values()) == out["total"] == 35
    assert out["by_language_contacts"]["so"] == 1 and out["by_language_contacts"]["ar"] == 8
    assert sum(out["by_language_contacts"].values()) == out["contacts"]
    assert out["year_earlier"]["by_language"]["fa"] == 5 and out["year_earlier"]["by_language"]["ar"] == 0
    text = report.to_csv(out)
    assert "by_language,ti,2,0" in text and "by_language,fa,0,5" in text


async def test_published_language_counts_withhold_small_ones_and_what_would_reveal_them(engine: Any) -> None:  # noqa: F811
    await _load(engine)
    pub = await _report(engine, publish=True, threshold=5)
    hidden = {"suppressed": True}
    # ti (2) is small. The languages add up to total, and total is withheld here itself (two
    # queue leavers of 37 contacts are small, so the 35 completed and their total go too):
    # ti is one of two withheld members of that line, so uk (6) can stay.
    assert pub["total"] == hidden
    assert pub["by_language"] == {"sv": 20, "en": 0, "ar": 7, "fa": 0, "so": 0, "ti": hidden, "uk": 6}
    # contacts (37) are published: so (1) and ti (2) are small and together only 3, which
    # a reader would learn by subtraction, so the smallest other one (uk, 6) goes too.
    assert pub["contacts"] == 37
    assert pub["by_language_contacts"] == {"sv": 20, "en": 0, "ar": 8, "fa": 0, "so": hidden, "ti": hidden,
                                           "uk": hidden}
    reasons = {s["cell"]: s["reason"] for s in pub["disclosure"]["suppressed"]}
    assert reasons["by_language.ti"] == reasons["by_language_contacts.uk"] == report.withheld_reason(5)
    assert "by_language,ti,..," in report.to_csv(pub)


async def test_api_stats_and_the_dashboard_show_languages_by_name(server: Running) -> None:
    await _load(server.app.state.engine)
    await server.add_account("cora", role="coordinator")
    async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": await server.login("cora")}) as c:
        r = await c.get("/api/stats", params={"from": "2023-01-01", "to": "2023-04-30"})
        assert r.status_code == 200
        assert r.json()["by_language"]["uk"] == 6 and r.json()["by_language_contacts"]["so"] == 1
        page = (await c.get("/stats", params={"from": "2023-01-01", "to": "2023-04-30"})).text
    assert 'id="t-language"' in page
    for label in ("Arabiska", "Tigrinja", "Ukrainska", "Svenska"):   # one language at a time
        assert label in page
    assert '<th scope="row">ar</th>' not in page
