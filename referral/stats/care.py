"""Care for volunteers in the statistics: escalations, debriefs and heavy chats of a period.

Counted over the answered conversations of the scope, straight from ``chat_records``
(the roll-up does not hold them), in the one grouped scan of the records beside the
splits (``beside.read``, with the intake topics and the languages), folded here:

    chats               answered conversations
    escalations_help    calls for help (a chat may have several)
    escalations_acute   acute-danger flags
    chats_escalated     conversations with at least one escalation
    debriefs            conversations after which the volunteer asked for a debrief
    heavy               heavy conversations (an acute flag, the topic uses_violence, or
                        marked heavy in the wrap-up)

Counts only, never a reason (there is none to count). The block joins the report's
table of cells (``disclosure.Table``) like every other one, so a published report
withholds or perturbs its counts by the report's method (``disclosure.publish``);
``chats`` are the same conversations as the report's ``total`` (a line between them).
With ``keys`` each count also gets its records' key sum (for the cell key method; a
record counts its key once per escalation, as it counts in the cell).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func

from . import disclosure
from .scope import ANSWERED, CR

KEYS = ("chats", "escalations_help", "escalations_acute", "chats_escalated", "debriefs", "heavy")


# What each care count sums over a group of answered records (``beside.read`` reads them).
SUMS = {"chats": "n", "escalations_help": "help", "escalations_acute": "acute", "chats_escalated": "escalated",
        "debriefs": "debrief", "heavy": "heavy"}


def columns(rk: Any) -> dict[str, tuple[Any, Any]]:
    """The sums ``SUMS`` names, each with its record-key sum (``rk`` is the record key, or 0):
    an escalation count sums a record's key once per escalation, as it counts it."""
    def flag(cond: Any) -> tuple[Any, Any]:
        return (func.coalesce(func.sum(case((cond, 1), else_=0)), 0),
                func.coalesce(func.sum(case((cond, rk), else_=0)), 0))

    def total(column: Any) -> tuple[Any, Any]:
        return func.coalesce(func.sum(column), 0), func.coalesce(func.sum(column * rk), 0)

    return {"help": total(CR.c.escalations_help), "acute": total(CR.c.escalations_acute),
            "escalated": flag((CR.c.escalations_help > 0) | (CR.c.escalations_acute > 0)),
            "debrief": flag(CR.c.debrief.is_(True)), "heavy": flag(CR.c.heavy.is_(True))}


def empty() -> tuple[dict[str, int], dict[str, int]]:
    return {key: 0 for key in KEYS}, {key: 0 for key in KEYS}


def fold(counts: dict[str, int], sums: dict[str, int], outcome: str, values: dict[str, tuple[int, int]]) -> None:
    """One grouped row of records: ``values`` maps each name of ``SUMS`` to (sum, key sum);
    only answered conversations count."""
    if outcome not in ANSWERED:
        return
    for key, name in SUMS.items():
        n, k = values[name]
        counts[key] += int(n or 0)
        sums[key] += int(k or 0)


def add_to(table: disclosure.Table, counts: dict[str, int], keys: dict[str, int], prefix: str = "care") -> None:
    """The care block as cells of a report's table, tied to its ``total`` (the same conversations)."""
    table.add_block(prefix, counts, keys)
    table.line("total", [f"{prefix}.chats"])
