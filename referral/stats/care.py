"""Care for volunteers in the statistics: escalations, debriefs and heavy chats of a period.

Counted over the answered conversations of the scope (``scope.where(.., "answered")``),
straight from ``chat_records`` (one grouped query; the roll-up does not hold them):

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

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from . import disclosure
from .parts import record_key_sql
from .scope import CR, Scope, where

KEYS = ("chats", "escalations_help", "escalations_acute", "chats_escalated", "debriefs", "heavy")


async def figures(conn: AsyncConnection, scope: Scope, *, keys: bool = False) -> tuple[dict[str, int], dict[str, int]]:
    """The care counts of ``scope`` (zeros when it has no records), and their key sums (zeros
    unless ``keys``)."""
    rk: Any = record_key_sql(conn.dialect.name) if keys else None

    def count(cond: Any) -> list[Any]:
        n = func.coalesce(func.sum(case((cond, 1), else_=0)), 0)
        return [n, func.coalesce(func.sum(case((cond, rk), else_=0)), 0)] if keys else [n]

    def total(column: Any) -> list[Any]:
        n = func.coalesce(func.sum(column), 0)
        return [n, func.coalesce(func.sum(column * rk), 0)] if keys else [n]

    escalated = (CR.c.escalations_help > 0) | (CR.c.escalations_acute > 0)
    columns = [[func.count(), func.coalesce(func.sum(rk), 0)] if keys else [func.count()],
               total(CR.c.escalations_help), total(CR.c.escalations_acute), count(escalated),
               count(CR.c.debrief.is_(True)), count(CR.c.heavy.is_(True))]
    row = (await conn.execute(select(*(c for group in columns for c in group))
                              .where(and_(*where(scope, "answered"))))).one()
    width = 2 if keys else 1
    counts = {key: int(row[width * i] or 0) for i, key in enumerate(KEYS)}
    sums = {key: int(row[width * i + 1] or 0) if keys else 0 for i, key in enumerate(KEYS)}
    return counts, sums


def add_to(table: disclosure.Table, counts: dict[str, int], keys: dict[str, int], prefix: str = "care") -> None:
    """The care block as cells of a report's table, tied to its ``total`` (the same conversations)."""
    table.add_block(prefix, counts, keys)
    table.line("total", [f"{prefix}.chats"])
