"""Which records a report counts: a period and an optional target group, as SQL conditions.

The report's queries (``queries``) and the roll-up's rebuild (``rollup``) both
filter the records by a ``Scope`` through ``where``; the roll-up leaves out the
period (its first two conditions) and keeps the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import ColumnElement, and_, or_

from referral.record import ChatRecord

from ..models import RecordReferral
from . import presets

CR = ChatRecord.__table__
RR = RecordReferral.__table__
# The outcomes of a conversation: a volunteer answered (queue leavers and turn-aways are contacts only).
ANSWERED = ("completed", "visitor_left", "dropped")


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


# Every day there is: the roll-up is built over all of them.
ALL_DAYS = Scope(date.min, date.max)


def where(scope: Scope, kind: str) -> list[ColumnElement[bool]]:
    """The conditions on ``chat_records`` of ``scope`` and of ``kind``; the period comes first (two)."""
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
