"""An attacker tries to recover the withheld cells of published exports, and fails.

Many generated data sets go through the real report (queries, suppression,
JSON); the attacker of ``tests/disclosure_attacker.py`` sees only the published
JSON and the documented meaning of every figure. Against a deliberately weak
suppression (primary only: a lone small cell in a line with a published total)
it recovers cells, which shows it works; against the real one it recovers none.
"""

from __future__ import annotations

import collections
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import delete, insert

from chat.kernel import db
from referral.record import ChatRecord
from referral.stats import disclosure, inference, records_io, report
from referral.models import RecordReferral
from tests.conftest import TEST_SECRET
from tests.disclosure_attacker import attack, flatten, relations, stated_bounds

TODAY = date(2026, 11, 23)
START, END = date(2022, 3, 1), date(2022, 4, 30)
DATA_SETS = 150


def _weighted(rng: random.Random, table: dict[Any, float]) -> Any:
    return rng.choices(list(table), weights=list(table.values()))[0]


def records(seed: int) -> list[str]:
    """A data set of import lines: skewed, so that small cells are common. The chat's language
    and the intake topic come from a second generator, so the first draws what it always did."""
    rng, more = random.Random(seed), random.Random(seed + 10 ** 6)
    out = []
    for start, n in ((START, rng.randint(3, 90)), (START.replace(year=2021), rng.randint(0, 60))):
        for _ in range(n):
            day = start + timedelta(days=rng.randrange(61))
            municipality = _weighted(rng, {"0180": 5, "0182": 2, "0120": 1, "other": 0.5, None: 1.5})
            district = (rng.choice(["bromma", "farsta", "sodermalm", "kungsholmen", None])
                        if municipality == "0180" else None)
            referral = [{"service": rng.choice(["stodcentrum", "rvc-sydvast", "bup"]),
                         "redeemed_on": day.isoformat() if rng.random() < 0.3 else None}] if rng.random() < 0.25 else []
            out.append(json.dumps({
                "day": day.isoformat(), "channel": "web",
                "outcome": _weighted(rng, {"completed": 75, "visitor_left": 8, "dropped": 5, "left_queued": 8, "closed": 4}),
                "non_data": _weighted(rng, {None: 92, "test": 2, "silent": 3, "prank": 2, "abusive": 1}),
                "gender": _weighted(rng, {"girl": 55, "boy": 25, "nonbinary": 5, "not_stated": 15}),
                "topic": _weighted(rng, {"exposed": 50, "uses_violence": 8, "both": 5, "friend_relative": 15,
                                         "professional": 3, "other": 7, None: 12}),
                "age": None if rng.random() < 0.15 else rng.randint(11, 26),
                "municipality": municipality, "district": district,
                "first_contact": _weighted(rng, {"yes": 5, "no": 3, "not_stated": 2}),
                "violence": [v for v in ("physical", "psychological", "sexual", "digital") if rng.random() < 0.3],
                "wait_s": rng.randint(0, 900), "duration_s": rng.randint(60, 3600),
                "referrals": referral,
                "lang": _weighted(more, {"sv": 80, "en": 6, "ar": 5, "fa": 3, "so": 2, "ti": 1, "uk": 3}),
                **({"intake_topic": _weighted(more, {"exposed": 6, "uses_violence": 2, "friend_relative": 2,
                                                     "other": 1}),
                    "specialist": more.random() < 0.6} if more.random() < 0.7 else {}),
            }))
    return out


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Any]:
    url = f"sqlite:///{tmp_path / 'stats.sqlite3'}"
    await db.upgrade_async(url)
    eng = db.create_engine(url)
    yield eng
    await eng.dispose()


def care_marks(recs: list[dict[str, Any]], seed: int) -> None:
    """Escalations, debriefs and heavy chats on some records (the import format has none)."""
    rng = random.Random(seed + 2 * 10 ** 6)
    for rec in recs:
        rec["escalations_help"] = rng.choice([0] * 8 + [1, 2])
        rec["escalations_acute"] = rng.choice([0] * 15 + [1])
        rec["debrief"] = rng.random() < 0.1
        rec["heavy"] = rng.random() < 0.15


async def _load(eng: Any, seed: int) -> None:
    recs, refs = records_io.parse(records(seed), today=TODAY)
    care_marks(recs, seed)
    async with eng.begin() as conn:
        await conn.execute(delete(RecordReferral.__table__))
        await conn.execute(delete(ChatRecord.__table__))
        await conn.execute(insert(ChatRecord.__table__), recs)
        if refs:
            await conn.execute(insert(RecordReferral.__table__), refs)


