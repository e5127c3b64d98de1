"""Statistics end to end on SQLite and PostgreSQL: records in, reports out.

The worked example of domain.md comes out exactly, through the engine, the CLI
and ``GET /api/stats``; published exports withhold small cells (and the cells a
total would give away) and are audited; imports are all or nothing; purge keeps
to the retention time.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
from datetime import date
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from chat.kernel import db
from referral.record import ChatRecord
from referral.stats import parts, queries, records_io, report, rollup
from referral.models import RecordReferral
from referral.stats.exceptions import ImportFailed
from referral.stats.scope import Scope
from volunteer.audit import entries
from tests.conftest import TEST_SECRET, Running, jourchatt_command
from tests.worked_example import expected_mean_age, jsonl

SAMPLE = Path(__file__).resolve().parents[2] / "referral" / "stats" / "data" / "partnerships.sample.json"
TODAY = date(2026, 11, 23)
SECRET = TEST_SECRET.encode()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[Any]:
    await db.upgrade_async(database_url)
    eng = db.create_engine(database_url)
    yield eng
    await eng.dispose()


async def _load_example(eng: Any) -> None:
    recs, refs = records_io.parse(jsonl().splitlines(), today=TODAY)
    await records_io.write(eng, recs, refs)


async def _report(eng: Any, use_rollup: bool = True, **kw: Any) -> dict[str, Any]:
    req = report.Request(start=kw.pop("start", date(2022, 1, 1)), end=kw.pop("end", date(2022, 5, 31)), **kw)
    return await report.build(eng, req, secret=SECRET, use_rollup=use_rollup)


async def test_the_worked_example_comes_out_exactly(engine: Any) -> None:
    await _load_example(engine)
    everyone = await _report(engine)
    assert everyone["total"] == 612                      # conversations January–May 2022
    assert everyone["by_residence"]["0180"] == 228       # living in Stockholm
    assert everyone["contacts"] == 612 + 30 + 9          # + left the queue, + out of hours
    assert sum(everyone["non_data"].values()) == 20 and everyone["counted"] == 592

    sthlm = await _report(engine, municipality="0180")
    assert sthlm["total"] == 228
    assert sthlm["by_gender"] == {"girl": 151, "boy": 35, "nonbinary": 0, "not_stated": 42}
    assert sthlm["by_topic"]["exposed"] == 152 and sthlm["by_topic"]["uses_violence"] == 13
    assert sthlm["by_topic"]["friend_relative"] + sthlm["by_topic"]["other"] == 228 - 152 - 13
    assert sthlm["mean_age"] == round(expected_mean_age(), 1) == 17.1   # "drygt 17"
    assert 17 < expected_mean_age() < 17.5
    assert sthlm["by_residence"] == {"0180": 228}
    assert sum(sthlm["by_district"]["0180"].values()) == 228
    assert sthlm["referrals"] == {"stodcentrum": {"suggested": 23, "redeemed": 0}}
    assert sthlm["queue"]["left_queue"] == 12            # Stockholm visitors who gave up waiting

    # the same period a year earlier, beside it
    assert sthlm["year_earlier"]["period"] == {"from": "2021-01-01", "to": "2021-05-31"}
    assert sthlm["year_earlier"]["total"] == 150
    assert sthlm["year_earlier"]["by_topic"]["uses_violence"] == 9
    table = report.to_table(sthlm).splitlines()
    assert "Kön / Gender" in table and any(line.split() == ["girl", "151", "75"] for line in table)
    assert any(line.split()[:3] == ["Samtal", "/", "Conversations"] and line.split()[-2:] == ["228", "150"]
               for line in table)


async def test_a_partnerships_target_group_and_presets(engine: Any) -> None:
    from referral.stats import partnership_store, partnerships

    await _load_example(engine)
    sessions = db.sessionmaker(engine)
    for doc in json.loads(SAMPLE.read_text()):
        await partnership_store.save(sessions, partnerships.validate(doc))
    sthlm = await partnership_store.load(sessions, "stockholm-unga-relationer")
    out = await _report(engine, partnership=sthlm)
    assert out["total"] == 228 and out["by_gender"]["girl"] == 151       # every age was 13-23 or unknown
    # narrowed to 16-17 (unknown ages stay in): saving rebuilds its roll-up scope
    narrow = partnerships.Partnership(**{**sthlm.__dict__, "age_min": 16, "age_max": 17})
    await partnership_store.save(sessions, narrow, replace=True)
    ages = (await _report(engine, partnership=narrow))["by_age_band"]
    assert ages == (await _report(engine, partnership=narrow, use_rollup=False))["by_age_band"]
    assert ages["13-15"] == ages["18-20"] == 0 and ages["16-17"] > 0 and ages["not_stated"] == 12
    nacka = await partnership_store.load(sessions, "nacka-samtalsforum")
    t = await _report(engine, partnership=nacka, start=date(2022, 1, 1), end=date(2022, 4, 30), preset="2022T1")
    assert set(t["by_residence"]) == {"0182", "0120"}
    assert t["period"] == {"from": "2022-01-01", "to": "2022-04-30", "preset": "2022T1"}
    assert t["year_earlier"]["by_residence"]["0182"] > 0


async def test_publication_withholds_small_cells_and_the_cells_that_would_reveal_them(engine: Any) -> None:
    rows = []
    # 20 conversations in Nacka: 12 girls, 3 boys, 5 not stated.
    for i, gender in enumerate(["girl"] * 12 + ["boy"] * 3 + ["not_stated"] * 5):
        row, _ = records_io.validate({"day": "2023-03-01", "gender": gender, "municipality": "0182",
                                      "age": 15, "topic": "exposed"}, today=TODAY)
        rows.append(row)
    await records_io.write(engine, rows, [])
    exact = await _report(engine, start=date(2023, 1, 1), end=date(2023, 4, 30))
    assert exact["by_gender"]["boy"] == 3 and exact["published"] is False
    pub = await _report(engine, start=date(2023, 1, 1), end=date(2023, 4, 30), publish=True)
    assert pub["by_gender"]["boy"] == {"suppressed": True}
    assert pub["by_gender"]["not_stated"] == {"suppressed": True}    # else 20 - 12 - 0 reveals the 3
    assert pub["by_gender"]["girl"] == 12 and pub["counted"] == 20
    reasons = {s["cell"]: s["reason"] for s in pub["disclosure"]["suppressed"]}
    # The same reason for every withheld cell: which are the small ones is not told.
    assert reasons["by_gender.boy"] == reasons["by_gender.not_stated"] == report.withheld_reason(5)
    flat = json.dumps(pub)
    assert '"boy": 3' not in flat
    text = report.to_csv(pub)
    assert "by_gender,boy,..," in text
    assert f"suppressed,by_gender.boy,..,{report.withheld_reason(5)}" in text


async def test_cell_keys_from_sql_match_the_records_and_the_same_cell_gets_the_same_value(engine: Any) -> None:
    await _load_example(engine)
    async with engine.connect() as conn:
        fig = await queries.figures(conn, Scope(date(2022, 1, 1), date(2022, 5, 31), municipalities=("0180",)),
                                  keys=True, splits=("gender_topic",))
        cr = ChatRecord.__table__
        ids = (await conn.execute(select(cr.c.id).where(cr.c.municipality == "0180", cr.c.gender == "boy",
                                                         cr.c.outcome == "completed",
                                                         cr.c.day >= date(2022, 1, 1)))).scalars().all()
    assert fig.keys["by_gender.boy"] == sum(parts.record_key(i) for i in ids)
    a = await _report(engine, municipality="0180", publish=True, method="cellkey")
    b = await _report(engine, publish=True, method="cellkey")
    # "girls in Stockholm" is the same set of records in both reports, so the same number
    assert a["by_gender"]["girl"] == (await _report(engine, municipality="0180", publish=True,
                                                    method="cellkey"))["by_gender"]["girl"]
    assert abs(a["by_gender"]["girl"] - 151) <= 2 and abs(a["total"] - 228) <= 2
    assert a["total"] == b["by_residence"]["0180"] or abs(b["by_residence"]["0180"] - 228) <= 2
    assert "suppressed" not in a["disclosure"] and "cell key" in a["disclosure"]["note"]


async def test_import_is_all_or_nothing_and_names_the_bad_lines(engine: Any, tmp_path: Path) -> None:
    good = json.dumps({"day": "2022-02-01", "gender": "girl", "age": 16})
    lines = [good, "{not json", good, json.dumps({"day": "2022-02-01", "gender": "flicka"}),
             json.dumps({"day": "2022-02-01", "notes": "she said her name was ..."}), "",
             json.dumps({"day": "2099-01-01"}), json.dumps({"day": "2022-02-01", "district": "bromma"})]
    path = tmp_path / "old.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportFailed) as info:
        await records_io.import_file(engine, path, today=TODAY)
    assert [n for n, _ in info.value.errors] == [2, 4, 5, 7, 8]
    assert "not JSON" in info.value.errors[0][1] and "gender" in info.value.errors[1][1]
    assert "unknown field 'notes'" in info.value.errors[2][1]
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(ChatRecord.__table__))).scalar_one() == 0
    path.write_text(good + "\n" + good + "\n")
    assert await records_io.import_file(engine, path, today=TODAY) == 2


async def test_purge_deletes_what_is_older_than_retention_with_a_dry_run(engine: Any) -> None:
    rows = []
    for day in ["2021-11-22", "2021-11-23", "2024-01-01"]:
        row, refs = records_io.validate({"day": day, "referrals": [{"service": "rvc-sydvast", "redeemed_on": None}]},
                                        today=TODAY)
        rows.append((row, refs))
    await records_io.write(engine, [r for r, _ in rows], [x for _, refs in rows for x in refs])
    assert await records_io.purge(engine, today=TODAY, years=5, dry_run=True) == (1, date(2021, 11, 23))
    assert await records_io.purge(engine, today=TODAY, years=5, dry_run=False) == (1, date(2021, 11, 23))
    async with engine.connect() as conn:
        days = sorted((await conn.execute(select(ChatRecord.__table__.c.day))).scalars().all())
        refs = (await conn.execute(select(func.count()).select_from(RecordReferral.__table__))).scalar_one()
    assert [str(d) for d in days] == ["2021-11-23", "2024-01-01"] and refs == 2


def _cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*jourchatt_command(), *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=120)


async def test_cli_import_partnerships_and_report(database_url: str, tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("JOURCHATT_")}, "JOURCHATT_DATABASE_URL": database_url, "JOURCHATT_VAR_DIR": str(tmp_path / "var"),
           "JOURCHATT_SECRET_KEY": TEST_SECRET, "JOURCHATT_LOG_LEVEL": "warning"}
    await db.upgrade_async(database_url)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"day": "2022-01-01"}\n{"day": "2022-01-01", "gender": "x"}\n')
    r = await asyncio.to_thread(_cli, ["records", "import", str(bad)], env)
    assert r.returncode == 1 and "line 2: gender must be one of" in r.stderr and "nothing was imported" in r.stderr
    good = tmp_path / "old.jsonl"
    good.write_text(jsonl())
    r = await asyncio.to_thread(_cli, ["records", "import", str(good)], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "imported 1051 records\n"
    r = await asyncio.to_thread(_cli, ["partnership", "add", str(SAMPLE)], env)
    assert r.returncode == 0 and "added nacka-samtalsforum" in r.stdout, r.stderr
    r = await asyncio.to_thread(_cli, ["partnership", "list"], env)
    assert "stockholm-unga-relationer" in r.stdout and "2024-12-14" in r.stdout
    r = await asyncio.to_thread(_cli, ["report", "--partnership", "stockholm-unga-relationer", "--from", "2022-01-01",
                                       "--to", "2022-05-31", "--format", "json"], env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["total"], out["by_gender"]["girl"], out["by_gender"]["boy"]) == (228, 151, 35)
    assert (out["by_topic"]["exposed"], out["by_topic"]["uses_violence"], out["mean_age"]) == (152, 13, 17.1)
    r = await asyncio.to_thread(_cli, ["report", "--preset", "2022H1", "--municipality", "0180", "--format", "csv",
                                       "--public"], env)
    assert r.returncode == 0, r.stderr
    table = list(csv.reader(io.StringIO(r.stdout)))
    assert table[0] == ["section", "item", "2022-01-01..2022-06-30", "2021-01-01..2021-06-30"]
    assert ["total", "", "228", "150"] in table
    r = await asyncio.to_thread(_cli, ["report", "--partnership", "nope", "--preset", "2022"], env)
    assert r.returncode == 1 and "no partnership" in r.stderr
    engine = db.create_engine(database_url)
    try:
        audit = await entries(db.sessionmaker(engine))
    finally:
        await engine.dispose()
    assert [(a.actor, a.action, a.subject) for a in audit] == [("cli", "stats.export", "2022-01-01/2022-06-30")]


async def test_api_stats_contract_roles_errors_and_audited_exports(server: Running) -> None:
    await _load_example(server.app.state.engine)
    await server.add_account("cora", role="coordinator")
    await server.add_account("vera", role="volunteer")
    async with httpx.AsyncClient(base_url=server.http) as anon:
        r = await anon.get("/api/stats", params={"from": "2022-01-01", "to": "2022-05-31"})
        assert r.status_code == 401 and r.json()["error"] == "not_authenticated"
        r = await anon.get("/api/stats", params={"preset": "2022H1"},
                           headers={"Cookie": await server.login("vera")})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": await server.login("cora")}) as c:
        r = await c.get("/api/stats", params={"from": "2022-01-01", "to": "2022-05-31", "municipality": "0180"})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        body = r.json()
        for key in ("total", "by_gender", "by_topic", "by_residence", "mean_age", "referrals"):
            assert key in body
        assert (body["total"], body["by_residence"], body["mean_age"]) == (228, {"0180": 228}, 17.1)
        assert body["referrals"]["stodcentrum"] == {"suggested": 23, "redeemed": 0}
        r = await c.get("/api/stats", params={"preset": "2022H1", "split": "gender_topic", "year_earlier": "false"})
        assert r.status_code == 200 and "year_earlier" not in r.json() and "by_gender" in r.json()
        r = await c.get("/api/stats", params={"preset": "2022H1", "municipality": "0180", "publish": "true"})
        assert r.json()["published"] is True and r.json()["disclosure"]["method"] == "suppress"
        r = await c.get("/api/stats", params={"preset": "2022H1", "format": "csv"})
        assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
        for params, code, status in [({"from": "2022-01-01"}, "invalid_period", 400),
                                     ({"preset": "2022X"}, "invalid_period", 400),
                                     ({"preset": "2022", "municipality": "9999"}, "invalid_municipality", 400),
                                     ({"preset": "2022", "partnership": "nope"}, "unknown_partnership", 404),
                                     ({"preset": "2022", "method": "noise"}, "invalid_stats_query", 400),
                                     ({"preset": "2022", "colour": "red"}, "invalid_stats_query", 400)]:
            r = await c.get("/api/stats", params=params)
            assert (r.status_code, r.json()["error"]) == (status, code), params
            assert r.json()["detail"]
        r = await c.get("/api/partnerships")
        assert r.status_code == 200 and r.json() == {"partnerships": []}
    audit = await entries(server.app.state.db)
    assert sorted((a.action, a.subject) for a in audit) == [("stats.export", "2022-01-01/2022-06-30")] * 2


# Whole months only, ragged edges on both sides, within one month, a single day.
PERIODS = [(date(2023, 1, 1), date(2023, 12, 31)), (date(2022, 3, 17), date(2023, 8, 9)),
           (date(2023, 2, 3), date(2023, 2, 26)), (date(2023, 6, 1), date(2023, 6, 1))]


async def _same_from_rollup_and_records(eng: Any, scopes: list[dict[str, Any]]) -> None:
    for kw in scopes:
        for method in ("suppress", "cellkey"):
            for start, end in PERIODS:
                args = {"start": start, "end": end, "publish": method == "cellkey", "method": method, **kw}
                fast, slow = await _report(eng, **args), await _report(eng, use_rollup=False, **args)
                assert fast == slow, (kw, method, start, end)


async def test_the_roll_up_stays_exact_whoever_writes(engine: Any) -> None:
    import random

    from sqlalchemy import delete, update

    from referral.record import write_record
    from referral.stats import partnership_store, partnerships

    sessions = db.sessionmaker(engine)
    for doc in json.loads(SAMPLE.read_text()):
        await partnership_store.save(sessions, partnerships.validate(doc))
    sthlm = await partnership_store.load(sessions, "stockholm-unga-relationer")
    rng = random.Random(5)
    lines = []
    for i in range(300):
        lines.append({"day": f"{rng.choice([2022, 2023])}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                      "channel": rng.choice(["web", "nacka"]), "age": rng.choice([None, 12, 14, 16, 19, 22, 25]),
                      "gender": rng.choice(["girl", "boy", "nonbinary", "not_stated"]),
                      "municipality": rng.choice(["0180", "0182", "0120", None]),
                      "outcome": rng.choice(["completed", "completed", "left_queued", "dropped"]),
                      "topic": rng.choice(["exposed", "uses_violence", None]), "wait_s": rng.randrange(0, 300, 10),
                      "violence": rng.sample(["physical", "digital", "sexual"], rng.randint(0, 2)),
                      "non_data": rng.choice([None] * 9 + ["prank"]),
                      "referrals": [{"service": rng.choice(["rvc-sydvast", "stodcentrum"]), "redeemed_on": None}]
                      * rng.randint(0, 1)})
    recs, refs = records_io.parse([json.dumps(x) for x in lines], today=TODAY)
    await records_io.write(engine, recs, refs)
    # imports carry no volunteer: give the answered chats pseudonyms and durations (the volunteers split)
    async with engine.begin() as conn:
        ids = (await conn.execute(select(ChatRecord.__table__.c.id).order_by(ChatRecord.__table__.c.id))).scalars()
        for rid in list(ids):
            await conn.execute(update(ChatRecord.__table__).where(ChatRecord.__table__.c.id == rid).values(
                volunteer=rng.choice(["a1", "b2", "c3", "d4", "e5"]), duration_s=rng.randrange(60, 3600, 10)))
    scopes = [{}, {"municipality": "0180"}, {"partnership": sthlm}, {"partnership": sthlm, "municipality": "0180"}]
    await _same_from_rollup_and_records(engine, scopes)
    whole_year = await _report(engine, start=date(2023, 1, 1), end=date(2023, 12, 31))
    assert whole_year["total"] > 50
    assert whole_year["volunteers"]["volunteers"] == 5 and whole_year["volunteers"]["hours"] > 10
    async with engine.connect() as conn:
        scopes_built = set((await conn.execute(select(rollup.ROLLUP.c.scope).distinct())).scalars().all())
    assert {"all", "m:0180", "m:-", "p:stockholm-unga-relationer", "p:nacka-samtalsforum"} <= scopes_built
    # the per-volunteer split is also kept per month, summed from its day rows
    async with engine.connect() as conn:
        months = (await conn.execute(select(func.count()).select_from(rollup.ROLLUP)
                                     .where(rollup.ROLLUP.c.split == "volunteers:m"))).scalar()
    assert months and months > 0

    # the chat writes a record (its own path), a partner redeems a code, a record is corrected and one deleted
    row, _ = records_io.validate({"day": "2023-06-01", "gender": "boy", "municipality": "0180", "age": 17},
                                 today=TODAY)
    await write_record(sessions, row)
    rr, cr = RecordReferral.__table__, ChatRecord.__table__
    async with engine.begin() as conn:
        await conn.execute(update(rr).where(rr.c.id.in_(select(rr.c.id).limit(20))).values(redeemed_on=date(2023, 12, 31)))
        await conn.execute(update(cr).where(cr.c.id.in_(select(cr.c.id).where(cr.c.day >= date(2023, 1, 1)).limit(5)))
                           .values(gender="girl", age=15))
        await conn.execute(delete(cr).where(cr.c.id.in_(select(cr.c.id).where(cr.c.day >= date(2023, 1, 1)).limit(7))))
    await _same_from_rollup_and_records(engine, scopes)
    assert await records_io.purge(engine, today=date(2028, 2, 1), years=5, dry_run=False) != (0, None)
    await _same_from_rollup_and_records(engine, scopes)
