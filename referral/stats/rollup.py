"""A daily roll-up of the records, per scope, kept exact by marking changed days.

``stats_daily`` holds, for each scope (``all``; ``m:<municipality>`` for each
municipality, ``m:-`` for not stated; ``p:<partnership id>`` for each
partnership's target group), each day and each split, exactly what
``parts.parts`` groups and sums over the records: counts, record-key sums (for
the cell key method) and the extras (durations, redeemed referrals). A report
for such a scope sums a few rows per day instead of scanning every record.

Exactness does not depend on who writes: triggers on ``chat_records`` and
``record_referrals`` (migration 0007) append the day of every inserted, updated
or deleted row to ``stats_dirty``. ``sync`` (called before every read, and at
the end of imports and purges) rebuilds the roll-up rows of exactly those days
from the records in one transaction, then removes the marks it saw (marks added
meanwhile stay for the next sync). Saving a partnership rebuilds its scope.
On PostgreSQL an advisory lock keeps two nodes from rebuilding at once.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (BigInteger, Column, Date, Index, Integer, String, Table, and_, delete, func, insert, literal,
                        or_, select, text)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import BindParameter

from chat.kernel.db import Base

from .partnership_tables import read_all
from .partnerships import Partnership
from .parts import ROLLUP_SPLITS, parts, record_key_sql
from .presets import as_date
from .scope import ALL_DAYS, CR, RR, Scope, where

ROLLUP = Table(
    "stats_daily", Base.metadata,
    Column("scope", String(48), primary_key=True),
    Column("split", String(16), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("k1", String(40), primary_key=True),
    Column("k2", String(40), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("keysum", BigInteger, nullable=False),
    Column("extra", BigInteger, nullable=False),
    Column("extra_key", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
# A sync deletes the rows of given days whatever their scope (migration 0008).
Index("ix_stats_daily_day", ROLLUP.c.day)
DIRTY = Table(
    "stats_dirty", Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("day", Date, nullable=False),
)
LOCK_ID = 7_274_2026   # pg_advisory_xact_lock key of the roll-up rebuild
# Beyond this many changed days (a bulk import) one full rebuild beats a day list
# (and stays under SQLite's limit on bound parameters).
MAX_DAYS_BY_LIST = 1000
# Splits with many rows a day (one per volunteer pseudonym on duty) are also kept per
# calendar month (``day`` is then the month's first day), summed from their day rows:
# a half year is then ~6 × 250 rows instead of ~180 × 250. A read takes the whole
# months inside its period from these and only the days at its edges from the day rows.
MONTHLY = {"volunteers": "volunteers:m"}


def _month(day: date) -> date:
    return day.replace(day=1)


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def _whole_months(start: date, end: date) -> tuple[date, date] | None:
    """The first and last calendar month lying wholly inside [start, end], or None."""
    try:
        first = start if start.day == 1 else _next_month(_month(start))
        last = _month(end)
        if _next_month(last) - timedelta(days=1) != end:
            last = _month(last - timedelta(days=1))
    except OverflowError:
        return None
    return (first, last) if first <= last else None


def _scopes(found: list[Partnership]) -> list[tuple[Any, Scope | None, list[Any]]]:
    """(scope-name expression, filter, extra group-by columns) of every roll-up scope."""
    out: list[tuple[Any, Scope | None, list[Any]]] = [(literal("all"), None, [])]
    m = literal("m:") + func.coalesce(CR.c.municipality, "-")
    out.append((m, None, [CR.c.municipality]))
    for p in found:
        out.append((literal(f"p:{p.id}"), Scope(date.min, date.max, channels=p.channels,
                                                municipalities=p.municipalities,
                                                age_min=p.age_min, age_max=p.age_max), []))
    return out


async def _build(conn: AsyncConnection, scopes: list[tuple[Any, Scope | None, list[Any]]],
                 days: Any | None) -> None:
    """INSERT … SELECT every split of ``scopes`` for ``days`` (a list) or for all days."""
    rk = record_key_sql(conn.dialect.name)
    for name, scope, group in scopes:
        for split in ROLLUP_SPLITS:
            for part in parts(split, rk):
                conds: list[Any] = list(part.cond)
                # the scope's filters and the kind's, without the day range (the first two)
                conds += where(scope or ALL_DAYS, part.kind)[2:]
                if days is not None:
                    conds.append(CR.c.day.in_(days))
                cols = [c for c in (part.k1, part.k2) if not _is_literal(c)]
                stmt = (select(name, literal(split), CR.c.day, part.k1, part.k2, part.n, part.key, part.extra,
                               part.extra_key)
                        .select_from(CR.join(RR, RR.c.record_id == CR.c.id) if part.referrals else CR)
                        .where(*conds).group_by(*group, CR.c.day, *cols))
                await conn.execute(insert(ROLLUP).from_select(
                    ["scope", "split", "day", "k1", "k2", "n", "keysum", "extra", "extra_key"], stmt))


async def _build_months(conn: AsyncConnection, months: list[date] | None, scope: str | None = None) -> None:
    """(Re)build the monthly rows of ``months`` (None: every month) from the day rows, for one scope or all.

    The day rows of a month are one range of ``ix_stats_daily_day``; summing them is
    far cheaper than grouping the month's records again (the record keys are hashed
    per record). Callers delete the old month rows first.
    """
    only = [ROLLUP.c.scope == scope] if scope else []
    for split, monthly in MONTHLY.items():
        todo = months
        if todo is None:
            lo, hi = (await conn.execute(select(func.min(ROLLUP.c.day), func.max(ROLLUP.c.day))
                                         .where(ROLLUP.c.split == split, *only))).one()
            todo = []
            if lo is not None:
                month, last = _month(as_date(lo)), as_date(hi)
                while month <= last:
                    todo.append(month)
                    month = _next_month(month)
        for month in sorted(set(todo)):
            stmt = (select(ROLLUP.c.scope, literal(monthly), literal(month, Date), ROLLUP.c.k1, ROLLUP.c.k2,
                           func.sum(ROLLUP.c.n), func.sum(ROLLUP.c.keysum), func.sum(ROLLUP.c.extra),
                           func.sum(ROLLUP.c.extra_key))
                    .where(ROLLUP.c.day >= month, ROLLUP.c.day < _next_month(month), ROLLUP.c.split == split,
                           *only)
                    .group_by(ROLLUP.c.scope, ROLLUP.c.k1, ROLLUP.c.k2))
            await conn.execute(insert(ROLLUP).from_select(
                ["scope", "split", "day", "k1", "k2", "n", "keysum", "extra", "extra_key"], stmt))


def _is_literal(col: Any) -> bool:
    return isinstance(col, BindParameter)


async def _lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"SELECT pg_advisory_xact_lock({LOCK_ID})"))


async def sync(conn: AsyncConnection) -> int:
    """Rebuild the days marked dirty; returns how many marks were cleared. Caller commits."""
    top = (await conn.execute(select(func.max(DIRTY.c.id)))).scalar()
    if top is None:
        return 0
    await _lock(conn)
    # The days as a list of values, not a subquery: the planner then walks the day index
    # for those few days (PostgreSQL's estimate of a just-emptied stats_dirty is unreliable).
    days = list((await conn.execute(select(DIRTY.c.day).where(DIRTY.c.id <= top).distinct())).scalars())
    found = await read_all(conn)
    if len(days) > MAX_DAYS_BY_LIST:
        await conn.execute(delete(ROLLUP))
        await _build(conn, _scopes(found), None)
        await _build_months(conn, None)
    elif days:
        months = sorted({_month(as_date(d)) for d in days})
        # one statement, two ranges of ix_stats_daily_day (the key begins with the scope, and a
        # changed record may have left a scope, say its old municipality's, that we no longer know)
        await conn.execute(delete(ROLLUP).where(or_(
            and_(ROLLUP.c.day.in_(days), ROLLUP.c.split.not_in(MONTHLY.values())),
            and_(ROLLUP.c.day.in_(months), ROLLUP.c.split.in_(MONTHLY.values())))))
        await _build(conn, _scopes(found), days)
        await _build_months(conn, months)
    result = await conn.execute(delete(DIRTY).where(DIRTY.c.id <= top))
    return int(result.rowcount or 0)


async def rebuild(conn: AsyncConnection, partnership_id: str | None = None) -> None:
    """Rebuild one partnership's scope (after it changed), or everything."""
    await _lock(conn)
    found = await read_all(conn)
    if partnership_id is None:
        await conn.execute(delete(ROLLUP))
        await conn.execute(delete(DIRTY))
        await _build(conn, _scopes(found), None)
        await _build_months(conn, None)
        return
    await conn.execute(delete(ROLLUP).where(ROLLUP.c.scope == f"p:{partnership_id}"))
    await _build(conn, [s for s in _scopes(found) if _scope_name(s[0]) == f"p:{partnership_id}"], None)
    await _build_months(conn, None, f"p:{partnership_id}")


