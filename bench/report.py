"""Report queries over 1,000,000 synthetic records, on SQLite and PostgreSQL.

    python -m bench.report [--records 1000000] [--repeats 20] [--only sqlite|postgresql]
                           [--postgres postgresql://postgres@127.0.0.1:5432/test]

Generates the records once (five years, 2021–2025, ~550 a day, 30 % with a
referral; a fixed seed), loads them with executemany (SQLite) or COPY
(PostgreSQL) into a freshly migrated database (``jc_bench_report`` on
PostgreSQL, created and dropped here), and times through the application's own
async engine:

* each dashboard query: one period (the half year 2025H1, all chats), one split
  (``referral.stats.queries.SPLITS``), p50/p95 over ``repeats``;
* the whole half-year report: every split, and the same for 2024H1 beside it
  (``referral.stats.report.build``), p50/p95 over a few repeats;

for all chats and for a partnership's target group (Stockholm, 13–23). Each
database is timed three ways in the same invocation: reading the records with
no report index (the baseline: full-table scans), reading the records through
the covering index of migration 0007, and reading the daily roll-up
(referral/stats/rollup.py). Also timed: building the roll-up, and the sync a read
pays after one record was written. Prints a table and writes
bench/results/report.json.

Volunteer time (``referral.stats.volunteer_time``): the roll-up report is timed
once more after a year of shifts and on-duty rows (``VT_VOLUNTEERS`` accounts,
2024-07-01..2025-06-30, ``VT_PER_EVENING`` shifts an evening and their duty
rows) is loaded, beside the same report over empty shift and duty tables (the
baseline, in the same run); and the volunteer-time block and the hours per
volunteer on their own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import text

from chat.kernel import db
from referral import vocab
from referral.stats import partnership_store, partnerships, queries, report, rollup
from referral.stats.scope import CR, Scope

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_NAME = "jc_bench_report"
FIRST_DAY, DAYS = date(2021, 1, 1), 5 * 365
PERIOD = (date(2025, 1, 1), date(2025, 6, 30))
COLUMNS = ["id", "day", "time_band", "channel", "lang", "outcome", "ended_by", "wait_s", "duration_s", "age",
           "gender", "municipality", "district", "topic", "v_physical", "v_psychological", "v_sexual",
           "v_digital", "v_economic", "v_honour", "first_contact", "volunteer", "non_data", "wrapup_filed"]
MUNICIPALITIES = ["0180"] * 8 + ["0182"] * 2 + ["0120", "0126", "0127", "0138", "0184", "other"] + [None] * 4
DISTRICTS = ["bromma", "farsta", "sodermalm", "rinkeby-kista", "skarholmen", "kungsholmen", None, None]
VT_VOLUNTEERS, VT_PER_EVENING = 120, 4
VT_FIRST, VT_DAYS = date(2024, 7, 1), 365
SERVICES = ["rvc-sydvast", "stodcentrum", "emergency-112", "counselling", "bojs-sthlm-gotland", "umo"]


def generate(n: int, seed: int = 20261123) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = random.Random(seed)
    volunteers = [f"{rng.getrandbits(80):020x}" for _ in range(300)]
    records, referrals = [], []
    weights_outcome = (["completed"] * 16 + ["visitor_left"] * 2 + ["dropped", "left_queued", "closed"])
    for i in range(n):
        rid = f"{rng.getrandbits(128):032x}"
        day = FIRST_DAY + timedelta(days=i * DAYS // n)
        outcome = rng.choice(weights_outcome)
        answered = outcome in ("completed", "visitor_left", "dropped")
        non_data = rng.choice(vocab.NON_DATA) if answered and rng.random() < 0.04 else None
        municipality = rng.choice(MUNICIPALITIES)
        age = None if rng.random() < 0.15 else rng.randint(12, 25)
        forms = [rng.random() < p for p in (0.3, 0.6, 0.1, 0.2, 0.05, 0.03)]
        records.append((
            rid, day, f"{rng.randrange(0, 24, 3):02d}-{rng.randrange(0, 24, 3) + 3:02d}",
            rng.choice(["web", "web", "web", "nacka", "stodcentrum"]), "sv", outcome,
            "visitor" if answered else None, rng.randrange(0, 1200, 10),
            rng.randrange(60, 3600, 10) if answered else 0, age,
            rng.choice(vocab.GENDERS), municipality,
            rng.choice(DISTRICTS) if municipality == "0180" else None,
            rng.choice(vocab.ROLES) if answered and not non_data else None, *forms,
            rng.choice(vocab.FIRST_CONTACT), rng.choice(volunteers) if answered else None, non_data, answered,
        ))
        if answered and rng.random() < 0.3:
            redeemed = day + timedelta(days=rng.randint(1, 30)) if rng.random() < 0.4 else None
            referrals.append((rid, rng.choice(SERVICES), redeemed))
    return records, referrals


def load_sqlite(path: Path, records: list[tuple[Any, ...]], referrals: list[tuple[Any, ...]]) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    marks = ",".join("?" * len(COLUMNS))
    con.executemany(f"INSERT INTO chat_records ({','.join(COLUMNS)}) VALUES ({marks})",
                    [(*r[:1], r[1].isoformat(), *r[2:]) for r in records])
    con.executemany("INSERT INTO record_referrals (record_id, service_id, redeemed_on) VALUES (?,?,?)",
                    [(a, b, c.isoformat() if c else None) for a, b, c in referrals])
    con.commit()
    con.close()


async def load_postgres(url: str, records: list[tuple[Any, ...]], referrals: list[tuple[Any, ...]]) -> None:
    con = await asyncpg.connect(url)
    try:
        await con.copy_records_to_table("chat_records", records=records, columns=COLUMNS)
        await con.copy_records_to_table("record_referrals", records=referrals,
                                        columns=["record_id", "service_id", "redeemed_on"])
    finally:
        await con.close()


def _index_sql(dialect: str, variant: str) -> list[str]:
    from importlib import import_module

    mig = import_module("chat.migrations.versions.0007_statistics")
    drop = [f"DROP INDEX IF EXISTS {mig.REPORT_INDEX}", "DROP INDEX IF EXISTS ix_record_referrals_report"]
    if variant == "none":
        return drop
    cols = ", ".join(mig.REPORT_COLUMNS)
    covering = (f"CREATE INDEX {mig.REPORT_INDEX} ON chat_records (day) INCLUDE ({cols})"
                if dialect == "postgresql" else f"CREATE INDEX {mig.REPORT_INDEX} ON chat_records (day, {cols})")
    return drop + [covering, "CREATE INDEX ix_record_referrals_report ON record_referrals "
                             "(record_id, service_id, redeemed_on)"]


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


async def _apply_indexes(engine: Any, variant: str) -> None:
    dialect = engine.dialect.name
    async with engine.begin() as conn:
        for sql in _index_sql(dialect, variant):
            await conn.execute(text(sql))
    if dialect == "postgresql":
        async with engine.connect() as conn:
            ac = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("chat_records", "record_referrals", "stats_daily"):
                await ac.execute(text(f"VACUUM ANALYZE {table}"))
    else:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


async def time_variant(engine: Any, variant: str, repeats: int) -> dict[str, Any]:
    """Time every split and the whole report; ``rollup`` reads stats_daily, the others the records."""
    use_rollup = variant == "rollup"
    sthlm = await partnership_store.load(db.sessionmaker(engine), "stockholm-unga-relationer")
    out: dict[str, Any] = {"queries": {}, "report": {}}
    scopes = {"all": Scope(*PERIOD, rollup="all"),
              "partnership": report.Request(PERIOD[0], PERIOD[1], partnership=sthlm).scope()}
    async with engine.connect() as conn:
        for label, scope in scopes.items():
            await queries.figures(conn, scope, use_rollup=use_rollup)          # warm the cache
            for name in queries.SPLITS:
                samples = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    await queries.figures(conn, scope, splits=(name,), use_rollup=use_rollup)
                    samples.append((time.perf_counter() - t0) * 1000)
                out["queries"][f"{label}:{name}"] = {"p50_ms": round(statistics.median(samples), 1),
                                                     "p95_ms": round(_pct(samples, 0.95), 1)}
    for label, partnership in (("all", None), ("partnership", sthlm)):
        req = report.Request(start=PERIOD[0], end=PERIOD[1], preset="2025H1", partnership=partnership)
        samples = []
        for _ in range(max(3, repeats // 4)):
            t0 = time.perf_counter()
            built = await report.build(engine, req, secret=b"bench" * 8, use_rollup=use_rollup)
            samples.append((time.perf_counter() - t0) * 1000)
        out["report"][label] = {"p50_ms": round(statistics.median(samples), 1),
                                "p95_ms": round(_pct(samples, 0.95), 1),
                                "conversations": built["total"], "year_earlier": built["year_earlier"]["total"]}
    out["worst_query_p95_ms"] = max(q["p95_ms"] for q in out["queries"].values())
    return out


async def time_sync(engine: Any) -> dict[str, float]:
    """What keeping the roll-up exact costs: one chat's record written, then the next read's sync."""
    from referral.stats import records_io

    samples = []
    for i in range(5):
        row, _ = records_io.validate({"day": f"2025-03-{i + 1:02d}", "gender": "girl", "municipality": "0180",
                                      "age": 16, "topic": "exposed"}, today=date(2026, 1, 1))
        async with engine.begin() as conn:
            await conn.execute(CR.insert(), [row])
        t0 = time.perf_counter()
        async with engine.begin() as conn:
            await rollup.sync(conn)
        samples.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


async def load_volunteer_time(engine: Any, seed: int = 20261203) -> dict[str, int]:
    """A year of shifts and on-duty rows for ``VT_VOLUNTEERS`` accounts (through the app's engine)."""
    from datetime import datetime, timezone

    rng = random.Random(seed)
    ids = [f"{rng.getrandbits(128):032x}" for _ in range(VT_VOLUNTEERS)]
    accounts = [{"id": a, "username": f"bench{n}", "display_name": f"Volontär {n}", "password_hash": "x",
                 "role": "volunteer", "languages": "sv", "capacity": 2, "disabled": False,
                 "created_on": date(2024, 1, 1)} for n, a in enumerate(ids)]
    shifts, duty = [], []
    for d in range(VT_DAYS):
        day = VT_FIRST + timedelta(days=d)
        for a in rng.sample(ids, VT_PER_EVENING):
            start = datetime(day.year, day.month, day.day, 18, tzinfo=timezone.utc)
            shifts.append({"account_id": a, "starts_at": start, "ends_at": start + timedelta(hours=3)})
            on = rng.randint(120, 200)
            duty.append({"account_id": a, "day": day, "on_duty_min": on, "in_chat_min": rng.randint(0, on)})
    from volunteer.duty import DutyDay
    from volunteer.models import Account
    from volunteer.shifts import Shift

    async with engine.begin() as conn:
        await conn.execute(Account.__table__.insert(), accounts)
        await conn.execute(Shift.__table__.insert(), shifts)
        await conn.execute(DutyDay.__table__.insert(), duty)
    return {"accounts": len(accounts), "shifts": len(shifts), "duty_rows": len(duty)}


async def time_volunteer_time(engine: Any, repeats: int) -> dict[str, Any]:
    """The roll-up report (2025H1 beside 2024H1, all chats) and the volunteer-time queries alone."""
    from zoneinfo import ZoneInfo

    from referral.stats import volunteer_time

    tz = ZoneInfo("Europe/Stockholm")
    out: dict[str, Any] = {}
    req = report.Request(start=PERIOD[0], end=PERIOD[1], preset="2025H1")
    samples = []
    for _ in range(max(3, repeats // 4)):
        t0 = time.perf_counter()
        built = await report.build(engine, req, secret=b"bench" * 8)
        samples.append((time.perf_counter() - t0) * 1000)
    out["report"] = {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(_pct(samples, 0.95), 1),
                     "on_duty_hours": built["volunteer_time"]["on_duty_hours"]}
    for name, call in (("block", lambda c: volunteer_time.figures(c, *PERIOD, tz=tz, hour_value=350.0)),
                       ("per_volunteer", lambda c: volunteer_time.per_volunteer(c, *PERIOD, tz=tz))):
        samples = []
        async with engine.connect() as conn:
            for _ in range(repeats):
                t0 = time.perf_counter()
                await call(conn)
                samples.append((time.perf_counter() - t0) * 1000)
        out[name] = {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(_pct(samples, 0.95), 1)}
    return out


async def run_variants(url: str, repeats: int, loader: Any) -> dict[str, Any]:
    await db.upgrade_async(url)
    engine = db.create_engine(url)
    try:
        sessions = db.sessionmaker(engine)
        sample = json.loads((ROOT / "referral" / "stats" / "data" / "partnerships.sample.json").read_text())
        for doc in sample:
            await partnership_store.save(sessions, partnerships.validate(doc))
        await _apply_indexes(engine, "none")
        t0 = time.perf_counter()
        await loader()
        result: dict[str, Any] = {"load_s": round(time.perf_counter() - t0, 1)}
        await _apply_indexes(engine, "none")
        result["none"] = await time_variant(engine, "none", max(3, repeats // 4))
        await _apply_indexes(engine, "covering")
        result["covering"] = await time_variant(engine, "covering", repeats)
        t0 = time.perf_counter()
        async with engine.begin() as conn:
            await rollup.rebuild(conn)
        result["rollup_build_s"] = round(time.perf_counter() - t0, 1)
        async with engine.connect() as conn:
            result["rollup_rows"] = (await conn.execute(text("SELECT count(*) FROM stats_daily"))).scalar()
        await _apply_indexes(engine, "covering")
        result["rollup"] = await time_variant(engine, "rollup", repeats)
        result["sync_one_day_ms"] = await time_sync(engine)
        result["volunteer_time_baseline"] = await time_volunteer_time(engine, repeats)
        result["volunteer_time_loaded"] = await load_volunteer_time(engine)
        result["volunteer_time"] = await time_volunteer_time(engine, repeats)
        return result
    finally:
        await engine.dispose()


async def bench_sqlite(records: Any, referrals: Any, repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="jc_bench_") as tmp:
        path = Path(tmp) / "report.sqlite3"

        async def loader() -> None:
            await asyncio.to_thread(load_sqlite, path, records, referrals)

        result = await run_variants(f"sqlite:///{path}", repeats, loader)
        result["size_mb"] = round(path.stat().st_size / 1e6, 1)
        return result


async def bench_postgres(admin_url: str, records: Any, referrals: Any, repeats: int) -> dict[str, Any]:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{PG_NAME}"')
        url = f"{admin_url.rsplit('/', 1)[0]}/{PG_NAME}"
        return await run_variants(url, repeats, lambda: load_postgres(url, records, referrals))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
        await admin.close()


VARIANTS = (("none", "no index"), ("covering", "covering index"), ("rollup", "daily roll-up"))


def print_table(results: dict[str, Any]) -> None:
    for dbname in ("sqlite", "postgresql"):
        res = results.get(dbname)
        if not res:
            continue
        print(f"\n{dbname}: {results['records']:,} records, loaded in {res['load_s']} s; roll-up built in "
              f"{res['rollup_build_s']} s ({res['rollup_rows']:,} rows)")
        print(f"{'2025H1, one split (ms)':<26}" + "".join(f"{label + ' p50/p95':>26}" for _, label in VARIANTS))
        for name in res["covering"]["queries"]:
            cells = [f"{res[v]['queries'][name]['p50_ms']:>9} / {res[v]['queries'][name]['p95_ms']:<9}"
                     for v, _ in VARIANTS]
            print(f"{name:<26}" + "".join(f"{c:>26}" for c in cells))
        for label in ("all", "partnership"):
            cells = [f"{res[v]['report'][label]['p50_ms']:>9} / {res[v]['report'][label]['p95_ms']:<9}"
                     for v, _ in VARIANTS]
            print(f"{'report+year earlier:' + label:<26}" + "".join(f"{c:>26}" for c in cells))
        print(f"roll-up sync after one record is written: p50 {res['sync_one_day_ms']['p50_ms']} ms, "
              f"max {res['sync_one_day_ms']['max_ms']} ms")
        base, vt, loaded = res["volunteer_time_baseline"], res["volunteer_time"], res["volunteer_time_loaded"]
        print(f"volunteer time ({loaded['shifts']:,} shifts, {loaded['duty_rows']:,} duty rows, "
              f"{loaded['accounts']} volunteers), p50/p95 ms:        empty tables   a year loaded")
        for name in ("report", "block", "per_volunteer"):
            print(f"  {name:<26}{base[name]['p50_ms']:>12} / {base[name]['p95_ms']:<9}"
                  f"{vt[name]['p50_ms']:>9} / {vt[name]['p95_ms']:<9}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument("--postgres", default=PG_ADMIN)
    args = ap.parse_args()
    t0 = time.perf_counter()
    records, referrals = generate(args.records)
    print(f"generated {len(records):,} records and {len(referrals):,} referrals in {time.perf_counter() - t0:.1f} s")
    results: dict[str, Any] = {"records": len(records), "referrals": len(referrals),
                               "period": [PERIOD[0].isoformat(), PERIOD[1].isoformat()], "repeats": args.repeats}
    if args.only != "postgresql":
        results["sqlite"] = asyncio.run(bench_sqlite(records, referrals, args.repeats))
    if args.only != "sqlite":
        results["postgresql"] = asyncio.run(bench_postgres(args.postgres, records, referrals, args.repeats))
    print_table(results)
    out = ROOT / "bench" / "results" / "report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
