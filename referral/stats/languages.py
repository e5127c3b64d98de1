"""The chat's language per period: conversations and contacts in each of the seven languages.

``by_language``: conversations (a volunteer answered: the report's ``total``) per language;
``by_language_contacts``: every record (the report's ``contacts``) per language. Every
language of the table is listed, 0 included, so a language nobody wrote in shows as 0.

One GROUP BY over the records of the report's scope (period, target group, municipality),
read from ``chat_records`` itself: the daily roll-up has no language column, and the
range scan of ``ix_chat_records_report`` it uses is the same one the other splits start with.

Published (``publish=true``): counts of 1 to threshold − 1 are withheld as the other
figures' are, and when one language alone would be withheld in a line whose total is
published (``total``, ``contacts``), the next smallest non-zero one is withheld too, so
it cannot be worked out by subtraction. With the cell key method these counts are
suppressed the same way rather than perturbed (docs/statistics.md says so).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from chat.kernel import languages

from .scope import ANSWERED, CR, Scope, where

SUPPRESSED = {"suppressed": True}       # the same marker as report.SUPPRESSED (report imports this module)
KEYS = ("by_language", "by_language_contacts")
SECTIONS = {"by_language": "Språk, samtal / Language, conversations",
            "by_language_contacts": "Språk, kontakter / Language, contacts"}


async def count(conn: AsyncConnection, scope: Scope) -> dict[str, dict[str, int]]:
    """``{"by_language": {lang: n}, "by_language_contacts": {lang: n}}``, exact."""
    stmt = (select(CR.c.lang, CR.c.outcome, func.count()).where(*where(scope, "contacts"))
            .group_by(CR.c.lang, CR.c.outcome))
    answered = {code: 0 for code in languages.CODES}
    contacts = {code: 0 for code in languages.CODES}
    for lang, outcome, n in (await conn.execute(stmt)).all():
        contacts[lang] = contacts.get(lang, 0) + int(n)
        if outcome in ANSWERED:
            answered[lang] = answered.get(lang, 0) + int(n)
    return {"by_language": answered, "by_language_contacts": contacts}


def published(counts: dict[str, dict[str, int]], threshold: int, reason: str,
              prefix: str = "") -> tuple[dict[str, dict[str, Any]], list[dict[str, str]]]:
    """The counts fit to publish, and the withheld cells as ``{cell, reason}`` (as in ``disclosure.suppressed``).

    Every withheld cell gets the same ``reason``: which ones are the small ones is not told."""
    out: dict[str, dict[str, Any]] = {}
    withheld: list[dict[str, str]] = []
    for key, cells in counts.items():
        hidden = {k for k, n in cells.items() if 0 < n < threshold}
        if len(hidden) == 1:
            rest = sorted((n, k) for k, n in cells.items() if n > 0 and k not in hidden)
            if rest:
                hidden.add(rest[0][1])
        out[key] = {k: (SUPPRESSED if k in hidden else n) for k, n in cells.items()}
        withheld += [{"cell": f"{prefix}{key}.{k}", "reason": reason} for k in cells if k in hidden]
    return out, withheld


def add_to(out: dict[str, Any], now: dict[str, dict[str, int]], before: dict[str, dict[str, int]] | None,
           *, publish: bool, threshold: int, reason: str) -> None:
    """Put the language counts into a built report (``report.build``), published or exact."""
    for block, counts, prefix in ((out, now, ""), (out.get("year_earlier"), before, "year_earlier.")):
        if block is None or counts is None:
            continue
        if not publish:
            block.update(counts)
            continue
        safe, withheld = published(counts, threshold, reason, prefix)
        block.update(safe)
        if "suppressed" in out.get("disclosure", {}):
            out["disclosure"]["suppressed"] += withheld