def _scope_name(expr: Any) -> str | None:
    return expr.value if _is_literal(expr) else None


async def read(conn: AsyncConnection, scope: Scope, split: str) -> list[Any]:
    """A split's grouped rows for ``scope.rollup`` over the scope's days, in the shape of ``parts.parts``."""
    conds = [ROLLUP.c.scope == scope.rollup, ROLLUP.c.split == split,
             ROLLUP.c.day >= scope.start, ROLLUP.c.day <= scope.end]
    months = _whole_months(scope.start, scope.end) if split in MONTHLY else None
    if months:
        # each branch one tight range of the primary key (scope, split, day, ...)
        first, last = months
        after = _next_month(last)
        branches = [and_(ROLLUP.c.split == MONTHLY[split], ROLLUP.c.day >= first, ROLLUP.c.day <= last)]
        if scope.start < first:
            branches.append(and_(ROLLUP.c.split == split, ROLLUP.c.day >= scope.start, ROLLUP.c.day < first))
        if scope.end >= after:
            branches.append(and_(ROLLUP.c.split == split, ROLLUP.c.day >= after, ROLLUP.c.day <= scope.end))
        conds = [ROLLUP.c.scope == scope.rollup, or_(*branches)]
    sums = [func.sum(ROLLUP.c.n), func.sum(ROLLUP.c.keysum), func.sum(ROLLUP.c.extra), func.sum(ROLLUP.c.extra_key)]
    if split == "week":
        stmt = select(ROLLUP.c.day, literal(""), *sums).where(*conds).group_by(ROLLUP.c.day)
    else:
        stmt = select(ROLLUP.c.k1, ROLLUP.c.k2, *sums).where(*conds).group_by(ROLLUP.c.k1, ROLLUP.c.k2)
    return [(a, b, int(n), int(k or 0), int(x or 0), int(xk or 0))
            for a, b, n, k, x, xk in (await conn.execute(stmt)).all()]


def scope_name(partnership_id: str | None, municipality: str | None) -> str | None:
    """The roll-up scope of a report's filters, or None when the roll-up has none (raw records then)."""
    if partnership_id and municipality:
        return None
    if partnership_id:
        return f"p:{partnership_id}"
    if municipality:
        return f"m:{municipality}"
    return "all"
