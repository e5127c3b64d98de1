"""The chat's language per period: conversations and contacts in each of the seven languages.

``by_language``: conversations (a volunteer answered: the report's ``total``) per language;
``by_language_contacts``: every record (the report's ``contacts``) per language. Every
language of the table is listed, 0 included, so a language nobody wrote in shows as 0.

One GROUP BY over the records of the report's scope (period, target group, municipality),
read from ``chat_records`` itself: the daily roll-up has no language column, and the
range scan of ``ix_chat_records_report`` it uses is the same one the other splits start with.

Published (``publish=true``): the counts are cells of the report's table
(``disclosure.Table``), tied to ``total`` and ``contacts`` by their lines, and made
safe with the rest by the report's method (``disclosure.publish``): withheld with
the cells that would give them away, or perturbed by their own cell keys.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chat.kernel import languages

from . import disclosure
from .parts import record_key_sql
from .scope import ANSWERED, CR, Scope, where

KEYS = ("by_language", "by_language_contacts")
TOTALS = {"by_language": "total", "by_language_contacts": "contacts"}    # the figure each adds up to
SECTIONS = {"by_language": "Språk, samtal / Language, conversations",
            "by_language_contacts": "Språk, kontakter / Language, contacts"}
Counts = dict[str, dict[str, int]]


async def count(conn: AsyncConnection, scope: Scope, *, keys: bool = False) -> tuple[Counts, Counts]:
    """``{"by_language": {lang: n}, "by_language_contacts": {lang: n}}``, exact, and the
    same shape of record-key sums (zeros unless ``keys``)."""
    rk: Any = func.coalesce(func.sum(record_key_sql(conn.dialect.name)), 0) if keys else literal(0)
    stmt = (select(CR.c.lang, CR.c.outcome, func.count(), rk).where(*where(scope, "contacts"))
            .group_by(CR.c.lang, CR.c.outcome))
    counts: Counts = {key: {code: 0 for code in languages.CODES} for key in KEYS}
    sums: Counts = {key: {code: 0 for code in languages.CODES} for key in KEYS}
    for lang, outcome, n, k in (await conn.execute(stmt)).all():
        for key in KEYS:
            if key == "by_language" and outcome not in ANSWERED:
                continue
            counts[key][lang] = counts[key].get(lang, 0) + int(n)
            sums[key][lang] = sums[key].get(lang, 0) + int(k or 0)
    return counts, sums


def add_to(table: disclosure.Table, counts: Counts, keys: Counts) -> None:
    """The language counts as cells of a report's table, each list tied to the figure it adds up to."""
    for key in KEYS:
        cells = table.add_block(key, counts[key], keys[key])
        table.line(TOTALS[key], cells)
