"""The report engine: grouped queries over the de-identified records (no row loops).

A report covers the chats that started in a period and fall in a scope (all
chats, a partnership's target group, a municipality). Every figure comes from a
handful of GROUP BY queries, each one range scan of the covering index
``ix_chat_records_report`` (migration 0007); Python only folds their grouped rows
(a few hundred at most) into cells.

What is counted (docs/statistics.md has the worked example):

* ``contacts``: every record in the period and scope, whatever its outcome.
* ``total``: conversations, i.e. records a volunteer answered (outcome
  ``completed``, ``visitor_left`` or ``dropped``); queue leavers and chats
  turned away out of hours are contacts, not conversations.
* ``non_data``: conversations marked test, silent, prank or abusive. They count
  in ``total`` (volume) and in no split.
* ``counted``: ``total`` minus the non-data ones; every split (gender, topic,
  residence, age, violence, first contact, referrals) is over these.
* ``mean_age`` over the counted conversations whose age was stated.

The result is ``Figures``: a flat map of cell ids (``by_gender.girl``,
``by_district.0180.bromma``, ``referrals.rvc-sydvast.suggested``) to exact counts,
the additive relations between them (``lines``: a total and its parts, which
disclosure control needs), and measures that are not counts (mean age, wait
times, volunteer hours). With ``keys=True`` each cell also gets the sum of its
records' keys, for the cell key method (``disclosure``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from .. import geography, vocab
from . import disclosure, presets, rollup, survey
from .parts import parts, record_key_sql
from .scope import ANSWERED, CR, RR, Scope, where

# Age bands of the reports: the target group is 13-23, most visitors are 15-20.
AGE_BANDS = (("under_13", None, 12), ("13-15", 13, 15), ("16-17", 16, 17), ("18-20", 18, 20),
             ("21-23", 21, 23), ("over_23", 24, None))


@dataclass
class Figures(disclosure.Table):
    """A report's exact counts per cell, their record-key sums, the lines between cells
    (``disclosure.Table``), and the measures that are not counts."""

    measures: dict[str, Any] = field(default_factory=dict)


class _Runner:
    """Runs one split's parts over the scope: from the roll-up when the scope has one, else raw."""

    def __init__(self, conn: AsyncConnection, scope: Scope, keys: bool, use_rollup: bool) -> None:
        self.conn, self.scope, self.keys = conn, scope, keys
        self.rk = record_key_sql(conn.dialect.name)
        self.use_rollup = use_rollup and scope.rollup is not None

    async def rows(self, split: str) -> list[Any]:
        """Rows of (k1, k2, n, key sum, extra, extra key) for ``split``; for ``week`` k1 is the day."""
        if self.use_rollup:
            return await rollup.read(self.conn, self.scope, split)
        out: list[Any] = []
        for part in parts(split, self.rk if self.keys else literal(0)):
            k1 = CR.c.day if split == "week" else part.k1
            stmt = (select(k1, part.k2, part.n, part.key, part.extra, part.extra_key)
                    .select_from(CR.join(RR, RR.c.record_id == CR.c.id) if part.referrals else CR)
                    .where(*where(self.scope, part.kind), *part.cond)
                    .group_by(*(c for c in (k1, part.k2) if not isinstance(c, BindParameter))))
            out += (await self.conn.execute(stmt)).all()
        return out


def _band(age: int) -> str:
    for name, low, high in AGE_BANDS:
        if (low is None or age >= low) and (high is None or age <= high):
            return name
    raise AssertionError(age)


def _percentile(hist: dict[int, int], q: float) -> float | None:
    """The q-quantile of a histogram {value: count}, by the nearest-rank rule."""
    n = sum(hist.values())
    if n == 0:
        return None
    rank, seen = max(1, math.ceil(q * n)), 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return float(value)
    return float(max(hist))


