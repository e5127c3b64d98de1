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
records' keys, for the cell key method (referral/disclosure.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from chat.record import ChatRecord

from . import geography, presets, vocab
from .models import RecordReferral

CR = ChatRecord.__table__
RR = RecordReferral.__table__
ANSWERED = ("completed", "visitor_left", "dropped")
# Age bands of the reports: the target group is 13-23, most visitors are 15-20.
AGE_BANDS = (("under_13", None, 12), ("13-15", 13, 15), ("16-17", 16, 17), ("18-20", 18, 20),
             ("21-23", 21, 23), ("over_23", 24, None))
HEX = "0123456789abcdef"
RECORD_KEY_DIGITS = 6


@dataclass(frozen=True)
class Scope:
    """Which records a report counts: a period and an optional target group."""

    start: date
    end: date
    channels: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    rollup: str | None = None      # the roll-up scope holding exactly these records, if any

    def year_earlier(self) -> "Scope":
        return replace(self, start=presets.year_earlier(self.start), end=presets.year_earlier(self.end))


@dataclass
class Figures:
    counts: dict[str, int] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    lines: list[tuple[str, list[str]]] = field(default_factory=list)
    measures: dict[str, Any] = field(default_factory=dict)

    def add(self, cell: str, n: int, key: int = 0) -> None:
        self.counts[cell] = self.counts.get(cell, 0) + int(n)
        self.keys[cell] = self.keys.get(cell, 0) + int(key or 0)

    def line(self, total: str, parts: list[str]) -> None:
        self.lines.append((total, parts))


def record_key(record_id: str) -> int:
    """A record's key: its id's first hex digits as a number (the same as the SQL below)."""
    value = 0
    for i in range(RECORD_KEY_DIGITS):
        ch = record_id[i:i + 1].lower()
        value = value * 16 + ((HEX.find(ch) + 1 if ch else 1) - 1)
    return value


def _record_key_sql(dialect: str) -> ColumnElement[Any]:
    expr: ColumnElement[Any] = literal(0)
    for i in range(RECORD_KEY_DIGITS):
        ch = func.lower(func.substr(CR.c.id, i + 1, 1))
        pos = func.strpos(HEX, ch) if dialect == "postgresql" else func.instr(HEX, ch)
        expr = expr * 16 + (pos - 1)
    return expr


def _where(scope: Scope, kind: str) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [CR.c.day >= scope.start, CR.c.day <= scope.end]
    if scope.channels:
        conds.append(CR.c.channel.in_(scope.channels))
    if len(scope.municipalities) == 1:
        conds.append(CR.c.municipality == scope.municipalities[0])
    elif scope.municipalities:
        conds.append(CR.c.municipality.in_(scope.municipalities))
    if scope.age_min is not None or scope.age_max is not None:
        bound: list[ColumnElement[bool]] = []
        if scope.age_min is not None:
            bound.append(CR.c.age >= scope.age_min)
        if scope.age_max is not None:
            bound.append(CR.c.age <= scope.age_max)
        conds.append(or_(CR.c.age.is_(None), and_(*bound)))
    if kind in ("answered", "data"):
        conds.append(CR.c.outcome.in_(ANSWERED))
    if kind == "data":
        conds.append(CR.c.non_data.is_(None))
    return conds


class _Runner:
    """Runs one split's parts over the scope: from the roll-up when the scope has one, else raw."""

    def __init__(self, conn: AsyncConnection, scope: Scope, keys: bool, use_rollup: bool) -> None:
        self.conn, self.scope, self.keys = conn, scope, keys
        self.rk = _record_key_sql(conn.dialect.name)
        self.use_rollup = use_rollup and scope.rollup is not None

    async def rows(self, split: str) -> list[Any]:
        """Rows of (k1, k2, n, key sum, extra, extra key) for ``split``; for ``week`` k1 is the day."""
        if self.use_rollup:
            from . import rollup

            return await rollup.read(self.conn, self.scope, split)
        out: list[Any] = []
        for part in parts(split, self.rk if self.keys else literal(0)):
            k1 = CR.c.day if split == "week" else part.k1
            stmt = (select(k1, part.k2, part.n, part.key, part.extra, part.extra_key)
                    .select_from(CR.join(RR, RR.c.record_id == CR.c.id) if part.referrals else CR)
                    .where(*_where(self.scope, part.kind), *part.cond)
                    .group_by(*(c for c in (k1, part.k2) if not isinstance(c, BindParameter))))
            out += (await self.conn.execute(stmt)).all()
        return out


