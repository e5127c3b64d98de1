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

Counts only, never a reason (there is none to count). In a published report every count
from 1 to the threshold less one is withheld, as elsewhere (``report.SUPPRESSED``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .scope import CR, Scope, where

KEYS = ("chats", "escalations_help", "escalations_acute", "chats_escalated", "debriefs", "heavy")


async def figures(conn: AsyncConnection, scope: Scope) -> dict[str, int]:
    """The care counts of ``scope`` (zeros when it has no records)."""
    def count(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    escalated = (CR.c.escalations_help > 0) | (CR.c.escalations_acute > 0)
    row = (await conn.execute(select(
        func.count(),
        func.coalesce(func.sum(CR.c.escalations_help), 0),
        func.coalesce(func.sum(CR.c.escalations_acute), 0),
        count(escalated),
        count(CR.c.debrief.is_(True)),
        count(CR.c.heavy.is_(True)),
    ).where(and_(*where(scope, "answered"))))).one()
    return {key: int(value or 0) for key, value in zip(KEYS, row)}


def publishable(counts: dict[str, int], *, publish: bool, threshold: int,
                suppressed: dict[str, bool]) -> dict[str, Any]:
    """``counts`` as the report shows them: exact, or with small counts withheld."""
    if not publish:
        return dict(counts)
    return {k: (suppressed if 0 < v < threshold else v) for k, v in counts.items()}


def withheld(block: dict[str, Any], suppressed: dict[str, bool], threshold: int,
             prefix: str = "care") -> list[dict[str, str]]:
    """The cells of ``block`` withheld, as ``disclosure.suppressed`` lists them."""
    return [{"cell": f"{prefix}.{k}", "reason": f"a count from 1 to {threshold - 1}"}
            for k, v in block.items() if v == suppressed]