async def _exports(eng: Any, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    exact = await report.build(eng, report.Request(start=START, end=END), secret=TEST_SECRET.encode(),
                               use_rollup=False)
    published = await report.build(eng, report.Request(start=START, end=END, publish=True, **kw),
                                   secret=TEST_SECRET.encode(), use_rollup=False)
    return exact, published


def _cells(rep: dict[str, Any]) -> tuple[dict[str, int | None], list[Any], list[Any]]:
    cells = {**flatten(rep), **flatten(rep["year_earlier"], "year_earlier.")}
    eqs, les = relations(cells)
    eqs2, les2 = relations(cells, "year_earlier.")
    return cells, eqs + eqs2, les + les2


BLOCKS = ("care", "topic_routing", "by_language", "by_language_contacts", "survey")


async def _campaign(eng: Any, seeds: range) -> dict[str, int]:
    """Attack the published export of every data set; check the attacker against the truth."""
    tally = {"data_sets": 0, "attacked": 0, "recovered": 0, "exactly": 0, **{f"attacked:{b}": 0 for b in BLOCKS}}
    for seed in seeds:
        await _load(eng, seed)
        exact, published = await _exports(eng)
        truth, _, _ = _cells(exact)
        cells, eqs, les = _cells(published)
        assert set(cells) == set(truth)
        found = attack(cells, eqs, les, stated_bounds(published))
        for cell in found.unknowns:                     # the attacker is never wrong
            lo, hi = found.bounds[cell]
            assert lo <= truth[cell] and (hi is None or truth[cell] <= hi), (seed, cell, lo, hi, truth[cell])
        for cell, value in found.exact.items():
            assert value == truth[cell], (seed, cell)
        tally["data_sets"] += 1
        tally["attacked"] += len(found.unknowns)
        for cell in found.unknowns:
            block = cell.removeprefix("year_earlier.").split(".")[0]
            if block in BLOCKS:
                tally[f"attacked:{block}"] += 1
        tally["recovered"] += len(found.recovered)
        tally["exactly"] += len(found.exact)
    return tally


def _primary_only(counts: dict[str, int], lines: Any, threshold: int = 5) -> disclosure.Suppression:
    return disclosure.Suppression({c: "small" for c, n in counts.items() if 0 < n < threshold})


@pytest.mark.parametrize("weakness", ["primary_only", "each_line_on_its_own"])
async def test_the_attacker_recovers_cells_of_a_weak_suppression(
        engine: Any, monkeypatch: pytest.MonkeyPatch, weakness: str) -> None:
    """Primary suppression only (a lone small cell in a line with a published total); or
    secondary suppression that makes each line safe on its own but never checks the
    lines together (as before the attack was written)."""
    if weakness == "primary_only":
        monkeypatch.setattr(disclosure, "suppress", _primary_only)
    else:
        monkeypatch.setattr(inference, "pinned", lambda *a, **k: [])
    tally = await _campaign(engine, range(40))
    print(weakness, tally)
    # Seeded, so these are fixed: 300 of 3132 withheld cells (primary only), 47 of 3490.
    assert tally["recovered"] > 0


async def test_no_withheld_cell_of_a_published_export_can_be_recovered(engine: Any) -> None:
    tally = await _campaign(engine, range(1000, 1000 + DATA_SETS))
    print("real", tally)
    assert tally["attacked"] > 10 * DATA_SETS
    # Every block of counts is in the attack, not only the main table (survey: no answers in these data).
    assert all(tally[f"attacked:{b}"] > 0 for b in BLOCKS if b != "survey"), tally
    assert tally["recovered"] == 0, tally


async def test_cell_key_noise_is_the_same_wherever_the_same_records_are_counted(engine: Any) -> None:
    """Repeated exports, another breakdown, another scope and a later export's year-earlier
    column all show the same perturbed value for the same records: averaging them
    gives back that value, never the true count."""
    differs = 0
    perturbed: collections.Counter[str] = collections.Counter()     # cells whose noise moved them, per block
    for seed in range(2000, 2020):
        await _load(engine, seed)
        secret = TEST_SECRET.encode()

        async def build(**kw: Any) -> dict[str, Any]:
            kw.setdefault("start", START)
            kw.setdefault("end", END)
            return await report.build(engine, report.Request(publish=True, method="cellkey", **kw),
                                      secret=secret, use_rollup=False)

        first, again = await build(), await build()
        assert first == again
        exact = await report.build(engine, report.Request(start=START, end=END), secret=secret, use_rollup=False)
        # counted is a total of five breakdowns and is one number in all of them.
        stockholm = await build(municipality="0180")
        assert stockholm["counted"] == first["by_residence"]["0180"]
        assert stockholm["by_residence"]["0180"] == first["by_residence"]["0180"]
        later = await build(start=START.replace(year=2023), end=END.replace(year=2023))
        assert later["year_earlier"]["by_gender"] == first["by_gender"]
        assert later["year_earlier"]["counted"] == first["counted"]
        differs += first["counted"] != exact["counted"]
        blocks = {cell.split(".")[0] for cell in flatten(first)}
        assert {"care", "topic_routing", "by_language", "by_language_contacts", "survey"} <= blocks
        assert first["care"]["chats"] == first["total"]          # the same records: the same noise
        for cell, n in flatten(first).items():
            # Every block, not only the main table: perturbed, never withheld.
            assert n is not None, cell
            assert abs(n - flatten(exact)[cell]) <= 2, (cell, n, flatten(exact)[cell])
            perturbed[cell.split(".")[0]] += n != flatten(exact)[cell]
    assert differs > 0                       # the noise is really there
    for block in ("care", "topic_routing", "by_language", "by_language_contacts"):
        assert perturbed[block] > 0, block   # in the blocks beside the main table too
