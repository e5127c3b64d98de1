"""The blocks read from the records beside the splits: care, topic routing and languages.

Their columns are not in the daily roll-up nor in the covering report index, so each
costs a range scan of the period with a row lookup per record. They are therefore
read together: one GROUP BY per period over the records of the scope (``scope.where``,
every outcome), by outcome, language, intake topic, specialist and wait (the wait only
for records with an intake topic: only topic routing reads it), summing the count, the
care columns (``care.columns``) and, for a cell key export, the record keys. Each
block's module folds the grouped rows (``care.fold``, ``topics.TopicFigures.fold``,
``languages.fold``) and says what it counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import care, languages, topics
from .parts import record_key_sql
from .scope import ANSWERED, CR, Scope, where


@dataclass
class Beside:
    care: tuple[dict[str, int], dict[str, int]] = field(default_factory=care.empty)          # counts, key sums
    topics: topics.TopicFigures = field(default_factory=topics.TopicFigures)
    languages: tuple[languages.Counts, languages.Counts] = field(default_factory=languages.empty)


async def read(conn: AsyncConnection, scope: Scope, *, keys: bool = False) -> Beside:
    """The care, topic-routing and language figures of ``scope``, exact (key sums with ``keys``)."""
    rk: Any = record_key_sql(conn.dialect.name) if keys else literal(0)
    sums = care.columns(rk)
    wait = case((CR.c.intake_topic.is_not(None), CR.c.wait_s), else_=-1)
    groups = (CR.c.outcome, CR.c.lang, CR.c.intake_topic, CR.c.specialist, wait)
    stmt = (select(*groups, func.count(), func.coalesce(func.sum(rk), 0),
                   *(c for pair in sums.values() for c in pair))
            .where(and_(*where(scope, "all"))).group_by(*groups))
    out = Beside()
    for row in (await conn.execute(stmt)).all():
        outcome, lang, intake_topic, specialist, wait_s, n, k = row[:7]
        rest = row[7:]
        values = {"n": (n, k), **{name: (rest[2 * i], rest[2 * i + 1]) for i, name in enumerate(sums)}}
        care.fold(*out.care, outcome, values)
        out.topics.fold(intake_topic, specialist, outcome in ANSWERED, int(wait_s), int(n), int(k or 0))
        languages.fold(*out.languages, lang, outcome, int(n), int(k or 0))
    return out