@dataclass(frozen=True)
class Part:
    """One grouped statement of a split: what it groups by and what it sums."""

    kind: str
    k1: ColumnElement[Any]
    k2: ColumnElement[Any]
    n: ColumnElement[Any]
    key: ColumnElement[Any]
    extra: ColumnElement[Any]
    extra_key: ColumnElement[Any]
    cond: tuple[ColumnElement[bool], ...] = ()
    referrals: bool = False


def parts(split: str, rk: ColumnElement[Any]) -> list[Part]:
    """The statements of a split; the roll-up stores exactly what these group and sum."""
    empty: ColumnElement[Any] = literal("")
    zero: ColumnElement[Any] = literal(0)
    count, keysum = func.count(), func.coalesce(func.sum(rk), 0)

    def part(kind: str, k1: Any = empty, k2: Any = empty, **kw: Any) -> Part:
        return Part(kind=kind, k1=k1, k2=k2, n=kw.pop("n", count), key=kw.pop("key", keysum),
                    extra=kw.pop("extra", zero), extra_key=kw.pop("extra_key", zero), **kw)

    if split == "volume":
        return [part("contacts", CR.c.outcome, func.coalesce(CR.c.non_data, ""))]
    if split == "wait":
        return [part("answered", cast(CR.c.wait_s, String))]
    if split == "gender_topic":
        return [part("data", CR.c.gender, func.coalesce(CR.c.topic, "not_stated"))]
    if split == "first_contact":
        return [part("data", CR.c.first_contact)]
    if split == "age":
        return [part("data", func.coalesce(cast(CR.c.age, String), ""))]
    if split == "residence":
        return [part("data", func.coalesce(CR.c.municipality, ""), func.coalesce(CR.c.district, ""))]
    if split == "violence":
        flags = [getattr(CR.c, f"v_{form}") for form in vocab.VIOLENCE]
        out = [part("data", literal(form), cond=(flag.is_(True),)) for form, flag in zip(vocab.VIOLENCE, flags)]
        return out + [part("data", literal("none_recorded"), cond=tuple(f.is_(False) for f in flags))]
    if split == "volunteers":
        return [part("answered", func.coalesce(CR.c.volunteer, ""), extra=func.sum(CR.c.duration_s))]
    if split == "week":
        return [part("answered")]
    if split == "referrals":
        redeemed = RR.c.redeemed_on.is_not(None)
        return [part("data", RR.c.service_id, extra=func.count(RR.c.redeemed_on),
                     extra_key=func.coalesce(func.sum(case((redeemed, rk), else_=0)), 0), referrals=True)]
    raise KeyError(split)


ROLLUP_SPLITS = ("volume", "wait", "gender_topic", "first_contact", "age", "residence", "violence",
                 "volunteers", "week", "referrals")


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
    f.add("contacts", 0), f.add("total", 0), f.add("counted", 0)
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
    f.add("referrals_total.suggested", 0), f.add("referrals_total.redeemed", 0)
    for service, _k2, n, key, used, used_key in sorted(await r.rows("referrals")):
        f.add(f"referrals.{service}.suggested", n, key)
        f.add(f"referrals.{service}.redeemed", used, used_key)
        f.add("referrals_total.suggested", n, key), f.add("referrals_total.redeemed", used, used_key)
        suggested.append(f"referrals.{service}.suggested")
        redeemed.append(f"referrals.{service}.redeemed")
    f.line("referrals_total.suggested", suggested)
    f.line("referrals_total.redeemed", redeemed)


# Each split is one grouped query; the dashboard asks for one, a report for all.
SPLITS = {
    "volume": volume, "gender_topic": gender_topic, "first_contact": first_contact, "age": ages,
    "residence": residence, "violence": violence, "volunteers": volunteers, "week": weeks,
    "referrals": referrals,
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
