"""The chat's language per period: conversations and contacts in each of the seven languages.

``by_language``: conversations (a volunteer answered: the report's ``total``) per language;
``by_language_contacts``: every record (the report's ``contacts``) per language. Every
language of the table is listed, 0 included, so a language nobody wrote in shows as 0.

Read from ``chat_records`` itself (the daily roll-up has no language column), in the one
grouped scan of the records beside the splits (``beside.read``, with care and the intake
topics) over the report's scope (period, target group, municipality), folded here (``fold``).

Published (``publish=true``): the counts are cells of the report's table
(``disclosure.Table``), tied to ``total`` and ``contacts`` by their lines, and made
safe with the rest by the report's method (``disclosure.publish``): withheld with
the cells that would give them away, or perturbed by their own cell keys.
"""

from __future__ import annotations

from chat.kernel import languages

from . import disclosure
from .scope import ANSWERED

KEYS = ("by_language", "by_language_contacts")
TOTALS = {"by_language": "total", "by_language_contacts": "contacts"}    # the figure each adds up to
SECTIONS = {"by_language": "Språk, samtal / Language, conversations",
            "by_language_contacts": "Språk, kontakter / Language, contacts"}
Counts = dict[str, dict[str, int]]


def empty() -> tuple[Counts, Counts]:
    """Zero counts and key sums for every language of the table."""
    return ({key: {code: 0 for code in languages.CODES} for key in KEYS},
            {key: {code: 0 for code in languages.CODES} for key in KEYS})


def fold(counts: Counts, sums: Counts, lang: str, outcome: str, n: int, key: int) -> None:
    """One grouped row of records (``beside.read``): their language and outcome, how many, their key sum."""
    for block in KEYS:
        if block == "by_language" and outcome not in ANSWERED:
            continue
        counts[block][lang] = counts[block].get(lang, 0) + int(n)
        sums[block][lang] = sums[block].get(lang, 0) + int(key or 0)


def add_to(table: disclosure.Table, counts: Counts, keys: Counts) -> None:
    """The language counts as cells of a report's table, each list tied to the figure it adds up to."""
    for key in KEYS:
        cells = table.add_block(key, counts[key], keys[key])
        table.line(TOTALS[key], cells)