async def volume(r: _Runner, f: Figures) -> None:
    """contacts, outcomes, conversations, non-data, counted; wait times and queue leavers."""
    for o in vocab.OUTCOMES:
        f.add(f"by_outcome.{o}", 0)
    for cell in ("contacts", "total", "counted"):
        f.add(cell, 0)
    for kind in vocab.NON_DATA:
        f.add(f"non_data.{kind}", 0)
    for outcome, non_data, n, key, _x, _xk in await r.rows("volume"):
        f.add(f"by_outcome.{outcome}", n, key)
        f.add("contacts", n, key)
        if outcome in ANSWERED:
            f.add("total", n, key)
            f.add(f"non_data.{non_data}" if non_data else "counted", n, key)
    f.line("contacts", [f"by_outcome.{o}" for o in vocab.OUTCOMES])
    f.line("total", [f"by_outcome.{o}" for o in ANSWERED])
    f.line("total", ["counted", *(f"non_data.{k}" for k in vocab.NON_DATA)])
    waits: dict[int, int] = {}
    for wait_s, _k2, n, *_ in await r.rows("wait"):
        waits[int(wait_s)] = waits.get(int(wait_s), 0) + int(n)
    left = f.counts["by_outcome.left_queued"]
    entered = f.counts["total"] + left
    f.measures["queue"] = {
        "answered": f.counts["total"], "left_queue": left,
        "left_queue_share": round(left / entered, 3) if entered else None,
        "median_wait_s": _percentile(waits, 0.5), "p90_wait_s": _percentile(waits, 0.9),
    }


async def gender_topic(r: _Runner, f: Figures) -> None:
    topics = (*vocab.ROLES, "not_stated")
    for g in vocab.GENDERS:
        f.add(f"by_gender.{g}", 0)
    for t in topics:
        f.add(f"by_topic.{t}", 0)
        for g in vocab.GENDERS:
            f.add(f"by_topic_gender.{t}.{g}", 0)
    for gender, topic, n, key, *_ in await r.rows("gender_topic"):
        f.add(f"by_gender.{gender}", n, key)
        f.add(f"by_topic.{topic}", n, key)
        f.add(f"by_topic_gender.{topic}.{gender}", n, key)
    f.line("counted", [f"by_gender.{g}" for g in vocab.GENDERS])
    f.line("counted", [f"by_topic.{t}" for t in topics])
    for t in topics:
        f.line(f"by_topic.{t}", [f"by_topic_gender.{t}.{g}" for g in vocab.GENDERS])
    for g in vocab.GENDERS:
        f.line(f"by_gender.{g}", [f"by_topic_gender.{t}.{g}" for t in topics])


async def first_contact(r: _Runner, f: Figures) -> None:
    for v in vocab.FIRST_CONTACT:
        f.add(f"by_first_contact.{v}", 0)
    for value, _k2, n, key, *_ in await r.rows("first_contact"):
        f.add(f"by_first_contact.{value}", n, key)
    f.line("counted", [f"by_first_contact.{v}" for v in vocab.FIRST_CONTACT])


async def ages(r: _Runner, f: Figures) -> None:
    bands = [b[0] for b in AGE_BANDS] + ["not_stated"]
    for b in bands:
        f.add(f"by_age_band.{b}", 0)
    total = stated = 0
    f.add("age_stated", 0)
    for raw, _k2, n, key, *_ in await r.rows("age"):
        age = int(raw) if raw not in (None, "") else None
        f.add(f"by_age_band.{'not_stated' if age is None else _band(age)}", n, key)
        if age is not None:
            total, stated = total + age * int(n), stated + int(n)
            f.add("age_stated", n, key)
    f.line("counted", [f"by_age_band.{b}" for b in bands])
    # age_stated is published beside the mean age: it is a total of the stated bands.
    f.line("counted", ["age_stated", "by_age_band.not_stated"])
    f.line("age_stated", [f"by_age_band.{b}" for b in bands if b != "not_stated"])
    f.measures["mean_age"] = {"value": round(total / stated, 1) if stated else None, "n": stated}


async def residence(r: _Runner, f: Figures) -> None:
    rows = [(m or None, d or None, n, key) for m, d, n, key, *_ in await r.rows("residence")]
    codes: list[str] = []
    for code, districts in geography.DISTRICTS.items():
        if any(row[0] == code for row in rows) or code in r.scope.municipalities:
            for d in [*districts, "not_stated"]:
                f.add(f"by_district.{code}.{d}", 0)
    for municipality, district, n, key in sorted(rows, key=lambda x: (x[0] is None, x[0] or "", x[1] or "")):
        code = municipality or "not_stated"
        if code not in codes:
            codes.append(code)
        f.add(f"by_residence.{code}", n, key)
        if municipality in geography.DISTRICTS:
            f.add(f"by_district.{municipality}.{district or 'not_stated'}", n, key)
    for code in r.scope.municipalities:
        if f"by_residence.{code}" not in f.counts:
            f.add(f"by_residence.{code}", 0)
            codes.append(code)
    f.line("counted", [f"by_residence.{c}" for c in codes])
    for code, districts in geography.DISTRICTS.items():
        if f"by_residence.{code}" in f.counts:
            f.line(f"by_residence.{code}", [f"by_district.{code}.{d}" for d in [*districts, "not_stated"]])


async def violence(r: _Runner, f: Figures) -> None:
    """Forms of violence: several per conversation, so the cells do not add up to a total."""
    for form in [*vocab.VIOLENCE, "none_recorded"]:
        f.add(f"by_violence.{form}", 0)
    for form, _k2, n, key, *_ in await r.rows("violence"):
        f.add(f"by_violence.{form}", n, key)


async def volunteers(r: _Runner, f: Figures) -> None:
    """Volunteer hours: chat durations summed per pseudonym (who is never shown)."""
    rows = await r.rows("volunteers")
    seconds = sum(int(row[4] or 0) for row in rows)
    people = sum(1 for row in rows if row[0])
    f.measures["volunteers"] = {"hours": round(seconds / 3600, 1), "volunteers": people}


async def weeks(r: _Runner, f: Figures) -> None:
    """Conversations per ISO week (keyed by the week's Monday), every week of the period present."""
    monday = r.scope.start - timedelta(days=r.scope.start.weekday())
    week_cells = []
    while monday <= r.scope.end:
        week_cells.append(f"by_week.{monday.isoformat()}")
        f.add(week_cells[-1], 0)
        monday += timedelta(days=7)
    for day, _k2, n, key, *_ in await r.rows("week"):
        day = presets.as_date(day)
        f.add(f"by_week.{(day - timedelta(days=day.weekday())).isoformat()}", n, key)
    f.line("total", week_cells)


async def referrals(r: _Runner, f: Figures) -> None:
    """Referrals suggested and redeemed per service, in the counted conversations."""
    suggested, redeemed = [], []
    f.add("referrals_total.suggested", 0)
    f.add("referrals_total.redeemed", 0)
    for service, _k2, n, key, used, used_key in sorted(await r.rows("referrals")):
        f.add(f"referrals.{service}.suggested", n, key)
        f.add(f"referrals.{service}.redeemed", used, used_key)
        f.add("referrals_total.suggested", n, key)
        f.add("referrals_total.redeemed", used, used_key)
        suggested.append(f"referrals.{service}.suggested")
        redeemed.append(f"referrals.{service}.redeemed")
    f.line("referrals_total.suggested", suggested)
    f.line("referrals_total.redeemed", redeemed)


# Each split is one grouped query; the dashboard asks for one, a report for all.
SPLITS = {
    "volume": volume, "gender_topic": gender_topic, "first_contact": first_contact, "age": ages,
    "residence": residence, "violence": violence, "volunteers": volunteers, "week": weeks,
    "referrals": referrals, "survey": survey.figures,
}


async def figures(conn: AsyncConnection, scope: Scope, *, keys: bool = False,
                  splits: tuple[str, ...] = tuple(SPLITS), use_rollup: bool = True) -> Figures:
    """Every figure of ``scope`` (or only ``splits``), exact.

    With a roll-up scope the figures come from ``stats_daily``, which the caller
    has brought up to date in this transaction (``rollup.sync``); else, or with
    ``use_rollup=False``, from the records themselves.
    """
    runner, out = _Runner(conn, scope, keys, use_rollup), Figures()
    for name in splits:
        await SPLITS[name](runner, out)
    return out
